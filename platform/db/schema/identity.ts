import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

/** A feeding system (EHR, lab, payer, device hub). */
export const sources = pgTable('sources', {
  id: uuid('id').primaryKey().defaultRandom(),
  code: text('code').notNull().unique(),
  name: text('name').notNull(),
  kind: text('kind').notNull().default('OTHER'),
  /** Higher wins in source-priority survivorship. */
  trustRank: integer('trust_rank').notNull().default(50),
  owner: text('owner'),
  steward: text('steward'),
  contact: text('contact'),
  description: text('description'),
  /** FHIR identifier.system / HL7 assigning authority that maps to this source. */
  system: text('system').unique(),
  active: boolean('active').notNull().default(true),
  ...timestamps,
});

export const identityStatus = pgEnum('identity_status', ['ACTIVE', 'MERGED']);

/** The golden identity (enterprise patient ID). */
export const identities = pgTable(
  'identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    status: identityStatus('status').notNull().default('ACTIVE'),
    mergedInto: uuid('merged_into'),
    golden: jsonb('golden').$type<Record<string, string | null>>().notNull().default({}),
    version: integer('version').notNull().default(1),
    ...timestamps,
  },
  (t) => [index('identities_merged_into_idx').on(t.mergedInto)],
);

/** Each batch or stream session that fed records in (OpenLineage-style run). */
export const ingestRuns = pgTable(
  'ingest_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sourceId: uuid('source_id').references(() => sources.id),
    job: text('job').notNull(),
    status: text('status').notNull().default('RUNNING'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    counts: jsonb('counts').$type<Record<string, number>>().notNull().default({}),
    errors: jsonb('errors').$type<Array<{ line?: number; field?: string; code: string; message: string }>>().notNull().default([]),
    facets: jsonb('facets').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('ingest_runs_started_idx').on(t.startedAt)],
);

/**
 * The columns of the canonical record fields (matching/fields.ts defines the fields; test/canonical-fields.test.ts
 * holds the two together). Every one is patient data: the logger redacts these keys.
 */
export const recordFieldColumns = {
  givenName: text('given_name'),
  middleName: text('middle_name'),
  familyName: text('family_name'),
  suffix: text('suffix'),
  sex: text('sex'),
  birthDate: text('birth_date'),
  ssn: text('ssn'),
  phone: text('phone'),
  email: text('email'),
  addressLine1: text('address_line1'),
  addressLine2: text('address_line2'),
  city: text('city'),
  state: text('state'),
  postalCode: text('postal_code'),
};

/** One patient as one source knows it. */
export const sourceRecords = pgTable(
  'source_records',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sourceId: uuid('source_id')
      .notNull()
      .references(() => sources.id),
    localId: text('local_id').notNull(),
    ...recordFieldColumns,
    /** The record as received. */
    raw: jsonb('raw').$type<Record<string, unknown>>().notNull(),
    /** The matcher's normalised form, reloaded for scoring without recomputation. */
    normalised: jsonb('normalised').$type<Record<string, unknown>>().notNull(),
    normaliserVersion: text('normaliser_version').notNull(),
    contentHash: text('content_hash').notNull(),
    version: integer('version').notNull().default(1),
    ingestRunId: uuid('ingest_run_id').references(() => ingestRuns.id),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('source_records_source_local_uq').on(t.sourceId, t.localId),
    index('source_records_family_idx').on(t.familyName),
    index('source_records_birth_idx').on(t.birthDate),
    // FHIR PDQm `family` is a case-insensitive prefix search: lower(family_name) LIKE 'ab%'.
    index('source_records_family_lower_idx').using('btree', sql`lower(${t.familyName}) text_pattern_ops`),
    // What was stored since a moment: a bulk load finds the records online ingest stored while it planned.
    index('source_records_updated_idx').on(t.updatedAt),
  ],
);

/**
 * Indexed blocking keys: online candidate search is an index probe per key, never a scan. Keys hold PHI (a
 * birth date with a name, an SSN), so only a 64-bit hash of each is stored (`hashtextextended(key, 0)`); a
 * collision only brings an extra candidate, which scoring rejects. This is a derived index of
 * `source_records`, written only by the ingest engine in its record's transaction (records are soft-deleted,
 * never removed), so it carries no foreign key or uniqueness check: both were per-row costs on ~7,000 keys
 * per batch of 500 records, and candidate reads join `source_records` anyway.
 */
export const recordBlockKeys = pgTable(
  'record_block_keys',
  {
    keyHash: bigint('key_hash', { mode: 'bigint' }).notNull(),
    recordId: uuid('record_id').notNull(),
  },
  (t) => [index('record_block_keys_key_idx').on(t.keyHash, t.recordId), index('record_block_keys_record_idx').on(t.recordId)],
);

export const matchResult = pgEnum('match_result', ['MATCH', 'POSSIBLE_MATCH', 'NO_MATCH']);
export const linkSource = pgEnum('link_source', ['AUTO', 'MANUAL']);

/** The current link of a record to its identity (one per record). */
export const links = pgTable(
  'links',
  {
    recordId: uuid('record_id')
      .primaryKey()
      .references(() => sourceRecords.id),
    identityId: uuid('identity_id')
      .notNull()
      .references(() => identities.id),
    matchResult: matchResult('match_result').notNull(),
    linkSource: linkSource('link_source').notNull(),
    weight: doublePrecision('weight'),
    probability: doublePrecision('probability'),
    modelVersion: text('model_version'),
    ...timestamps,
  },
  (t) => [index('links_identity_idx').on(t.identityId)],
);

export const reviewKind = pgEnum('review_kind', ['RECORD_MATCH', 'POSSIBLE_DUPLICATE']);
export const reviewStatus = pgEnum('review_status', ['OPEN', 'RESOLVED']);

/** The stewards' queue of uncertain matches and possible duplicate identities. */
export const reviewItems = pgTable(
  'review_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: reviewKind('kind').notNull(),
    status: reviewStatus('status').notNull().default('OPEN'),
    recordId: uuid('record_id').references(() => sourceRecords.id),
    identityA: uuid('identity_a')
      .notNull()
      .references(() => identities.id),
    identityB: uuid('identity_b').references(() => identities.id),
    probability: doublePrecision('probability').notNull(),
    weight: doublePrecision('weight').notNull(),
    priority: doublePrecision('priority').notNull(),
    explanation: jsonb('explanation').$type<unknown>().notNull(),
    modelVersion: text('model_version'),
    decision: text('decision'),
    reason: text('reason'),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('review_items_open_idx').on(t.status, t.priority),
    index('review_items_record_idx').on(t.recordId),
    // Every ingest looks up the open reviews of its candidates' identities: without this, of every open review.
    index('review_items_open_identity_idx')
      .on(t.identityA)
      .where(sql`${t.status} = 'OPEN'`),
  ],
);

/** Identity pairs a steward declared to be different people; stored with identity_a < identity_b. */
export const notDuplicates = pgTable(
  'not_duplicates',
  {
    identityA: uuid('identity_a')
      .notNull()
      .references(() => identities.id),
    identityB: uuid('identity_b')
      .notNull()
      .references(() => identities.id),
    reason: text('reason'),
    actor: text('actor').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.identityA, t.identityB] }), index('not_duplicates_b_idx').on(t.identityB)],
);

export const identityEventType = pgEnum('identity_event_type', [
  'CREATED',
  'LINKED',
  'UNLINKED',
  'MERGED',
  'SPLIT',
  'NOT_DUPLICATE',
  'GOLDEN_CHANGED',
  'REVIEW_DECIDED',
  'RECORD_UPDATED',
  'RECORD_DELETED',
]);

/** Append-only history of everything that happened to an identity. */
export const identityEvents = pgTable(
  'identity_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    identityId: uuid('identity_id').notNull(),
    type: identityEventType('type').notNull(),
    recordId: uuid('record_id'),
    otherIdentityId: uuid('other_identity_id'),
    actor: text('actor').notNull(),
    reason: text('reason'),
    modelVersion: text('model_version'),
    evidence: jsonb('evidence').$type<unknown>(),
    before: jsonb('before').$type<unknown>(),
    after: jsonb('after').$type<unknown>(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('identity_events_identity_idx').on(t.identityId, t.at), index('identity_events_at_idx').on(t.at)],
);

/** Trained match models; exactly one is active. */
export const matchModels = pgTable(
  'match_models',
  {
    version: text('version').primaryKey(),
    spec: jsonb('spec').$type<unknown>().notNull(),
    summary: jsonb('summary').$type<unknown>(),
    active: boolean('active').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('match_models_one_active_uq')
      .on(t.active)
      .where(sql`${t.active}`),
  ],
);

export const modelEventType = pgEnum('model_event_type', ['TRAINED', 'EVALUATED', 'ACTIVATED', 'REJECTED']);

/**
 * What happened to match models, append-only: a candidate trained (by whom, on how many records, on what
 * trigger), its evaluation against the active model with the numbers, and its activation or rejection with why.
 */
export const matchModelEvents = pgTable(
  'match_model_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    version: text('version').notNull(),
    type: modelEventType('type').notNull(),
    actor: text('actor').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('match_model_events_version_idx').on(t.version), index('match_model_events_type_idx').on(t.type, t.id)],
);

/** Messages (HL7v2, FHIR) that could not be processed, kept for review instead of dropped. */
export const deadLetters = pgTable('dead_letters', {
  id: uuid('id').primaryKey().defaultRandom(),
  channel: text('channel').notNull(),
  payload: text('payload').notNull(),
  reason: text('reason').notNull(),
  status: text('status').notNull().default('OPEN'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /**
   * When a replay claimed it (REPLAYING): the claim's lease starts here, and the value is the claim's token (to
   * the millisecond, so it reads back equal), so a replay whose claim expired and was taken over cannot settle it.
   */
  claimedAt: timestamp('claimed_at', { withTimezone: true, mode: 'date', precision: 3 }),
});

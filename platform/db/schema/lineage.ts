import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** Versioned survivorship policy: per golden field, the rule that picks its value. */
export const survivorshipPolicies = pgTable(
  'survivorship_policies',
  {
    version: integer('version').primaryKey(),
    rules: jsonb('rules').$type<Record<string, unknown>>().notNull(),
    active: boolean('active').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('survivorship_policies_one_active_uq')
      .on(t.active)
      .where(sql`${t.active}`),
  ],
);

/** Temporal provenance of each golden value: a change closes the open row and opens a new one. */
export const fieldProvenance = pgTable(
  'field_provenance',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    identityId: uuid('identity_id').notNull(),
    field: text('field').notNull(),
    value: text('value'),
    recordId: uuid('record_id'),
    sourceId: uuid('source_id'),
    rule: text('rule').notNull(),
    policyVersion: integer('policy_version').notNull(),
    /** The values this one beat: [{ value, recordId, sourceId }]. */
    competitors: jsonb('competitors').$type<unknown[]>().notNull().default([]),
    ingestRunId: uuid('ingest_run_id'),
    validFrom: timestamp('valid_from', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    validTo: timestamp('valid_to', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('field_provenance_identity_idx').on(t.identityId, t.field, t.validFrom),
    index('field_provenance_record_idx').on(t.recordId),
    // At most one open row per identity and field: a concurrent rebuild fails (and retries) instead of forking history.
    uniqueIndex('field_provenance_open_uq')
      .on(t.identityId, t.field)
      .where(sql`${t.validTo} is null`),
  ],
);

import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { PgInsertValue } from 'drizzle-orm/pg-core';
import { anyOf, copyRows, insertRows, type InsertRow } from '../platform/db/bulk.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import {
  fieldProvenance,
  identities,
  identityEvents,
  links,
  sourceRecords,
  sources,
  survivorshipPolicies,
} from '../platform/db/schema/index.ts';
import {
  buildGolden,
  decisionStands,
  DEFAULT_POLICY,
  GOLDEN_FIELDS,
  type Contributor,
  type FieldDecision,
  type GoldenRecord,
  type PolicyRules,
  type SurvivorshipPolicy,
} from './survivorship.ts';

export type FieldProvenanceRow = typeof fieldProvenance.$inferSelect;
export type SurvivorshipPolicyRow = typeof survivorshipPolicies.$inferSelect;

/** The active policy's row, or null while the built-in default is in force. */
export async function activePolicyRow(db: Executor): Promise<SurvivorshipPolicyRow | null> {
  const [row] = await db.select().from(survivorshipPolicies).where(eq(survivorshipPolicies.active, true)).limit(1);
  return row ?? null;
}

/** The active survivorship policy, or the built-in default (version 1) when none was ever set. */
export async function loadActivePolicy(db: Executor): Promise<SurvivorshipPolicy> {
  const row = await activePolicyRow(db);
  return row ? { version: row.version, rules: row.rules as PolicyRules } : DEFAULT_POLICY;
}

/** The columns of a source record survivorship reads: the stored payloads (raw, normalised) stay in the database. */
type ContributorColumns = 'id' | 'sourceId' | 'updatedAt' | (typeof GOLDEN_FIELDS)[number];
const CONTRIBUTOR_COLUMNS = Object.fromEntries(
  ['id', 'sourceId', 'updatedAt', ...GOLDEN_FIELDS].map((k) => [k, sourceRecords[k as ContributorColumns]]),
) as { [K in ContributorColumns]: (typeof sourceRecords)[K] };

function toContributor(record: Pick<typeof sourceRecords.$inferSelect, ContributorColumns>, trustRank: number): Contributor {
  return {
    recordId: record.id,
    sourceId: record.sourceId,
    trustRank,
    updatedAt: record.updatedAt,
    values: Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, record[f]])),
  };
}

/** The active (not deleted) source records linked to an identity, with their source's trust. */
export async function loadContributors(db: Executor, identityId: string): Promise<Contributor[]> {
  const rows = await db
    .select({ record: sourceRecords, trustRank: sources.trustRank })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .where(and(eq(links.identityId, identityId), isNull(sourceRecords.deletedAt)));
  return rows.map(({ record, trustRank }) => toContributor(record, trustRank));
}

/** The contributors of many identities, by identity, read in one statement. */
export async function loadContributorsMany(tx: Executor, identityIds: string[]): Promise<Map<string, Contributor[]>> {
  const rows = await tx
    .select({ identityId: links.identityId, record: CONTRIBUTOR_COLUMNS, trustRank: sources.trustRank })
    .from(links)
    .innerJoin(sourceRecords, sql`${sourceRecords.id} = ${links.recordId}`)
    .innerJoin(sources, sql`${sources.id} = ${sourceRecords.sourceId}`)
    .where(and(anyOf(links.identityId, identityIds, 'uuid'), isNull(sourceRecords.deletedAt)));
  const byIdentity = new Map<string, Contributor[]>();
  for (const { identityId, record, trustRank } of rows) {
    const contributor = toContributor(record, trustRank);
    const list = byIdentity.get(identityId);
    if (list) list.push(contributor);
    else byIdentity.set(identityId, [contributor]);
  }
  return byIdentity;
}

/**
 * The time provenance rows are stamped with: the database clock, read once the identities are locked (so each
 * rebuild of an identity is stamped later than the one before), rounded up to the millisecond. Whole
 * milliseconds round-trip exactly through JavaScript dates and the API, so `identityAsOf(at: validFrom)` shows
 * the row; rounding up keeps the stamp at or after the transaction's identity events, which carry its start.
 */
export const PROVENANCE_CLOCK = sql`(date_trunc('milliseconds', clock_timestamp()) + interval '1 millisecond')`;

/** The provenance clock, read now (a stamp for rows written later in the transaction). */
export async function provenanceClock(tx: Executor): Promise<SQL> {
  const [{ now }] = (await queryRows<{ now: string }>(tx, sql`select ${PROVENANCE_CLOCK}::text as now`)) as [{ now: string }];
  return sql`${now}::timestamptz`;
}

/**
 * Locks many identities in id order (the aggregate makes the lock cover every row, not only the first one read)
 * and reads the provenance clock once the locks are held; returns the stamp as PostgreSQL prints it (`now`), as
 * a timestamp to write (`at`), and each identity's version as locked (a rebuild that writes it makes it one more).
 */
export async function lockIdentitiesAndStamp(
  tx: Executor,
  sortedIds: string[],
): Promise<{ now: string; at: SQL; versions: Map<string, number> }> {
  const [clock] = await queryRows<{ now: string; versions: Record<string, number> | null }>(
    tx,
    sql`
      select ${PROVENANCE_CLOCK}::text as now, locked.versions from (
        select json_object_agg(l.id, l.version) as versions from (
          select ${identities.id}, ${identities.version} from ${identities} where ${anyOf(identities.id, sortedIds, 'uuid')}
          order by ${identities.id} for update) as l
      ) as locked`,
  );
  const { now } = clock!;
  return { now, at: sql`${now}::timestamptz`, versions: new Map(Object.entries(clock!.versions ?? {})) };
}

/** The open provenance rows of many identities. */
export function openProvenanceOf(tx: Executor, identityIds: string[]): Promise<FieldProvenanceRow[]> {
  return tx
    .select()
    .from(fieldProvenance)
    .where(and(anyOf(fieldProvenance.identityId, identityIds, 'uuid'), isNull(fieldProvenance.validTo)));
}

/**
 * Closes open provenance rows by id at `at` (rows closed meanwhile stay as they are): one primary-key probe per
 * id, whatever the planner's statistics say. Written as `id = any(…) and valid_to is null` (or as a join to the
 * ids), it was planned on a growing index's statistics as a read of every open row through the partial index of
 * open rows, which it estimated at 1,479 rows: 10 ms a batch at first, 54-69 ms at 20,000 records. The rows are
 * found by id (`limit 1` keeps each lookup a probe) and updated by their tuple ids in the same statement.
 */
export async function closeProvenanceRows(tx: Executor, ids: number[], at: SQL): Promise<void> {
  if (ids.length > 0) await tx.execute(closeProvenanceRowsQuery(ids, at));
}

/** The statement of `closeProvenanceRows`. */
export function closeProvenanceRowsQuery(ids: number[], at: SQL): SQL {
  return sql`update field_provenance f set valid_to = ${at}
    where f.ctid = any(array(
      select p.ctid from unnest(${sql.param(ids.map(String))}::bigint[]) as u(id)
      cross join lateral (select ctid from field_provenance p where p.id = u.id and p.valid_to is null limit 1) as p
    )) and f.valid_to is null`;
}

/**
 * Provenance rows opened at once from which `openProvenanceRows` copies rather than inserts: a bulk load's
 * chunk reopens the fields of thousands of identities, and the server parses such a JSON document several
 * times slower than COPY text; below it the insert saves COPY's extra round trip.
 */
export const PROVENANCE_COPY_ROWS = 5_000;

/**
 * Opens provenance rows: one statement and one JSON parameter, however many (a batch opens thousands), or one
 * COPY from PROVENANCE_COPY_ROWS rows on. No other statement may run on the connection during a COPY: callers
 * that pipeline statements wait for them before opening that many.
 */
export async function openProvenanceRows(tx: Executor, rows: ReadonlyArray<InsertRow<typeof fieldProvenance>>): Promise<void> {
  if (rows.length >= PROVENANCE_COPY_ROWS) await copyRows(tx, fieldProvenance, rows);
  else await tx.execute(insertRows(fieldProvenance, rows));
}

/** Writes new golden records (bumping each identity's version, stamped `at`); returns the new versions. */
export function writeGoldens(
  tx: Executor,
  goldens: Array<{ id: string; golden: GoldenRecord }>,
  at: SQL,
): Promise<Array<{ id: string; version: number }>> {
  return queryRows<{ id: string; version: number }>(
    tx,
    sql`
      update ${identities} set ${sql.identifier(identities.golden.name)} = g.golden,
        ${sql.identifier(identities.version.name)} = ${identities.version} + 1, ${sql.identifier(identities.updatedAt.name)} = ${at}
      from json_to_recordset(${JSON.stringify(goldens)}::json) as g(id uuid, golden jsonb)
      where ${identities.id} = g.id
      returning ${identities.id} as id, ${identities.version} as version`,
  );
}

/** Locks the identity row for the rest of the transaction and reads the provenance clock once the lock is held. */
async function lockAndStamp(tx: Executor, identityId: string): Promise<SQL> {
  const [row] = await queryRows<{ now: string }>(
    tx,
    sql`
    select ${PROVENANCE_CLOCK}::text as now from ${identities} where ${identities.id} = ${identityId} for update`,
  );
  return row ? sql`${row.now}::timestamptz` : PROVENANCE_CLOCK;
}

export interface GoldenChange {
  golden: GoldenRecord;
  /** Fields whose value changed. */
  changedFields: string[];
  /** Fields whose provenance row was closed and reopened (value, winner, rule or competitors changed). */
  reprovenanced: string[];
}

/** The provenance row that opens for a field decision, stamped `validFrom`; shared by the one- and many-identity rebuilds. */
export function provenanceRow<T>(
  identityId: string,
  d: FieldDecision,
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null },
  validFrom: T,
) {
  return {
    identityId,
    field: d.field,
    value: d.value,
    recordId: d.recordId,
    sourceId: d.sourceId,
    rule: d.rule,
    competitors: d.competitors,
    policyVersion: options.policy.version,
    ingestRunId: options.ingestRunId ?? null,
    validFrom,
  };
}

/**
 * Recomputes an identity's golden record from its linked records and the policy. Provenance is temporal:
 * a field whose decision changed gets its open row closed and a new one opened; nothing is overwritten.
 * The service runs the set-based `rebuildGoldenMany`; this one-identity version is the reference the
 * lineage tests hold it (and the SQL recompute) to.
 */
export async function rebuildGolden(
  tx: Executor,
  identityId: string,
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null; at?: Date },
): Promise<GoldenChange> {
  const stamp = await lockAndStamp(tx, identityId);
  const at: Date | SQL = options.at ?? stamp;
  const contributors = await loadContributors(tx, identityId);
  const { golden, decisions } = buildGolden(contributors, options.policy);
  const openRows = await tx
    .select()
    .from(fieldProvenance)
    .where(and(eq(fieldProvenance.identityId, identityId), isNull(fieldProvenance.validTo)));
  const openByField = new Map(openRows.map((r) => [r.field, r]));
  const toClose: number[] = [];
  const toOpen: Array<PgInsertValue<typeof fieldProvenance>> = [];
  const changedFields: string[] = [];
  const reprovenanced: string[] = [];
  for (const d of decisions) {
    const open = openByField.get(d.field);
    if (open ? decisionStands(open, d) : d.value === null) continue;
    if ((open?.value ?? null) !== d.value) changedFields.push(d.field);
    reprovenanced.push(d.field);
    if (open) toClose.push(open.id);
    toOpen.push(provenanceRow(identityId, d, options, at));
  }
  if (toClose.length > 0) {
    await tx
      .update(fieldProvenance)
      .set({ validTo: at })
      .where(and(inArray(fieldProvenance.id, toClose), isNull(fieldProvenance.validTo)));
  }
  if (toOpen.length > 0) await tx.insert(fieldProvenance).values(toOpen);
  if (changedFields.length > 0) {
    await tx
      .update(identities)
      .set({ golden, updatedAt: at, version: sql`${identities.version} + 1` })
      .where(eq(identities.id, identityId));
  }
  return { golden, changedFields, reprovenanced };
}

/** The provenance history of one golden field (or of all fields), newest first. */
export async function fieldHistory(db: Executor, identityId: string, field?: string, options: { currentOnly?: boolean } = {}) {
  const conditions = [eq(fieldProvenance.identityId, identityId)];
  if (field) conditions.push(eq(fieldProvenance.field, field));
  if (options.currentOnly) conditions.push(isNull(fieldProvenance.validTo));
  return db
    .select()
    .from(fieldProvenance)
    .where(and(...conditions))
    .orderBy(desc(fieldProvenance.validFrom), desc(fieldProvenance.id));
}

/** The provenance rows of an identity that were in force at `at`, in golden-field order. */
export async function provenanceAt(db: Executor, identityId: string, at: Date): Promise<FieldProvenanceRow[]> {
  const rows = await db
    .select()
    .from(fieldProvenance)
    .where(
      and(
        eq(fieldProvenance.identityId, identityId),
        lte(fieldProvenance.validFrom, at),
        or(isNull(fieldProvenance.validTo), gt(fieldProvenance.validTo, at)),
      ),
    );
  const order = new Map<string, number>(GOLDEN_FIELDS.map((f, i) => [f, i]));
  return rows.sort((a, b) => (order.get(a.field) ?? 99) - (order.get(b.field) ?? 99));
}

/** The golden values a source record currently supplies: open provenance rows it won. */
export async function contributionsOf(db: Executor, recordId: string): Promise<FieldProvenanceRow[]> {
  const rows = await db
    .select()
    .from(fieldProvenance)
    .where(and(eq(fieldProvenance.recordId, recordId), isNull(fieldProvenance.validTo), isNotNull(fieldProvenance.value)))
    .orderBy(asc(fieldProvenance.identityId));
  const order = new Map<string, number>(GOLDEN_FIELDS.map((f, i) => [f, i]));
  return rows.sort((a, b) => a.identityId.localeCompare(b.identityId) || (order.get(a.field) ?? 99) - (order.get(b.field) ?? 99));
}

/** Source rows by id (for naming the source of provenance rows). */
export async function sourcesByIds(db: Executor, ids: string[]) {
  const unique = [...new Set(ids)];
  return unique.length === 0 ? [] : db.select().from(sources).where(inArray(sources.id, unique));
}

export async function provenanceById(db: Executor, id: number): Promise<FieldProvenanceRow | null> {
  const [row] = await db.select().from(fieldProvenance).where(eq(fieldProvenance.id, id)).limit(1);
  return row ?? null;
}

export type IdentityRow = typeof identities.$inferSelect;

export async function identityById(db: Executor, id: string): Promise<IdentityRow | null> {
  const [row] = await db.select().from(identities).where(eq(identities.id, id)).limit(1);
  return row ?? null;
}

/** The identities of a merge family: the survivor, those merged into it, and `alsoId`, with their status. */
export function mergeFamily(db: Executor, survivorId: string, alsoId: string): Promise<Array<Pick<IdentityRow, 'id' | 'status'>>> {
  return db
    .select({ id: identities.id, status: identities.status })
    .from(identities)
    .where(or(eq(identities.id, survivorId), eq(identities.mergedInto, survivorId), eq(identities.id, alsoId)));
}

/** The identity events of the given identities in the order they happened: what membership replays from. */
export function identityEventsOf(db: Executor, identityIds: string[]) {
  return db
    .select({
      id: identityEvents.id,
      identityId: identityEvents.identityId,
      type: identityEvents.type,
      recordId: identityEvents.recordId,
      otherIdentityId: identityEvents.otherIdentityId,
      after: identityEvents.after,
      at: identityEvents.at,
    })
    .from(identityEvents)
    .where(inArray(identityEvents.identityId, identityIds))
    .orderBy(asc(identityEvents.at), asc(identityEvents.id));
}

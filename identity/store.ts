import { and, asc, count, desc, eq, getTableColumns, gt, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { insertRows } from '../platform/db/bulk.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { timeKeyset, type KeysetPage, type TimeKey } from '../platform/db/keyset.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import {
  identities,
  identityEvents,
  identityEventType,
  identityStatus,
  linkSource,
  links,
  matchResult,
  notDuplicates,
  reviewItems,
  reviewKind,
  reviewStatus,
  sourceRecords,
  sources,
} from '../platform/db/schema/index.ts';
import { escapeLike } from '../platform/db/like.ts';

export type SourceRow = typeof sources.$inferSelect;
export type SourceRecordRow = typeof sourceRecords.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;
export type LinkRow = typeof links.$inferSelect;
export type ReviewItemRow = typeof reviewItems.$inferSelect;
export type IdentityEventRow = typeof identityEvents.$inferSelect;

/** The identity domain's fixed sets, as the database enums define them (the API's enums are built from these). */
export const IDENTITY_STATUSES = identityStatus.enumValues;
export const IDENTITY_EVENT_TYPES = identityEventType.enumValues;
export const LINK_SOURCES = linkSource.enumValues;
export const MATCH_RESULTS = matchResult.enumValues;
export const REVIEW_KINDS = reviewKind.enumValues;
export const REVIEW_STATUSES = reviewStatus.enumValues;
export type NewIdentityEvent = typeof identityEvents.$inferInsert;

/** Most records one blocking key may pull in as candidates: a key shared more widely than this is not selective. */
export const MAX_CANDIDATES_PER_KEY = 200;

/** The lock key of one source record: ingest and delete of the same record serialise on it. */
export function recordLockKey(sourceCode: string, localId: string): string {
  return `record:${sourceCode}|${localId}`;
}

/** What an ingest of `records` locks (`lockKeys`): each record's own key and its blocking keys. */
export function recordLockKeys(records: ReadonlyArray<{ source: string; localId: string; keys: readonly string[] }>): string[] {
  return records.flatMap((p) => [recordLockKey(p.source, p.localId), ...p.keys]);
}

/** The advisory lock every ingest takes: shared by small ones, exclusive for a batch with too many keys. */
const INGEST_LOCK = 0x6d7069_69; // "mpii"
/**
 * Most key locks one transaction takes. PostgreSQL's lock table holds max_locks_per_transaction (64 by default)
 * times max_connections locks for all sessions together: a batch of 1,000 records has about 12,500 keys, which
 * fails with "out of shared memory". 256 locks on each of a pool's 10 connections stay well inside it.
 */
export const MAX_KEY_LOCKS = 256;

/**
 * Serialises transactions that could create or change the same patient. A small ingest (one record, or a batch
 * of up to about 18) takes the ingest lock shared and then a transaction-scoped advisory lock on its record key
 * and on each of its blocking keys (in hash order, so no two transactions wait on each other in a cycle): two
 * ingests of one patient share a key, so the second sees the first, and ingests of different patients run side
 * by side. A larger batch (more than `max` keys) takes the ingest lock exclusively instead, so it runs with no
 * other ingest beside it.
 */
export async function lockKeys(tx: Executor, keys: string[], max = MAX_KEY_LOCKS): Promise<void> {
  const unique = [...new Set(keys)];
  if (unique.length === 0) return;
  if (unique.length > max) {
    await tx.execute(sql`select pg_advisory_xact_lock(${INGEST_LOCK}::bigint)`);
    return;
  }
  // One statement and one row back, however many locks are taken; the shared lock comes first.
  await tx.execute(sql`select count(*) from (
    select pg_advisory_xact_lock_shared(${INGEST_LOCK}::bigint)
    union all
    select pg_advisory_xact_lock(h) from (select hashtextextended(k, 0) as h from unnest(${sql.param(unique)}::text[]) as k order by h) as ordered
  ) as locks`);
}

/** The application name a backlog drain's transactions carry (PostgreSQL), so drains do not take each other for online work. */
export const DRAIN_APPLICATION = 'mpi-backlog-drain';

/** Marks the rest of the transaction as a backlog drain's (see `otherIngestActivity`). */
export async function markAsDrain(tx: Executor): Promise<void> {
  await tx.execute(sql`select set_config('application_name', ${DRAIN_APPLICATION}, true)`);
}

/**
 * Whether another session that is not a backlog drain holds or waits for the ingest lock at this moment
 * (PostgreSQL only): an online ingest (it holds the lock shared while it runs, or waits for a large batch's
 * exclusive hold), a steward decision or a bulk load's chunk.
 */
export async function otherIngestActivity(tx: Executor): Promise<boolean> {
  // A transaction reads pg_stat_activity once and keeps what it read: read it afresh.
  await tx.execute(sql`select pg_stat_clear_snapshot()`);
  const [row] = await queryRows<{ busy: boolean }>(
    tx,
    sql`select exists (
      select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.classid = 0 and l.objid = ${INGEST_LOCK}::bigint::oid and l.objsubid = 1
        and l.pid <> pg_backend_pid() and a.application_name is distinct from ${DRAIN_APPLICATION}
    ) as busy`,
  );
  return row?.busy ?? false;
}

/** How long a background writer tries for the ingest lock without queueing (`takeIngestLockPolitely`). */
const POLITE_LOCK_MS = 2_000;
/** Pause between its tries: about a tenth of a single-record ingest. */
const POLITE_RETRY_MS = 2;

/**
 * Takes the ingest lock exclusively without queueing for it, for up to POLITE_LOCK_MS, then queues. PostgreSQL
 * queues a lock request behind a waiting request it conflicts with: a bulk load's chunk that waited in line for
 * the ingests running would make every ingest arriving meanwhile wait too, for those and then for the whole
 * chunk. Trying instead lets them through; the chunk takes the lock in a moment when none runs.
 */
async function takeIngestLockPolitely(tx: Executor): Promise<void> {
  const deadline = performance.now() + POLITE_LOCK_MS;
  while (performance.now() < deadline) {
    const [row] = await queryRows<{ got: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${INGEST_LOCK}::bigint) as got`);
    if (row?.got) return;
    await new Promise((resolve) => setTimeout(resolve, POLITE_RETRY_MS));
  }
}

/**
 * A moment no later than the start of any transaction that can still store a record: the start of the oldest
 * transaction open now, or of this one. A record committed after this call was written by a transaction that was
 * open now, and so began no earlier than the moment, or that begins later; either way the record's `updated_at`
 * (the writing transaction's start) is at or after it, and a read made after this call sees every record stored
 * before it. By default taken under the ingest lock, held exclusively to the end of the transaction, so no ingest
 * writes beside the caller (call it first in its transaction). `polite`: do not queue for that lock at first
 * (`takeIngestLockPolitely`). `keysHeld`: the caller took key locks instead (`lockKeys`), which keep out only the
 * ingests that share a key with it; no ingest lock is taken here.
 */
export async function storedSinceMark(tx: Executor, options: { polite?: boolean; keysHeld?: boolean } = {}): Promise<Date> {
  if (options.keysHeld) {
    // A transaction reads pg_stat_activity once and keeps what it read: read it afresh.
    await tx.execute(sql`select pg_stat_clear_snapshot()`);
  } else {
    // Held already after a polite take, the lock below is granted at once (advisory locks are re-entrant).
    if (options.polite) await takeIngestLockPolitely(tx);
    await tx.execute(sql`select pg_advisory_xact_lock(${INGEST_LOCK}::bigint), pg_stat_clear_snapshot()`);
  }
  const [row] = await queryRows<{ mark: Date | string }>(
    tx,
    sql`select least(now(), (
      select min(xact_start) from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
    )) as mark`,
  );
  return new Date(row!.mark);
}

/**
 * Takes the ingest lock exclusively for the rest of the transaction: a steward decision (merge, unlink,
 * not-duplicate, review decision) then runs with no ingest, delete or other decision beside it, so what it reads
 * after this lock (links, statuses, members) stays true until it commits. Decisions are human-paced and short;
 * per-row locks alone cannot cover a merge that moves records an ingest is re-planning at the same moment.
 */
export async function lockForStewardDecision(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${INGEST_LOCK}::bigint)`);
}

export async function findRecord(
  db: Executor,
  sourceId: string,
  localId: string,
): Promise<{ record: SourceRecordRow; link: LinkRow | null } | null> {
  const [row] = await db
    .select({ record: sourceRecords, link: links })
    .from(sourceRecords)
    .leftJoin(links, eq(links.recordId, sourceRecords.id))
    .where(and(eq(sourceRecords.sourceId, sourceId), eq(sourceRecords.localId, localId)))
    .limit(1);
  return row ?? null;
}

/** A source record with its source and its link (if linked): what the API shows as a SourceRecord. */
export interface RecordWithSource {
  record: SourceRecordRow;
  link: LinkRow | null;
  source: SourceRow;
}

/** Source records joined to their source and link; callers add the where clause. */
function selectRecordsWithSource(db: Executor) {
  return db
    .select({ record: sourceRecords, link: links, source: sources })
    .from(sourceRecords)
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .leftJoin(links, eq(links.recordId, sourceRecords.id));
}

export async function findRecordById(db: Executor, recordId: string): Promise<RecordWithSource | null> {
  const [row] = await selectRecordsWithSource(db).where(eq(sourceRecords.id, recordId)).limit(1);
  return row ?? null;
}

/** Several records by id, with their source and link, in one query (in no particular order). */
export async function findRecordsByIds(db: Executor, recordIds: string[]): Promise<RecordWithSource[]> {
  if (recordIds.length === 0) return [];
  return selectRecordsWithSource(db).where(inArray(sourceRecords.id, [...new Set(recordIds)]));
}

export async function getIdentity(db: Executor, id: string): Promise<IdentityRow | null> {
  const [row] = await db.select().from(identities).where(eq(identities.id, id)).limit(1);
  return row ?? null;
}

/** Locks identities (in id order) for the rest of the transaction. */
export async function lockIdentities(tx: Executor, ids: string[]): Promise<IdentityRow[]> {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length === 0) return [];
  return tx.select().from(identities).where(inArray(identities.id, sorted)).orderBy(asc(identities.id)).for('update');
}

/** Follows merge redirects to the surviving identity (merge chains are kept one hop long). */
export async function resolveSurvivor(db: Executor, id: string): Promise<IdentityRow | null> {
  let row = await getIdentity(db, id);
  for (let hops = 0; row && row.status === 'MERGED' && row.mergedInto && hops < 10; hops += 1) {
    row = await getIdentity(db, row.mergedInto);
  }
  return row;
}

export async function createIdentity(tx: Executor): Promise<IdentityRow> {
  const [row] = await tx.insert(identities).values({ id: timeOrderedUuid() }).returning();
  return row!;
}

export async function upsertLink(tx: Executor, link: typeof links.$inferInsert): Promise<void> {
  await tx
    .insert(links)
    .values(link)
    .onConflictDoUpdate({
      target: links.recordId,
      set: {
        identityId: link.identityId,
        matchResult: link.matchResult,
        linkSource: link.linkSource,
        weight: link.weight ?? null,
        probability: link.probability ?? null,
        modelVersion: link.modelVersion ?? null,
        updatedAt: new Date(),
      },
    });
}

export async function recordIdsOfIdentity(db: Executor, identityId: string, includeDeleted = false): Promise<string[]> {
  const rows = await db
    .select({ id: links.recordId })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .where(includeDeleted ? eq(links.identityId, identityId) : and(eq(links.identityId, identityId), isNull(sourceRecords.deletedAt)));
  return rows.map((r) => r.id);
}

export async function recordsOfIdentity(
  db: Executor,
  identityId: string,
): Promise<Array<{ record: SourceRecordRow; link: LinkRow; source: SourceRow }>> {
  return db
    .select({ record: sourceRecords, link: links, source: sources })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .where(and(eq(links.identityId, identityId), isNull(sourceRecords.deletedAt)))
    .orderBy(asc(sources.code), asc(sourceRecords.localId));
}

/** The active records of several identities in one query, each identity's in the order recordsOfIdentity gives. */
export async function recordsOfIdentities(
  db: Executor,
  identityIds: string[],
): Promise<Array<{ record: SourceRecordRow; link: LinkRow; source: SourceRow }>> {
  if (identityIds.length === 0) return [];
  return db
    .select({ record: sourceRecords, link: links, source: sources })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .where(and(inArray(links.identityId, [...new Set(identityIds)]), isNull(sourceRecords.deletedAt)))
    .orderBy(asc(sources.code), asc(sourceRecords.localId));
}

/** Stored records' links and normalised values, the newest `limit` of them, newest first. */
export async function linkedRecords(
  db: Executor,
  limit: number,
): Promise<Array<{ recordId: string; identityId: string; linkSource: LinkRow['linkSource']; normalised: unknown }>> {
  // Newest first: record ids are time-ordered (UUIDv7), and past `limit` the records left out must be the oldest,
  // which earlier models already saw, not those that arrived since the last training.
  return db
    .select({ recordId: links.recordId, identityId: links.identityId, linkSource: links.linkSource, normalised: sourceRecords.normalised })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .where(isNull(sourceRecords.deletedAt))
    .orderBy(desc(links.recordId))
    .limit(limit);
}

export async function addEvents(tx: Executor, events: NewIdentityEvent[]): Promise<void> {
  if (events.length > 0) await tx.execute(insertRows(identityEvents, events));
}

export async function eventsOfIdentity(db: Executor, identityId: string): Promise<IdentityEventRow[]> {
  return db
    .select()
    .from(identityEvents)
    .where(eq(identityEvents.identityId, identityId))
    .orderBy(asc(identityEvents.at), asc(identityEvents.id));
}

function orderedPair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}

export async function insertNotDuplicate(tx: Executor, a: string, b: string, actor: string, reason: string | null): Promise<void> {
  const [identityA, identityB] = orderedPair(a, b);
  await tx.insert(notDuplicates).values({ identityA, identityB, actor, reason }).onConflictDoNothing();
}

/** Whether a steward declared the two identities different people. */
export async function isNotDuplicate(db: Executor, a: string, b: string): Promise<boolean> {
  const [identityA, identityB] = orderedPair(a, b);
  const rows = await db
    .select({ a: notDuplicates.identityA })
    .from(notDuplicates)
    .where(and(eq(notDuplicates.identityA, identityA), eq(notDuplicates.identityB, identityB)))
    .limit(1);
  return rows.length > 0;
}

export async function deleteNotDuplicate(tx: Executor, a: string, b: string): Promise<void> {
  const [identityA, identityB] = orderedPair(a, b);
  await tx.delete(notDuplicates).where(and(eq(notDuplicates.identityA, identityA), eq(notDuplicates.identityB, identityB)));
}

/** Carries a merged identity's not-duplicate assertions over to its survivor. */
export async function moveNotDuplicates(tx: Executor, fromId: string, toId: string): Promise<void> {
  const rows = await tx
    .select()
    .from(notDuplicates)
    .where(or(eq(notDuplicates.identityA, fromId), eq(notDuplicates.identityB, fromId)));
  for (const r of rows) {
    const other = r.identityA === fromId ? r.identityB : r.identityA;
    if (other !== toId) await insertNotDuplicate(tx, toId, other, r.actor, r.reason);
  }
  await tx.delete(notDuplicates).where(or(eq(notDuplicates.identityA, fromId), eq(notDuplicates.identityB, fromId)));
}

export async function getReviewItem(db: Executor, id: string): Promise<ReviewItemRow | null> {
  const [row] = await db.select().from(reviewItems).where(eq(reviewItems.id, id)).limit(1);
  return row ?? null;
}

export async function listReviewItems(
  db: Executor,
  status: 'OPEN' | 'RESOLVED' | null,
  limit: number,
  offset: number,
): Promise<ReviewItemRow[]> {
  return db
    .select()
    .from(reviewItems)
    .where(status ? eq(reviewItems.status, status) : undefined)
    .orderBy(desc(reviewItems.priority), asc(reviewItems.createdAt), asc(reviewItems.id))
    .limit(limit)
    .offset(offset);
}

/** Where a keyset page starts: after (or, paging backwards, before) the row with this sort key. */
export type { KeysetPage } from '../platform/db/keyset.ts';

export interface ReviewQueueFilter {
  status: 'OPEN' | 'RESOLVED' | null;
  kind?: 'RECORD_MATCH' | 'POSSIBLE_DUPLICATE' | null;
  /** The code of the record's source: only record-match items have one. */
  source?: string | null;
  /** Match probability from (inclusive) and below (exclusive): a grade's band under the active model. */
  probabilityFrom?: number | null;
  probabilityBelow?: number | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

/** The orders the queue can be read in; PRIORITY (most uncertain, most records at stake first) is the default. */
export const REVIEW_QUEUE_ORDERS = ['PRIORITY', 'OLDEST', 'NEWEST', 'PROBABILITY'] as const;
export type ReviewQueueOrder = (typeof REVIEW_QUEUE_ORDERS)[number];

/** A review item's place in an order: the ordered value (a number: priority, probability or epoch ms), then id. */
export interface ReviewItemKey {
  value: number;
  id: string;
}

/**
 * What each order sorts by, and which way; ties always go by id, ascending. Times are compared to the
 * millisecond, the precision a cursor carries, so a cursor never falls between two rows of one millisecond.
 */
const REVIEW_ORDER_COLUMNS: Record<ReviewQueueOrder, { column: SQL; descending: boolean; time?: boolean }> = {
  PRIORITY: { column: sql`${reviewItems.priority}`, descending: true },
  PROBABILITY: { column: sql`${reviewItems.probability}`, descending: true },
  OLDEST: { column: sql`date_trunc('milliseconds', ${reviewItems.createdAt})`, descending: false, time: true },
  NEWEST: { column: sql`date_trunc('milliseconds', ${reviewItems.createdAt})`, descending: true, time: true },
};

/** The sort key of a row in an order. */
export function reviewItemKey(row: ReviewItemRow, order: ReviewQueueOrder): ReviewItemKey {
  const value = order === 'PRIORITY' ? row.priority : order === 'PROBABILITY' ? row.probability : row.createdAt.getTime();
  return { value, id: row.id };
}

function reviewQueueWhere(filter: ReviewQueueFilter): SQL | undefined {
  return and(
    filter.status ? eq(reviewItems.status, filter.status) : undefined,
    filter.kind ? eq(reviewItems.kind, filter.kind) : undefined,
    filter.source
      ? sql`exists (select 1 from ${sourceRecords} join ${sources} on ${sources.id} = ${sourceRecords.sourceId}
          where ${sourceRecords.id} = ${reviewItems.recordId} and ${sources.code} = ${filter.source})`
      : undefined,
    filter.probabilityFrom != null ? gte(reviewItems.probability, filter.probabilityFrom) : undefined,
    filter.probabilityBelow != null ? lt(reviewItems.probability, filter.probabilityBelow) : undefined,
    filter.createdAfter ? gt(reviewItems.createdAt, filter.createdAfter) : undefined,
    filter.createdBefore ? lt(reviewItems.createdAt, filter.createdBefore) : undefined,
  );
}

/** Rows after `key` in `order` (forward = true), or before it. */
function pastReviewKey(order: ReviewQueueOrder, key: ReviewItemKey, forward: boolean): SQL {
  const { column, descending, time } = REVIEW_ORDER_COLUMNS[order];
  const value = time ? sql`${new Date(key.value).toISOString()}::timestamptz` : sql`${key.value}`;
  const valueAhead = descending === forward ? sql`${column} < ${value}` : sql`${column} > ${value}`;
  return or(valueAhead, and(sql`${column} = ${value}`, forward ? gt(reviewItems.id, key.id) : lt(reviewItems.id, key.id)))!;
}

/**
 * One page of the review queue by keyset: a page starts after the last item the caller saw, so items resolved
 * meanwhile (or new ones ranked above) shift nothing and no item is skipped or shown twice.
 */
export async function reviewQueuePage(
  db: Executor,
  filter: ReviewQueueFilter,
  page: KeysetPage<ReviewItemKey>,
  order: ReviewQueueOrder = 'PRIORITY',
): Promise<ReviewItemRow[]> {
  const { column, descending } = REVIEW_ORDER_COLUMNS[order];
  // Paging backwards reads the order reversed, nearest row first; the caller turns the page around.
  const valueDescending = descending !== page.inverted;
  return db
    .select()
    .from(reviewItems)
    .where(
      and(
        reviewQueueWhere(filter),
        page.after ? pastReviewKey(order, page.after, true) : undefined,
        page.before ? pastReviewKey(order, page.before, false) : undefined,
      ),
    )
    .orderBy(valueDescending ? desc(column) : asc(column), page.inverted ? desc(reviewItems.id) : asc(reviewItems.id))
    .limit(page.limit);
}

export async function countReviewItems(db: Executor, filter: ReviewQueueFilter): Promise<number> {
  const [row] = await db.select({ n: count() }).from(reviewItems).where(reviewQueueWhere(filter));
  return row?.n ?? 0;
}

export interface IdentityEventFilter {
  types?: Array<IdentityEventRow['type']> | null;
}

function eventsWhere(identityId: string, filter: IdentityEventFilter): SQL | undefined {
  return and(eq(identityEvents.identityId, identityId), filter.types?.length ? inArray(identityEvents.type, filter.types) : undefined);
}

/** One page of an identity's events in the order they were recorded (by id), keyset on the event id. */
export async function identityEventsPage(
  db: Executor,
  identityId: string,
  filter: IdentityEventFilter,
  page: KeysetPage<number>,
): Promise<IdentityEventRow[]> {
  return db
    .select()
    .from(identityEvents)
    .where(
      and(
        eventsWhere(identityId, filter),
        page.after !== null ? gt(identityEvents.id, page.after) : undefined,
        page.before !== null ? lt(identityEvents.id, page.before) : undefined,
      ),
    )
    .orderBy(page.inverted ? desc(identityEvents.id) : asc(identityEvents.id))
    .limit(page.limit);
}

export async function countIdentityEvents(db: Executor, identityId: string, filter: IdentityEventFilter): Promise<number> {
  const [row] = await db.select({ n: count() }).from(identityEvents).where(eventsWhere(identityId, filter));
  return row?.n ?? 0;
}

/** Closes open review items that a merge, unlink or decision made moot. */
export async function closeReviewItemsFor(tx: Executor, identityIds: string[], decision: string, actor: string): Promise<string[]> {
  if (identityIds.length === 0) return [];
  const rows = await tx
    .update(reviewItems)
    .set({ status: 'RESOLVED', decision, decidedBy: actor, decidedAt: new Date(), reason: 'superseded by a later decision' })
    .where(
      and(eq(reviewItems.status, 'OPEN'), or(inArray(reviewItems.identityA, identityIds), inArray(reviewItems.identityB, identityIds))),
    )
    .returning({ id: reviewItems.id });
  return rows.map((r) => r.id);
}

export async function markIdentityMerged(tx: Executor, mergedId: string, survivorId: string): Promise<void> {
  const now = new Date();
  await tx
    .update(identities)
    .set({ status: 'MERGED', mergedInto: survivorId, updatedAt: now, version: sql`${identities.version} + 1` })
    .where(eq(identities.id, mergedId));
  // Keep redirects one hop long: anything that pointed at the merged identity now points at the survivor.
  await tx.update(identities).set({ mergedInto: survivorId, updatedAt: now }).where(eq(identities.mergedInto, mergedId));
}

export async function moveLinks(tx: Executor, fromId: string, toId: string, linkSource: 'AUTO' | 'MANUAL' | null): Promise<string[]> {
  const rows = await tx
    .update(links)
    .set({ identityId: toId, updatedAt: new Date(), ...(linkSource ? { linkSource } : {}) })
    .where(eq(links.identityId, fromId))
    .returning({ recordId: links.recordId });
  return rows.map((r) => r.recordId);
}

export interface IdentityFilter {
  familyName?: string | null;
  givenName?: string | null;
  birthDate?: string | null;
}

function identitiesWhere(filter: IdentityFilter): SQL[] {
  const conditions = [eq(identities.status, 'ACTIVE')];
  if (filter.familyName)
    conditions.push(sql`lower(${identities.golden}->>'familyName') like ${`${escapeLike(filter.familyName.toLowerCase())}%`}`);
  if (filter.givenName)
    conditions.push(sql`lower(${identities.golden}->>'givenName') like ${`${escapeLike(filter.givenName.toLowerCase())}%`}`);
  if (filter.birthDate) conditions.push(sql`${identities.golden}->>'birthDate' = ${filter.birthDate}`);
  return conditions;
}

/** An identity with its sort key (creation time as PostgreSQL prints it), for keyset cursors. */
export type IdentityPageRow = IdentityRow & { sortKey: string };

/**
 * One page of active identities, oldest first, by keyset on (created_at, id): identities created or merged
 * while a caller pages shift nothing, so none is skipped or shown twice.
 */
export async function searchIdentitiesPage(db: Executor, filter: IdentityFilter, page: KeysetPage<TimeKey>): Promise<IdentityPageRow[]> {
  const keyset = timeKeyset(identities.createdAt, identities.id, page, false);
  return db
    .select({ ...getTableColumns(identities), sortKey: keyset.sortKey })
    .from(identities)
    .where(and(...identitiesWhere(filter), ...keyset.where))
    .orderBy(...keyset.orderBy)
    .limit(page.limit);
}

export async function countIdentities(db: Executor, filter: IdentityFilter): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(identities)
    .where(and(...identitiesWhere(filter)));
  return row?.n ?? 0;
}

export async function identitiesMergedInto(db: Executor, identityId: string): Promise<string[]> {
  const rows = await db
    .select({ id: identities.id })
    .from(identities)
    .where(eq(identities.mergedInto, identityId))
    .orderBy(asc(identities.id));
  return rows.map((r) => r.id);
}

/** Soft-deletes a source record: it stays for history, but no longer matches or feeds a golden record. */
export async function softDeleteRecord(tx: Executor, recordId: string): Promise<void> {
  await tx.update(sourceRecords).set({ deletedAt: new Date(), updatedAt: new Date() }).where(eq(sourceRecords.id, recordId));
}

/** Locks a review item for a decision; null when there is none. */
export async function lockReviewItem(tx: Executor, id: string): Promise<ReviewItemRow | null> {
  const [item] = await tx.select().from(reviewItems).where(eq(reviewItems.id, id)).for('update');
  return item ?? null;
}

/** A steward's decision on one review item. */
export interface ReviewDecisionValues {
  decision: string;
  reason: string | null;
  decidedBy: string;
}

/** Resolves a review item with a steward's decision and returns it. */
export async function decideReviewItem(tx: Executor, id: string, values: ReviewDecisionValues): Promise<ReviewItemRow> {
  const [updated] = await tx
    .update(reviewItems)
    .set({ status: 'RESOLVED', ...values, decidedAt: new Date() })
    .where(eq(reviewItems.id, id))
    .returning();
  return updated!;
}

/** Resolves the open review items between two identities (either order) with a steward's decision. */
export async function decideOpenReviewsBetween(tx: Executor, a: string, b: string, values: ReviewDecisionValues): Promise<void> {
  await tx
    .update(reviewItems)
    .set({ status: 'RESOLVED', ...values, decidedAt: new Date() })
    .where(
      and(
        eq(reviewItems.status, 'OPEN'),
        or(
          and(eq(reviewItems.identityA, a), eq(reviewItems.identityB, b)),
          and(eq(reviewItems.identityA, b), eq(reviewItems.identityB, a)),
        ),
      ),
    );
}

/** Several identities by id, in one query, without following merges. */
export async function identitiesByIds(db: Executor, ids: string[]): Promise<IdentityRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(identities)
    .where(inArray(identities.id, [...new Set(ids)]));
}

/** A record by its source's code and local id, with its link and source. */
export async function findRecordByLocalId(db: Executor, sourceCode: string, localId: string): Promise<RecordWithSource | null> {
  const [row] = await selectRecordsWithSource(db)
    .where(and(eq(sources.code, sourceCode), eq(sourceRecords.localId, localId)))
    .limit(1);
  return row ?? null;
}

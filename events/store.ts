import { and, asc, eq, getTableColumns, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Database, type Executor } from '../platform/db/client.ts';
import { changeEvents, eventConsumers, sourceRecords, sources, webhookDeadLetters, webhookEndpoints } from '../platform/db/schema/index.ts';
import { insertRows, type InsertRow } from '../platform/db/bulk.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import type { ChangeEvent, ChangeEventType, EventFilter, NewChange } from './types.ts';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeadLetterRow = typeof webhookDeadLetters.$inferSelect;

/**
 * The notification channel of the outbox: `written` when a transaction that wrote events commits, `published` when
 * the dispatcher gave events their positions. PostgreSQL delivers a NOTIFY only when its transaction commits, so a
 * listener hears of committed events at once instead of at its next poll.
 */
export const OUTBOX_CHANNEL = 'mpi_change_events';

/**
 * Writes change events into the outbox with the transaction that makes the change, so a change and its event
 * commit or roll back together. One statement whatever the number of events; it also queues the `written`
 * notification, which the dispatcher hears when the transaction commits.
 */
export async function recordChanges(tx: Executor, changes: readonly NewChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.execute(sql`with written as (${insertRows(changeEvents, changeRows(changes))}) select pg_notify(${OUTBOX_CHANNEL}, 'written')`);
}

/** The outbox rows of changes, each with its time-ordered id (the bulk load copies them). */
export function changeRows(changes: readonly NewChange[]): Array<InsertRow<typeof changeEvents>> {
  return changes.map((c) => ({
    id: timeOrderedUuid(),
    type: c.type,
    actor: c.actor,
    identityId: c.identityId ?? null,
    recordId: c.recordId ?? null,
    data: c.data ?? {},
    versions: c.versions ?? {},
  }));
}

/** Serialises publishing across replicas (pg_advisory_xact_lock key): positions are handed out by one at a time. */
const PUBLISH_LOCK = 7_150_001;

/** What one publishing round did: rows given positions, and the highest published position after it. */
export interface PublishRound {
  published: number;
  head: number;
}

/**
 * Gives the oldest committed unpublished outbox rows (at most `limit`) their global positions, in the order they
 * were written, in one round trip (migration 0011's `publish_change_events`, under the publish lock), and
 * notifies followers when it published any. Rows of one identity are written in commit order (the identity is
 * locked by its writer), so they keep it.
 */
export async function publishRound(db: Database, limit: number): Promise<PublishRound> {
  const [row] = await queryRows<{ published: number; head: string }>(
    db,
    sql`select published, head::text as head from publish_change_events(${PUBLISH_LOCK}, ${limit}::int, ${OUTBOX_CHANNEL})`,
  );
  return { published: Number(row?.published ?? 0), head: Number(row?.head ?? 0) };
}

/** Publishes one round (see `publishRound`); returns how many rows it published. */
export async function publishPending(db: Database, limit: number): Promise<number> {
  return (await publishRound(db, limit)).published;
}

/** The highest published position (0 when nothing is published). */
export async function headPosition(db: Executor): Promise<number> {
  const [row] = await queryRows<{ head: string | null }>(db, sql`select max(position)::text as head from change_events`);
  return Number(row?.head ?? 0);
}

function filterSql(filter: EventFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.types && filter.types.length > 0) where.push(inArray(changeEvents.type, [...filter.types]));
  if (filter.identityId) where.push(eq(changeEvents.identityId, filter.identityId));
  if (filter.source) where.push(eq(sources.code, filter.source));
  return where;
}

/** Published events after `after`, in position order, matching `filter`. */
export async function readEvents(db: Executor, after: number, filter: EventFilter, limit: number): Promise<ChangeEvent[]> {
  const rows = await db
    .select({
      position: changeEvents.position,
      id: changeEvents.id,
      type: changeEvents.type,
      occurredAt: changeEvents.occurredAt,
      actor: changeEvents.actor,
      identityId: changeEvents.identityId,
      recordId: changeEvents.recordId,
      source: sources.code,
      localId: sourceRecords.localId,
      data: changeEvents.data,
      versions: changeEvents.versions,
    })
    .from(changeEvents)
    .leftJoin(sourceRecords, eq(sourceRecords.id, changeEvents.recordId))
    .leftJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .where(and(gt(changeEvents.position, after), ...filterSql(filter)))
    .orderBy(asc(changeEvents.position))
    .limit(limit);
  return rows.map((r) => ({ ...r, position: r.position!, type: r.type as ChangeEventType }));
}

/** Events by id (for redelivering dead letters). */
export async function eventsByIds(db: Executor, ids: string[]): Promise<ChangeEvent[]> {
  if (ids.length === 0) return [];
  const rows = await db.select({ position: changeEvents.position }).from(changeEvents).where(inArray(changeEvents.id, ids));
  const found: ChangeEvent[] = [];
  for (const r of rows) found.push(...(await readEvents(db, r.position! - 1, {}, 1)));
  return found;
}

/** Deletes published events older than `days` days, a slice at a time; returns how many went. */
export async function deleteExpiredEvents(db: Executor, days: number, limit = 10_000): Promise<number> {
  const rows = await queryRows<{ seq: string }>(
    db,
    sql`delete from change_events where seq in (
      select seq from change_events where position is not null and occurred_at < now() - make_interval(days => ${days}::int) order by seq limit ${limit}::int
    ) returning seq`,
  );
  return rows.length;
}

/** Where a named consumer has got to (0 before its first event). */
export async function consumerPosition(db: Executor, name: string): Promise<number> {
  const [row] = await db.select({ position: eventConsumers.position }).from(eventConsumers).where(eq(eventConsumers.name, name));
  return row?.position ?? 0;
}

export async function saveConsumerPosition(db: Executor, name: string, position: number): Promise<void> {
  await db
    .insert(eventConsumers)
    .values({ name, position })
    .onConflictDoUpdate({ target: eventConsumers.name, set: { position, updatedAt: new Date() } });
}

export async function insertEndpoint(db: Executor, row: typeof webhookEndpoints.$inferInsert): Promise<WebhookEndpointRow> {
  const [created] = await db.insert(webhookEndpoints).values(row).returning();
  return created!;
}

export async function getEndpoint(db: Executor, id: string): Promise<WebhookEndpointRow | null> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row ?? null;
}

/** An endpoint and whether dead letters of it wait for redelivery: what a delivery round starts from, in one read. */
export async function endpointForRound(db: Executor, id: string): Promise<(WebhookEndpointRow & { redeliveries: boolean }) | null> {
  const [row] = await db
    .select({
      ...getTableColumns(webhookEndpoints),
      // Spelt out: drizzle leaves the table off column names in a select list, and both tables have an `id`.
      redeliveries: sql<boolean>`exists (select 1 from webhook_dead_letters d where d.endpoint_id = webhook_endpoints.id and d.status = 'PENDING')`,
    })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id));
  return row ?? null;
}

export async function listEndpoints(db: Executor, kind?: string): Promise<WebhookEndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(kind ? eq(webhookEndpoints.kind, kind) : undefined)
    .orderBy(asc(webhookEndpoints.createdAt));
}

export async function updateEndpoint(
  db: Executor,
  id: string,
  set: Partial<typeof webhookEndpoints.$inferInsert>,
): Promise<WebhookEndpointRow | null> {
  const [row] = await db.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning();
  return row ?? null;
}

/**
 * Records the outcome of one delivery round; `delivered` is added to the endpoint's count. Only when the
 * endpoint is still at `from`: a replay asked for meanwhile wins over the round that was in flight.
 */
export async function saveDeliveryState(
  db: Executor,
  id: string,
  from: number,
  state: {
    position: number;
    headAttempts: number;
    nextAttemptAt: Date | null;
    delivered: number;
    lastStatus: number | null;
    lastError: string | null;
  },
): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({
      position: state.position,
      headAttempts: state.headAttempts,
      nextAttemptAt: state.nextAttemptAt,
      delivered: sql`${webhookEndpoints.delivered} + ${state.delivered}`,
      lastStatus: state.lastStatus,
      lastError: state.lastError,
      ...(state.delivered > 0 ? { lastDeliveredAt: new Date() } : {}),
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.position, from)));
}

export async function insertDeadLetter(db: Executor, row: typeof webhookDeadLetters.$inferInsert): Promise<void> {
  await db.insert(webhookDeadLetters).values(row);
}

export async function deadLettersOf(db: Executor, endpointId: string, status?: string): Promise<DeadLetterRow[]> {
  return db
    .select()
    .from(webhookDeadLetters)
    .where(and(eq(webhookDeadLetters.endpointId, endpointId), status ? eq(webhookDeadLetters.status, status) : undefined))
    .orderBy(asc(webhookDeadLetters.position));
}

export async function setDeadLetterStatus(
  db: Executor,
  ids: number[],
  status: string,
  extra: Partial<typeof webhookDeadLetters.$inferInsert> = {},
): Promise<DeadLetterRow[]> {
  if (ids.length === 0) return [];
  return db
    .update(webhookDeadLetters)
    .set({ status, ...extra })
    .where(inArray(webhookDeadLetters.id, ids))
    .returning();
}

/** Lag of an endpoint: events after its position matching its types, and the age of the oldest. */
export async function endpointLag(db: Executor, endpoint: WebhookEndpointRow): Promise<{ events: number; oldestAt: Date | null }> {
  const types = endpoint.eventTypes.length > 0 ? sql`and type = any(${sql.param(endpoint.eventTypes)}::text[])` : sql``;
  const [row] = await queryRows<{ events: string; oldest: string | null }>(
    db,
    sql`
    select count(*)::text as events, min(occurred_at)::text as oldest from change_events
    where position > ${endpoint.position}::bigint ${types}`,
  );
  return { events: Number(row?.events ?? 0), oldestAt: row?.oldest ? new Date(row.oldest) : null };
}

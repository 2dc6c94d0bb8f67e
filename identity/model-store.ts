import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { NormalisedRecord } from '../matching/index.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { matchModelEvents, matchModels, modelEventType, sourceRecords } from '../platform/db/schema/index.ts';

export type MatchModelRow = typeof matchModels.$inferSelect;
export type ModelEventRow = typeof matchModelEvents.$inferSelect;
export type ModelEventType = ModelEventRow['type'];
/** The steps a match model goes through: TRAINED, EVALUATED, then ACTIVATED or REJECTED. */
export const MODEL_EVENT_TYPES = modelEventType.enumValues;
export type NewModelEvent = Pick<ModelEventRow, 'version' | 'type' | 'actor'> & { data?: Record<string, unknown> };

/** Most stored records read for training; EM converges long before this on blocked pairs. */
export const MAX_TRAINING_RECORDS = 300_000;

/** The active model's row, or null when none was ever activated. */
export async function activeModelRow(db: Executor): Promise<MatchModelRow | null> {
  const [row] = await db.select().from(matchModels).where(eq(matchModels.active, true)).limit(1);
  return row ?? null;
}

/** The active model's version, or null when none was ever activated. */
export async function activeModelVersion(db: Executor): Promise<string | null> {
  const [row] = await db.select({ version: matchModels.version }).from(matchModels).where(eq(matchModels.active, true)).limit(1);
  return row?.version ?? null;
}

/** Every stored model, newest first. */
export function listModels(db: Executor): Promise<MatchModelRow[]> {
  return db.select().from(matchModels).orderBy(desc(matchModels.createdAt));
}

export async function modelByVersion(db: Executor, version: string): Promise<MatchModelRow | null> {
  const [row] = await db.select().from(matchModels).where(eq(matchModels.version, version)).limit(1);
  return row ?? null;
}

export async function insertModel(
  db: Executor,
  model: Pick<typeof matchModels.$inferInsert, 'version' | 'spec' | 'summary' | 'createdBy'>,
): Promise<void> {
  await db.insert(matchModels).values(model);
}

/** Makes `version` the only active model (in the caller's transaction). */
export async function setActiveModel(tx: Executor, version: string): Promise<void> {
  await tx.update(matchModels).set({ active: false }).where(eq(matchModels.active, true));
  await tx.update(matchModels).set({ active: true }).where(eq(matchModels.version, version));
}

export async function addModelEvents(db: Executor, events: NewModelEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.insert(matchModelEvents).values(events.map((e) => ({ ...e, data: e.data ?? {} })));
}

/** Model events, newest first; optionally of one version or type, and before an id (paging). */
export function modelEvents(
  db: Executor,
  filter: { version?: string | null; type?: ModelEventType | null; before?: number | null; limit: number },
): Promise<ModelEventRow[]> {
  const where = and(
    filter.version ? eq(matchModelEvents.version, filter.version) : undefined,
    filter.type ? eq(matchModelEvents.type, filter.type) : undefined,
    filter.before ? lt(matchModelEvents.id, filter.before) : undefined,
  );
  return db.select().from(matchModelEvents).where(where).orderBy(desc(matchModelEvents.id)).limit(filter.limit);
}

/** Source records stored and not deleted: what training would read. */
export async function countStoredRecords(db: Executor): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(sourceRecords)
    .where(isNull(sourceRecords.deletedAt));
  return Number(row?.n ?? 0);
}

/**
 * The stored records as the matcher normalised them: all of them up to `limit`, beyond it a repeatable random
 * sample of about `limit` (a Bernoulli table sample with a fixed seed). A plain LIMIT would read the oldest
 * records only, so a scheduled retraining on a large index would never see the sources that joined later.
 */
export async function loadTrainingRecords(db: Executor, limit = MAX_TRAINING_RECORDS): Promise<NormalisedRecord[]> {
  const stored = await countStoredRecords(db);
  const sample = stored > limit ? sql`tablesample bernoulli (${sql.raw(((100 * limit) / stored).toFixed(6))}) repeatable (0)` : sql``;
  const rows = await queryRows<{ normalised: NormalisedRecord }>(
    db,
    sql`select normalised from source_records ${sample} where deleted_at is null limit ${limit}`,
  );
  return rows.map((r) => r.normalised);
}

import { and, asc, desc, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { qualityMeasurements, qualityRuns } from '../platform/db/schema/index.ts';

export type QualityRunRow = typeof qualityRuns.$inferSelect;
export type QualityMeasurementRow = typeof qualityMeasurements.$inferSelect;
export type NewQualityMeasurement = typeof qualityMeasurements.$inferInsert;

/** Rows per insert statement: keeps the bind-parameter count far below PostgreSQL's 65535 limit. */
const INSERT_CHUNK = 1000;

export async function insertRun(db: Executor, trigger: string): Promise<QualityRunRow> {
  const [row] = await db.insert(qualityRuns).values({ trigger }).returning();
  return row!;
}

export async function finishRun(db: Executor, id: string, status: 'SUCCEEDED' | 'FAILED'): Promise<QualityRunRow> {
  const [row] = await db.update(qualityRuns).set({ status, finishedAt: new Date() }).where(eq(qualityRuns.id, id)).returning();
  return row!;
}

export async function insertMeasurements(db: Executor, rows: NewQualityMeasurement[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await db.insert(qualityMeasurements).values(rows.slice(i, i + INSERT_CHUNK));
  }
}

export async function findRun(db: Executor, id: string): Promise<QualityRunRow | null> {
  const [row] = await db.select().from(qualityRuns).where(eq(qualityRuns.id, id));
  return row ?? null;
}

export async function measurementsOfRun(db: Executor, runId: string): Promise<QualityMeasurementRow[]> {
  return db
    .select()
    .from(qualityMeasurements)
    .where(eq(qualityMeasurements.runId, runId))
    .orderBy(asc(qualityMeasurements.scopeKind), asc(qualityMeasurements.scope), asc(qualityMeasurements.metric));
}

export interface SeriesQuery {
  scope?: string | undefined;
  metric?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
}

/** Measurements in time order (oldest first) between two instants, inclusive. */
export async function measurementSeries(db: Executor, q: SeriesQuery): Promise<QualityMeasurementRow[]> {
  const conditions: SQL[] = [];
  if (q.scope !== undefined) conditions.push(eq(qualityMeasurements.scope, q.scope));
  if (q.metric !== undefined) conditions.push(eq(qualityMeasurements.metric, q.metric));
  if (q.from) conditions.push(gte(qualityMeasurements.measuredAt, q.from));
  if (q.to) conditions.push(lte(qualityMeasurements.measuredAt, q.to));
  // Take the newest `limit` points, then return them oldest first, as a chart wants them.
  const newest = await db
    .select()
    .from(qualityMeasurements)
    .where(and(...conditions))
    .orderBy(desc(qualityMeasurements.measuredAt), desc(qualityMeasurements.id))
    .limit(q.limit);
  return newest.reverse();
}

/** When a scope was last measured: the instant of the newest `metric` point at `scope`. */
export async function lastMeasuredAt(db: Executor, metric: string, scope: string): Promise<Date | null> {
  const m = qualityMeasurements;
  const [row] = await db
    .select({ at: m.measuredAt })
    .from(m)
    .where(and(eq(m.metric, metric), eq(m.scope, scope)))
    .orderBy(desc(m.measuredAt))
    .limit(1);
  return row?.at ?? null;
}

/**
 * The points measured at one instant for the given (metric, scope) pairs: every point of a run shares its
 * instant, and listing the pairs lets the (metric, scope, measured_at) index answer without a scan.
 */
export async function measurementsAt(
  db: Executor,
  at: Date,
  pairs: Array<{ metric: string; scope: string }>,
): Promise<QualityMeasurementRow[]> {
  if (pairs.length === 0) return [];
  const m = qualityMeasurements;
  const wanted = sql.join(
    pairs.map((p) => sql`(${p.metric}, ${p.scope})`),
    sql`, `,
  );
  return db
    .select()
    .from(m)
    .where(and(eq(m.measuredAt, at), sql`(${m.metric}, ${m.scope}) in (${wanted})`))
    .orderBy(asc(m.scopeKind), asc(m.scope), asc(m.metric));
}

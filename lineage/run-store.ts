import { and, count, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { timeKeyset, type KeysetPage, type TimeKey } from '../platform/db/keyset.ts';
import { ingestRuns } from '../platform/db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';

export type IngestRunRow = typeof ingestRuns.$inferSelect;
export type IngestRunError = IngestRunRow['errors'][number];

/** RUNNING until finished; COMPLETED, FAILED (stopped by an error) or ABORTED (stopped on purpose). */
export const INGEST_RUN_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'ABORTED'] as const;
export type IngestRunStatus = (typeof INGEST_RUN_STATUSES)[number];
export type FinalRunStatus = Exclude<IngestRunStatus, 'RUNNING'>;

/** Errors kept per run; the rest are counted in `facets.droppedErrors`, so a bad file cannot bloat the row. */
export const MAX_RUN_ERRORS = 200;

/** Jobs of the index's own golden-record recomputes, recorded as runs beside the ingest runs. */
export const RECOMPUTE_JOBS = {
  policy: 'survivorship.policy-change',
  source: 'survivorship.source-trust',
  manual: 'survivorship.recompute',
} as const;

/**
 * Records the start of a batch or stream session (an OpenLineage-style run) and returns it. Pass its id to
 * ingest so every provenance row it opens names the run. `sourceId` is null for runs no source fed.
 */
export async function startIngestRun(
  db: Executor,
  input: { sourceId: string | null; job: string; facets?: Record<string, unknown> },
): Promise<IngestRunRow> {
  const job = input.job.trim();
  if (!job || job.length > 200) throw ValidationError.of('job', 'INVALID_JOB', 'must be 1-200 characters');
  const [row] = await db
    .insert(ingestRuns)
    .values({ sourceId: input.sourceId, job, facets: input.facets ?? {} })
    .returning();
  return row!;
}

/** Replaces the counts of a running run, so progress is visible while it works. */
export async function updateIngestRunCounts(db: Executor, id: string, counts: Record<string, number>): Promise<void> {
  await db
    .update(ingestRuns)
    .set({ counts })
    .where(and(eq(ingestRuns.id, id), eq(ingestRuns.status, 'RUNNING')));
}

/**
 * Ends a run with its final counts (e.g. `{ recordsIn, created, linked, review, unchanged, rejected }`), its
 * errors and status. Error messages must name the field and problem, never a patient's value.
 */
export async function finishIngestRun(
  db: Executor,
  id: string,
  counts: Record<string, number>,
  errors: IngestRunError[],
  status: FinalRunStatus,
): Promise<IngestRunRow> {
  const kept = errors.slice(0, MAX_RUN_ERRORS);
  const dropped = errors.length - kept.length;
  const facets: SQL =
    dropped > 0 ? sql`${ingestRuns.facets} || ${JSON.stringify({ droppedErrors: dropped })}::jsonb` : sql`${ingestRuns.facets}`;
  const [row] = await db
    .update(ingestRuns)
    .set({ counts, errors: kept, status, endedAt: sql`clock_timestamp()`, facets })
    .where(and(eq(ingestRuns.id, id), eq(ingestRuns.status, 'RUNNING')))
    .returning();
  if (row) return row;
  if (await getIngestRun(db, id)) throw new ConflictError('RUN_FINISHED', 'Ingest run has already finished', 'id');
  throw new NotFoundError('Ingest run');
}

export async function getIngestRun(db: Executor, id: string): Promise<IngestRunRow | null> {
  const [row] = await db.select().from(ingestRuns).where(eq(ingestRuns.id, id)).limit(1);
  return row ?? null;
}

export interface IngestRunFilter {
  sourceId?: string | null | undefined;
  status?: IngestRunStatus | null | undefined;
  job?: string | null | undefined;
}

function runsWhere(filter: IngestRunFilter): SQL | undefined {
  return and(
    filter.sourceId ? eq(ingestRuns.sourceId, filter.sourceId) : undefined,
    filter.status ? eq(ingestRuns.status, filter.status) : undefined,
    filter.job ? eq(ingestRuns.job, filter.job) : undefined,
  );
}

/** A run with its sort key (start time as PostgreSQL prints it), for keyset cursors. */
export type IngestRunPageRow = IngestRunRow & { sortKey: string };

/** One page of runs, newest first, by keyset on (started_at, id): runs started while a caller pages shift nothing. */
export async function ingestRunsPage(db: Executor, filter: IngestRunFilter, page: KeysetPage<TimeKey>): Promise<IngestRunPageRow[]> {
  const keyset = timeKeyset(ingestRuns.startedAt, ingestRuns.id, page, true);
  return db
    .select({ ...getTableColumns(ingestRuns), sortKey: keyset.sortKey })
    .from(ingestRuns)
    .where(and(runsWhere(filter), ...keyset.where))
    .orderBy(...keyset.orderBy)
    .limit(page.limit);
}

export async function countIngestRuns(db: Executor, filter: IngestRunFilter): Promise<number> {
  const [row] = await db.select({ n: count() }).from(ingestRuns).where(runsWhere(filter));
  return row?.n ?? 0;
}

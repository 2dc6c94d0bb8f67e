import { and, asc, count, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { recordChanges } from '../events/index.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { withTransaction } from '../platform/db/retry.ts';
import { identities, links, sourceRecords } from '../platform/db/schema/index.ts';
import { withSpan } from '../platform/telemetry.ts';
import { decisionsQuery } from './recompute-sql.ts';
import { finishIngestRun, RECOMPUTE_JOBS, startIngestRun, updateIngestRunCounts, type FinalRunStatus } from './runs.ts';
import { loadActivePolicy, PROVENANCE_CLOCK } from './store.ts';
import type { SurvivorshipPolicy } from './survivorship.ts';
import { errorFields } from '../platform/logger.ts';

/** Which golden records to recompute: every active identity, or those fed by one source's records. */
export type RecomputeScope = { kind: 'all' } | { kind: 'source'; sourceId: string };

/** Identities per batch: one transaction each, so locks are short and progress is kept if the work stops. */
export const DEFAULT_RECOMPUTE_BATCH = 1000;
/** Progress goes to the log at most this often. */
const PROGRESS_LOG_INTERVAL_MS = 2000;

export interface RecomputeProgress {
  runId: string;
  batches: number;
  /** Units of the scope looked at so far (identities; for a source, its records) and how many there are. */
  scanned: number;
  total: number;
  /** Identities whose golden fields were recomputed. */
  identities: number;
  /** Provenance rows closed and reopened (value, winner, rule or competitors changed). */
  fieldsReprovenanced: number;
  /** Golden values that changed, and identities with at least one. */
  valuesChanged: number;
  goldenChanged: number;
  elapsedMs: number;
}

export interface RecomputeResult extends RecomputeProgress {
  status: FinalRunStatus;
  policyVersion: number;
}

/** The part of a pino logger recomputes use. */
export interface ProgressLogger {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface RecomputeOptions {
  logger?: ProgressLogger | undefined;
  batchSize?: number | undefined;
  onProgress?: ((progress: RecomputeProgress) => void) | undefined;
  /** Stop (ABORTED) once the active policy is no longer this version: the newer change recomputes instead. */
  policyVersion?: number | undefined;
  /** A run already started for this recompute (so a caller can return it before the work is done). */
  runId?: string | undefined;
  /** The job the run is recorded under; by default the policy-change or source-trust job of the scope. */
  job?: string | undefined;
}

async function scopeSize(db: Executor, scope: RecomputeScope): Promise<number> {
  const [row] =
    scope.kind === 'all'
      ? await db.select({ n: count() }).from(identities).where(eq(identities.status, 'ACTIVE'))
      : await db
          .select({ n: count() })
          .from(sourceRecords)
          .where(and(eq(sourceRecords.sourceId, scope.sourceId), isNull(sourceRecords.deletedAt)));
  return row?.n ?? 0;
}

/** The next page of the scope in key order: identity ids, and the cursor to continue from. */
async function nextPage(
  tx: Executor,
  scope: RecomputeScope,
  cursor: string | null,
  size: number,
): Promise<{ ids: string[]; scanned: number; cursor: string | null }> {
  if (scope.kind === 'all') {
    const rows = await tx
      .select({ id: identities.id })
      .from(identities)
      .where(and(eq(identities.status, 'ACTIVE'), cursor ? gt(identities.id, cursor) : undefined))
      .orderBy(asc(identities.id))
      .limit(size);
    return { ids: rows.map((r) => r.id), scanned: rows.length, cursor: rows.at(-1)?.id ?? null };
  }
  // Walks the source's records by local id (its unique index); an identity met twice is recomputed twice, harmlessly.
  const rows = await tx
    .select({ localId: sourceRecords.localId, identityId: links.identityId })
    .from(sourceRecords)
    .innerJoin(links, eq(links.recordId, sourceRecords.id))
    .where(
      and(
        eq(sourceRecords.sourceId, scope.sourceId),
        isNull(sourceRecords.deletedAt),
        cursor ? gt(sourceRecords.localId, cursor) : undefined,
      ),
    )
    .orderBy(asc(sourceRecords.localId))
    .limit(size);
  return { ids: [...new Set(rows.map((r) => r.identityId))], scanned: rows.length, cursor: rows.at(-1)?.localId ?? null };
}

interface BatchCounts {
  fieldsReprovenanced: number;
  valuesChanged: number;
  goldenChanged: number;
}

/**
 * Recomputes many identities' golden records in the caller's transaction, entirely in SQL: locks them (in id
 * order, as every other writer does), decides every field in one query into a temporary table, then closes the
 * provenance rows that no longer stand, opens their successors and rewrites the changed golden records, one
 * statement each. A merged identity, left without records, gets its open rows closed as `rebuildGolden` does.
 * Made for large batches (recomputes), where nothing should travel to the application; batch ingest uses
 * `rebuildGoldenMany`, which decides in TypeScript with fewer statements.
 */
export async function recomputeBatch(
  tx: Executor,
  identityIds: string[],
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null | undefined; actor?: string | undefined },
): Promise<BatchCounts & { identities: number }> {
  const { policy } = options;
  const runId = options.ingestRunId ?? null;
  const locked =
    identityIds.length === 0
      ? []
      : await tx
          .select({ id: identities.id })
          .from(identities)
          .where(inArray(identities.id, [...new Set(identityIds)]))
          .orderBy(asc(identities.id))
          .for('update');
  if (locked.length === 0) return { identities: 0, fieldsReprovenanced: 0, valuesChanged: 0, goldenChanged: 0 };
  const lockedIds = locked.map((r) => r.id);
  // The batch's sorts and aggregates fit in memory with room to spare; the default 4 MB would spill them to disk.
  await tx.execute(sql`set local work_mem = '64MB'`);
  const [{ now }] = (await queryRows<{ now: string }>(tx, sql`select ${PROVENANCE_CLOCK}::text as now`)) as [{ now: string }];
  const at = sql`${now}::timestamptz`;
  await tx.execute(sql`create temp table golden_decisions (
      identity_id uuid, field text, value text, record_id uuid, source_id uuid, rule text, competitors jsonb,
      open_id bigint, open_value text, open_rule text, changed boolean, value_changed boolean
    ) on commit drop`);
  await tx.execute(sql`insert into golden_decisions ${decisionsQuery(lockedIds, policy.rules)}`);
  // The rows to close go by primary key: a join from the temporary table would scan every open row.
  const [{ closing }] = (await queryRows<{ closing: Array<number | string> | null }>(
    tx,
    sql`
    select array_agg(open_id) as closing from golden_decisions where changed and open_id is not null`,
  )) as [{ closing: Array<number | string> | null }];
  if (closing && closing.length > 0) {
    await tx.execute(sql`update field_provenance set valid_to = ${at}
      where id = any(${sql.param(closing.map(String))}::bigint[]) and valid_to is null`);
  }
  await tx.execute(sql`insert into field_provenance
      (identity_id, field, value, record_id, source_id, rule, policy_version, competitors, ingest_run_id, valid_from)
    select identity_id, field, value, record_id, source_id, rule, ${policy.version}::int, competitors, ${runId}::uuid, ${at}
    from golden_decisions where changed`);
  const updated = await queryRows<{ id: string; version: number; fields: string[] }>(
    tx,
    sql`update identities i set golden = g.golden, version = i.version + 1, updated_at = ${at}
    from (
      select identity_id, jsonb_object_agg(field, value) as golden,
        array_agg(field order by field) filter (where changed and value_changed) as fields
      from golden_decisions group by identity_id having bool_or(changed and value_changed)
    ) g
    where i.id = g.identity_id and i.id = any(${sql.param(lockedIds)}::uuid[])
    returning i.id, i.version, g.fields`,
  );
  // Consumers learn of golden values a recompute changed as of any other change: in the same transaction.
  await recordChanges(
    tx,
    updated.map((row) => ({
      type: 'GOLDEN_RECORD_CHANGED' as const,
      actor: options.actor ?? 'system',
      identityId: row.id,
      data: { fields: row.fields },
      versions: { identity: row.version, policy: policy.version },
    })),
  );
  const [counts] = await queryRows<{ reprovenanced: number; values_changed: number; golden_changed: number }>(
    tx,
    sql`
    select count(*) filter (where changed)::int as reprovenanced,
      count(*) filter (where changed and value_changed)::int as values_changed,
      count(distinct identity_id) filter (where changed and value_changed)::int as golden_changed
    from golden_decisions`,
  );
  await tx.execute(sql`drop table golden_decisions`);
  return {
    identities: locked.length,
    fieldsReprovenanced: Number(counts?.reprovenanced ?? 0),
    valuesChanged: Number(counts?.values_changed ?? 0),
    goldenChanged: Number(counts?.golden_changed ?? 0),
  };
}

function countsOf(p: RecomputeProgress): Record<string, number> {
  return {
    batches: p.batches,
    scanned: p.scanned,
    total: p.total,
    identities: p.identities,
    fieldsReprovenanced: p.fieldsReprovenanced,
    valuesChanged: p.valuesChanged,
    goldenChanged: p.goldenChanged,
    elapsedMs: Math.round(p.elapsedMs),
  };
}

/**
 * Recomputes golden records and their provenance set-based, in batches, under the active policy. The work is
 * recorded as a run (job `survivorship.*`), whose counts show progress while it works and whose id every
 * provenance row it opens carries. Progress is logged (counts only) and reported to `onProgress`.
 */
export async function recomputeGolden(db: Executor, scope: RecomputeScope, options: RecomputeOptions = {}): Promise<RecomputeResult> {
  const started = performance.now();
  const job = options.job ?? (scope.kind === 'all' ? RECOMPUTE_JOBS.policy : RECOMPUTE_JOBS.source);
  const runId = options.runId ?? (await startIngestRun(db, { sourceId: scope.kind === 'source' ? scope.sourceId : null, job })).id;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_RECOMPUTE_BATCH);
  const progress: RecomputeProgress = {
    runId,
    batches: 0,
    scanned: 0,
    total: await scopeSize(db, scope),
    identities: 0,
    fieldsReprovenanced: 0,
    valuesChanged: 0,
    goldenChanged: 0,
    elapsedMs: 0,
  };
  let cursor: string | null = null;
  let status: FinalRunStatus = 'COMPLETED';
  let policyVersion = options.policyVersion ?? 0;
  let lastLog = started;
  try {
    await withSpan('lineage.recompute', { 'mpi.job': job, 'mpi.scope_size': progress.total }, async (span) => {
      for (;;) {
        // Every writer of provenance locks its identities first (in id order), so two rebuilds of one identity
        // run one after the other: only a deadlock or serialisation failure is left to retry.
        const step = await withTransaction(db, async (tx) => {
          const policy = await loadActivePolicy(tx);
          if (options.policyVersion !== undefined && policy.version !== options.policyVersion) return null;
          policyVersion = policy.version;
          const page = await nextPage(tx, scope, cursor, batchSize);
          const counts = await recomputeBatch(tx, page.ids, { policy, ingestRunId: runId });
          return { page, counts };
        });
        if (!step) {
          status = 'ABORTED';
          break;
        }
        if (step.page.scanned === 0) break;
        cursor = step.page.cursor;
        progress.batches += 1;
        progress.scanned += step.page.scanned;
        progress.identities += step.counts.identities;
        progress.fieldsReprovenanced += step.counts.fieldsReprovenanced;
        progress.valuesChanged += step.counts.valuesChanged;
        progress.goldenChanged += step.counts.goldenChanged;
        progress.elapsedMs = performance.now() - started;
        await updateIngestRunCounts(db, runId, countsOf(progress));
        options.onProgress?.({ ...progress });
        if (performance.now() - lastLog >= PROGRESS_LOG_INTERVAL_MS) {
          lastLog = performance.now();
          options.logger?.info({ runId, job, ...countsOf(progress) }, 'golden recompute progress');
        }
      }
      span.setAttribute('mpi.identities', progress.identities);
      span.setAttribute('mpi.fields_reprovenanced', progress.fieldsReprovenanced);
    });
  } catch (error) {
    progress.elapsedMs = performance.now() - started;
    options.logger?.error({ runId, job, ...errorFields(error), ...countsOf(progress) }, 'golden recompute failed');
    await finishIngestRun(
      db,
      runId,
      countsOf(progress),
      [{ code: 'RECOMPUTE_FAILED', message: 'recompute stopped by an unexpected error; see the service log' }],
      'FAILED',
    ).catch(() => undefined);
    throw error;
  }
  progress.elapsedMs = performance.now() - started;
  await finishIngestRun(db, runId, countsOf(progress), [], status);
  options.logger?.info({ runId, job, status, ...countsOf(progress) }, 'golden recompute finished');
  return { ...progress, status, policyVersion };
}

/**
 * Recomputes the golden records a source feeds, after its trust rank changed (trust decides source-priority
 * fields and breaks ties in every rule). The catalog calls this from `updateSource`.
 */
export function recomputeGoldenForSource(
  db: Executor,
  sourceId: string,
  options: Omit<RecomputeOptions, 'policyVersion'> = {},
): Promise<RecomputeResult> {
  return recomputeGolden(db, { kind: 'source', sourceId }, options);
}

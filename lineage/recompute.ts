import { recordChanges } from '../events/index.ts';
import { useWorkMem, type Executor } from '../platform/db/client.ts';
import { withTransaction } from '../platform/db/retry.ts';
import { withSpan } from '../platform/telemetry.ts';
import { lockIdentities, nextScopePage, scopeSize, writeDecisions, type DecisionCounts, type RecomputeScope } from './recompute-store.ts';
import { finishIngestRun, RECOMPUTE_JOBS, startIngestRun, updateIngestRunCounts, type FinalRunStatus } from './run-store.ts';
import { loadActivePolicy, provenanceClock } from './store.ts';
import type { SurvivorshipPolicy } from './survivorship.ts';
import { errorFields } from '../platform/logger.ts';

export type { RecomputeScope } from './recompute-store.ts';

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
): Promise<DecisionCounts & { identities: number }> {
  const { policy } = options;
  const lockedIds = await lockIdentities(tx, identityIds);
  if (lockedIds.length === 0) return { identities: 0, fieldsReprovenanced: 0, valuesChanged: 0, goldenChanged: 0 };
  // The batch's sorts and aggregates fit in memory with room to spare; the default 4 MB would spill them to disk.
  await useWorkMem(tx, '64MB');
  const at = await provenanceClock(tx);
  const { updated, counts } = await writeDecisions(tx, lockedIds, {
    rules: policy.rules,
    policyVersion: policy.version,
    ingestRunId: options.ingestRunId ?? null,
    at,
  });
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
  return { identities: lockedIds.length, ...counts };
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
          const page = await nextScopePage(tx, scope, cursor, batchSize);
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

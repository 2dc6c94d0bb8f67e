import { randomUUID } from 'node:crypto';
import { recordChanges } from '../events/index.ts';
import { useWorkMem, type Database, type Executor } from '../platform/db/client.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { startElectedJob, type ElectedJob } from '../platform/lease.ts';
import type { Logger } from '../platform/logger.ts';
import { withSpan } from '../platform/telemetry.ts';
import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';
import { buildMeasurements, type QualityInputs } from './quality-measures.ts';
import { QUALITY_METRICS, QUALITY_METRIC_NAMES, fieldScope, isQualityMetric, type Measurement } from './quality-metrics.ts';
import { identityClusters, ingestOutcomes, profileSources, recordsInOpenPairs, reviewBacklog } from './quality-queries.ts';
import * as store from './quality-store.ts';
import type { QualityMeasurementRow, QualityRunRow } from './quality-store.ts';
import { DEFAULT_THRESHOLDS, isBreached, resolveThreshold, targetOf, type ThresholdRule } from './quality-thresholds.ts';
import { findSourceByCode } from './source-store.ts';

/** How far back "recent ingests" reach for the auto-link / review / new shares. */
export const DEFAULT_INGEST_WINDOW_DAYS = 7;
const DAY_MS = 86_400_000;
const MAX_SERIES_POINTS = 10_000;

export interface QualityOptions {
  /** Threshold rules, most specific wins; defaults to DEFAULT_THRESHOLDS. */
  thresholds?: readonly ThresholdRule[];
  ingestWindowDays?: number;
  trigger?: 'MANUAL' | 'SCHEDULE';
}

export interface QualityRunResult {
  run: QualityRunRow;
  measurements: QualityMeasurementRow[];
}

/**
 * Memory for the measurement's sorts and hashes (per operation): the index-wide aggregations group a row per
 * record or identity, and the 4MB default would spill them to disk.
 */
export const MEASUREMENT_WORK_MEM = '128MB' as const;

/** Runs every metric query against one consistent snapshot; `at` is the run's clock. */
async function collectInputs(db: Database, at: Date, since: Date): Promise<QualityInputs> {
  const today = at.toISOString().slice(0, 10);
  return db.transaction(
    async (tx) => {
      await useWorkMem(tx, MEASUREMENT_WORK_MEM);
      return {
        profiles: await withSpan('quality.profile', {}, () => profileSources(tx, today)),
        pairRecords: await withSpan('quality.duplicates', {}, () => recordsInOpenPairs(tx)),
        backlog: await withSpan('quality.backlog', {}, () => reviewBacklog(tx)),
        clusters: await withSpan('quality.clusters', {}, () => identityClusters(tx)),
        ingest: await withSpan('quality.ingest', {}, () => ingestOutcomes(tx, since)),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** Attaches the governing threshold and the breach flag to each measurement. */
export function judge(
  measurements: Measurement[],
  rules: readonly ThresholdRule[],
  runId: string,
  at: Date,
): store.NewQualityMeasurement[] {
  return measurements.map((m) => {
    const threshold = resolveThreshold(rules, targetOf(m));
    return { ...m, runId, measuredAt: at, threshold, breached: isBreached(m.metric, m.value, threshold) };
  });
}

/** Measures every quality metric and stores the results as one run of the time series. */
export async function measureQuality(db: Database, options: QualityOptions = {}): Promise<QualityRunResult> {
  const trigger = options.trigger ?? 'MANUAL';
  return withSpan('quality.measure', { 'quality.trigger': trigger }, async (span) => {
    const run = await store.insertRun(db, trigger);
    try {
      const since = new Date(run.startedAt.getTime() - (options.ingestWindowDays ?? DEFAULT_INGEST_WINDOW_DAYS) * DAY_MS);
      const inputs = await collectInputs(db, run.startedAt, since);
      const rows = judge(buildMeasurements(inputs), options.thresholds ?? DEFAULT_THRESHOLDS, run.id, run.startedAt);
      // The breach events commit with the measurements that show them.
      await db.transaction(async (tx) => {
        await store.insertMeasurements(tx, rows);
        await recordChanges(
          tx,
          rows
            .filter((r) => r.breached)
            .map((r) => ({
              type: 'QUALITY_THRESHOLD_BREACHED',
              actor: trigger === 'SCHEDULE' ? 'system:quality-schedule' : 'system:quality',
              data: { runId: run.id, metric: r.metric, scopeKind: r.scopeKind, scope: r.scope, value: r.value, threshold: r.threshold },
            })),
        );
      });
      span.setAttributes({ 'quality.measurements': rows.length, 'quality.breaches': rows.filter((r) => r.breached).length });
      return { run: await store.finishRun(db, run.id, 'SUCCEEDED'), measurements: await store.measurementsOfRun(db, run.id) };
    } catch (error) {
      await store.finishRun(db, run.id, 'FAILED').catch(() => undefined);
      throw error;
    }
  });
}

export interface SeriesArgs {
  scope?: string | null | undefined;
  metric?: string | null | undefined;
  from?: Date | null | undefined;
  to?: Date | null | undefined;
  limit?: number | null | undefined;
}

/** A metric's time series between two instants (inclusive), oldest first, at most `limit` newest points. */
export async function qualitySeries(db: Executor, args: SeriesArgs): Promise<QualityMeasurementRow[]> {
  if (args.metric && !isQualityMetric(args.metric)) throw ValidationError.of('metric', 'UNKNOWN_METRIC', 'is not a quality metric');
  if (args.from && args.to && args.from > args.to) throw ValidationError.of('from', 'INVALID_RANGE', 'must not be after to');
  const limit = args.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SERIES_POINTS) {
    throw ValidationError.of('limit', 'OUT_OF_RANGE', `must be between 1 and ${MAX_SERIES_POINTS}`);
  }
  return store.measurementSeries(db, {
    scope: args.scope ?? undefined,
    metric: args.metric ?? undefined,
    from: args.from ?? undefined,
    to: args.to ?? undefined,
    limit,
  });
}

export interface Scorecard {
  source: string;
  measuredAt: Date | null;
  /** Source-level and per-field points of the latest run that measured the source. */
  measurements: QualityMeasurementRow[];
}

/** The latest quality values for one source and each of its canonical fields. */
export async function qualityScorecard(db: Executor, source: string): Promise<Scorecard> {
  if (!(await findSourceByCode(db, source))) throw new NotFoundError('source', 'source');
  const at = await store.lastMeasuredAt(db, 'record_count', source);
  if (!at) return { source, measuredAt: null, measurements: [] };
  const pairs = [
    ...QUALITY_METRIC_NAMES.filter((m) => (QUALITY_METRICS[m].scopes as readonly string[]).includes('SOURCE')).map((metric) => ({
      metric,
      scope: source,
    })),
    ...CANONICAL_FIELD_SPECS.flatMap((f) => ['completeness', 'validity'].map((metric) => ({ metric, scope: fieldScope(source, f.name) }))),
  ];
  return { source, measuredAt: at, measurements: await store.measurementsAt(db, at, pairs) };
}

export async function findQualityRun(db: Executor, id: string): Promise<QualityRunResult | null> {
  const run = await store.findRun(db, id);
  return run ? { run, measurements: await store.measurementsOfRun(db, id) } : null;
}

export type QualitySchedule = ElectedJob;

/** The lease that elects the replica measuring quality on schedule. */
export const QUALITY_SCHEDULE_LEASE = 'quality-schedule';

/**
 * Measures quality every `minutes` (0 disables it) on exactly one replica: the holder of the
 * `quality-schedule` lease (see `startElectedJob`). A run is never started while the previous one is still
 * going, and failures are logged without patient data.
 */
export function startQualitySchedule(
  db: Database,
  minutes: number,
  logger: Logger,
  options: Omit<QualityOptions, 'trigger'> & { holder?: string; leaseMs?: number } = {},
): QualitySchedule {
  const { holder = randomUUID(), leaseMs = 15_000, ...quality } = options;
  if (minutes <= 0) return { name: QUALITY_SCHEDULE_LEASE, isLeader: false, stop: () => Promise.resolve() };
  return startElectedJob(db, {
    name: QUALITY_SCHEDULE_LEASE,
    holder,
    everyMs: minutes * 60_000,
    leaseMs,
    logger,
    job: async () => {
      const { run, measurements } = await measureQuality(db, { ...quality, trigger: 'SCHEDULE' });
      logger.info(
        { runId: run.id, measurements: measurements.length, breaches: measurements.filter((m) => m.breached).length },
        'quality measured',
      );
    },
  });
}

import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';
import { INDEX_SCOPE, fieldScope, type Measurement, type QualityMetricName, type ScopeKind } from './quality-metrics.ts';
import type { BacklogRow, ClusterRow, IngestOutcomeRow, SourceProfileRow } from './quality-queries.ts';

/** Everything the metric queries returned for one run. */
export interface QualityInputs {
  profiles: SourceProfileRow[];
  pairRecords: Array<{ source: string; records: number }>;
  backlog: BacklogRow;
  clusters: ClusterRow;
  ingest: IngestOutcomeRow[];
}

type Scope = { kind: ScopeKind; scope: string };
const INDEX: Scope = { kind: 'INDEX', scope: INDEX_SCOPE };

function ratio(metric: QualityMetricName, at: Scope, numerator: number, denominator: number): Measurement[] {
  // A ratio over nothing is undefined, not 0 or 1: record no point rather than a misleading one.
  if (denominator <= 0) return [];
  return [{ metric, scopeKind: at.kind, scope: at.scope, value: numerator / denominator, numerator, denominator }];
}

function amount(metric: QualityMetricName, at: Scope, value: number): Measurement[] {
  return [{ metric, scopeKind: at.kind, scope: at.scope, value, numerator: null, denominator: null }];
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function fieldMeasurements(p: SourceProfileRow): Measurement[] {
  return CANONICAL_FIELD_SPECS.flatMap((f) => {
    const at: Scope = { kind: 'FIELD', scope: fieldScope(p.source, f.name) };
    const present = p.present[f.name] ?? 0;
    const completeness = ratio('completeness', at, present, p.records);
    return f.validity ? [...completeness, ...ratio('validity', at, p.valid[f.name] ?? 0, present)] : completeness;
  });
}

function sourceMeasurements(p: SourceProfileRow, pairRecords: number): Measurement[] {
  const at: Scope = { kind: 'SOURCE', scope: p.source };
  const core = CANONICAL_FIELD_SPECS.filter((f) => f.core);
  const ruled = CANONICAL_FIELD_SPECS.filter((f) => f.validity);
  return [
    ...amount('record_count', at, p.records),
    ...ratio('completeness', at, sum(core.map((f) => p.present[f.name] ?? 0)), p.records * core.length),
    ...ratio('validity', at, sum(ruled.map((f) => p.valid[f.name] ?? 0)), sum(ruled.map((f) => p.present[f.name] ?? 0))),
    ...ratio('uniqueness', at, p.distinctLocalIds, p.records),
    ...(p.freshnessHours === null ? [] : amount('freshness_hours', at, Math.max(0, p.freshnessHours))),
    ...ratio('duplicate_rate', at, pairRecords, p.records),
  ];
}

function ingestMeasurements(at: Scope, row: Omit<IngestOutcomeRow, 'source'>): Measurement[] {
  return [
    ...ratio('auto_link_share', at, row.autoLinked, row.received),
    ...ratio('review_share', at, row.review, row.received),
    ...ratio('new_identity_share', at, row.created, row.received),
  ];
}

function indexMeasurements(inputs: QualityInputs): Measurement[] {
  const { clusters: c, backlog } = inputs;
  const records = sum(inputs.profiles.map((p) => p.records));
  const ingest = inputs.ingest;
  return [
    ...amount('record_count', INDEX, records),
    ...amount('identity_count', INDEX, c.identities),
    ...ratio('duplicate_rate', INDEX, sum(inputs.pairRecords.map((p) => p.records)), records),
    ...amount('duplicate_backlog', INDEX, backlog.open),
    ...amount('duplicate_backlog_max_age_days', INDEX, backlog.maxAgeDays),
    ...amount('duplicate_backlog_median_age_days', INDEX, backlog.medianAgeDays),
    ...ratio('overlay_suspect_rate', INDEX, c.overlaySuspects, c.identities),
    ...ratio('overlap_rate', INDEX, c.multiSource, c.identities),
    ...ratio('records_per_identity', INDEX, c.records, c.identities),
    ...ratio('cluster_size_1', INDEX, c.size1, c.identities),
    ...ratio('cluster_size_2', INDEX, c.size2, c.identities),
    ...ratio('cluster_size_3_5', INDEX, c.size3to5, c.identities),
    ...ratio('cluster_size_6_10', INDEX, c.size6to10, c.identities),
    ...ratio('cluster_size_over_10', INDEX, c.sizeOver10, c.identities),
    ...amount('cluster_size_max', INDEX, c.maxSize),
    ...ingestMeasurements(INDEX, {
      received: sum(ingest.map((r) => r.received)),
      autoLinked: sum(ingest.map((r) => r.autoLinked)),
      review: sum(ingest.map((r) => r.review)),
      created: sum(ingest.map((r) => r.created)),
    }),
  ];
}

/** Turns the aggregates of one run into measurements: index-wide, per source, and per source field. */
export function buildMeasurements(inputs: QualityInputs): Measurement[] {
  const pairsBySource = new Map(inputs.pairRecords.map((p) => [p.source, p.records]));
  const ingestBySource = new Map(inputs.ingest.map((r) => [r.source, r]));
  const perSource = inputs.profiles.flatMap((p) => {
    const ingest = ingestBySource.get(p.source);
    return [
      ...sourceMeasurements(p, pairsBySource.get(p.source) ?? 0),
      ...(ingest ? ingestMeasurements({ kind: 'SOURCE', scope: p.source }, ingest) : []),
      ...fieldMeasurements(p),
    ];
  });
  return [...indexMeasurements(inputs), ...perSource];
}

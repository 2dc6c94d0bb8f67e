import { scopeKind } from '../platform/db/schema/index.ts';

/** What a measurement covers: the whole index, one source, or one field of one source (the column's enum). */
export const SCOPE_KINDS = scopeKind.enumValues;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** Which way a metric improves; thresholds are a floor for `higher` and a ceiling for `lower`. */
export type Direction = 'higher' | 'lower' | 'none';

export interface MetricDefinition {
  description: string;
  unit: 'ratio' | 'count' | 'hours' | 'days' | 'records';
  direction: Direction;
  scopes: readonly ScopeKind[];
}

/**
 * Every metric `measureQuality` records. Ratios are 0..1 with their numerator and denominator stored beside
 * them, so a trend can be re-aggregated. The index-wide duplicate rate follows AHIMA's MPI definition.
 */
export const QUALITY_METRICS = {
  record_count: { description: 'Active (not deleted) source records.', unit: 'records', direction: 'none', scopes: ['INDEX', 'SOURCE'] },
  identity_count: {
    description: 'Active identities with at least one active record.',
    unit: 'count',
    direction: 'none',
    scopes: ['INDEX'],
  },
  completeness: {
    description: 'Share of active records with the field present; for a source, over its core matching fields.',
    unit: 'ratio',
    direction: 'higher',
    scopes: ['SOURCE', 'FIELD'],
  },
  validity: {
    description: "Share of present values that pass the field's validity rule; for a source, over all rule fields.",
    unit: 'ratio',
    direction: 'higher',
    scopes: ['SOURCE', 'FIELD'],
  },
  uniqueness: {
    description: 'Distinct local ids (ignoring case and surrounding spaces) per active record.',
    unit: 'ratio',
    direction: 'higher',
    scopes: ['SOURCE'],
  },
  freshness_hours: {
    description: 'Hours since the source last sent or changed one of its active records.',
    unit: 'hours',
    direction: 'lower',
    scopes: ['SOURCE'],
  },
  duplicate_rate: {
    description: 'Active records in open review items (possible duplicate pairs) per active record (AHIMA).',
    unit: 'ratio',
    direction: 'lower',
    scopes: ['INDEX', 'SOURCE'],
  },
  duplicate_backlog: {
    description: 'Open review items (possible duplicates awaiting a steward).',
    unit: 'count',
    direction: 'lower',
    scopes: ['INDEX'],
  },
  duplicate_backlog_max_age_days: {
    description: 'Age of the oldest open review item, in days.',
    unit: 'days',
    direction: 'lower',
    scopes: ['INDEX'],
  },
  duplicate_backlog_median_age_days: {
    description: 'Median age of the open review items, in days.',
    unit: 'days',
    direction: 'lower',
    scopes: ['INDEX'],
  },
  overlay_suspect_rate: {
    description: 'Identities whose active records conflict on birth date or sex (possible overlays) per identity.',
    unit: 'ratio',
    direction: 'lower',
    scopes: ['INDEX'],
  },
  overlap_rate: {
    description: 'Identities with active records from two or more sources per identity.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX'],
  },
  records_per_identity: {
    description: 'Mean active records linked to an identity.',
    unit: 'records',
    direction: 'none',
    scopes: ['INDEX'],
  },
  cluster_size_1: {
    description: 'Share of identities with exactly one active record.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX'],
  },
  cluster_size_2: { description: 'Share of identities with two active records.', unit: 'ratio', direction: 'none', scopes: ['INDEX'] },
  cluster_size_3_5: {
    description: 'Share of identities with three to five active records.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX'],
  },
  cluster_size_6_10: {
    description: 'Share of identities with six to ten active records.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX'],
  },
  cluster_size_over_10: {
    description: 'Share of identities with more than ten active records (a sign of over-linking).',
    unit: 'ratio',
    direction: 'lower',
    scopes: ['INDEX'],
  },
  cluster_size_max: { description: 'Active records of the largest identity.', unit: 'records', direction: 'lower', scopes: ['INDEX'] },
  auto_link_share: {
    description: 'Share of recently received records the matcher linked automatically.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX', 'SOURCE'],
  },
  review_share: {
    description: 'Share of recently received records sent to steward review.',
    unit: 'ratio',
    direction: 'lower',
    scopes: ['INDEX', 'SOURCE'],
  },
  new_identity_share: {
    description: 'Share of recently received records that started a new identity.',
    unit: 'ratio',
    direction: 'none',
    scopes: ['INDEX', 'SOURCE'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type QualityMetricName = keyof typeof QUALITY_METRICS;
export const QUALITY_METRIC_NAMES = Object.keys(QUALITY_METRICS) as QualityMetricName[];

/** The scope string of the whole index. */
export const INDEX_SCOPE = '*';

/** One value of one metric at one scope, before it is stored. */
export interface Measurement {
  metric: QualityMetricName;
  scopeKind: ScopeKind;
  /** '*' for the index, a source code, or `source.field`. */
  scope: string;
  value: number;
  numerator: number | null;
  denominator: number | null;
}

export function isQualityMetric(name: string): name is QualityMetricName {
  return Object.hasOwn(QUALITY_METRICS, name);
}

/** The scope string of one field of one source. */
export function fieldScope(source: string, field: string): string {
  return `${source}.${field}`;
}

import { ValidationError } from '../platform/errors.ts';
import { QUALITY_METRICS, isQualityMetric, type Measurement, type QualityMetricName, type ScopeKind } from './quality-metrics.ts';

/**
 * A threshold for a metric, optionally narrowed to a scope kind, a source and a field. The most specific
 * matching rule wins; among equally specific rules the later one does, so configured rules override defaults.
 * `threshold: null` switches a default off.
 */
export interface ThresholdRule {
  metric: QualityMetricName;
  scopeKind?: ScopeKind | undefined;
  source?: string | undefined;
  field?: string | undefined;
  threshold: number | null;
}

/** AHIMA's target for an MPI's duplicate rate: 1% or less (AHIMA, "Fundamentals for Building a Master Patient Index"). */
export const AHIMA_DUPLICATE_RATE_TARGET = 0.01;
/** A daily feed that has missed two runs. */
const STALE_FEED_HOURS = 48;
/** Review items older than a month mean the stewards are not keeping up. */
const BACKLOG_MAX_AGE_DAYS = 30;
/** Birth date and names drive blocking and scoring; a feed that omits them for more than 2% weakens matching. */
const MATCHING_FIELD_COMPLETENESS = 0.98;

export const DEFAULT_THRESHOLDS: readonly ThresholdRule[] = [
  { metric: 'duplicate_rate', threshold: AHIMA_DUPLICATE_RATE_TARGET },
  // Every overlay mixes two people's charts, a patient-safety risk: any suspect deserves a look.
  { metric: 'overlay_suspect_rate', threshold: 0 },
  { metric: 'duplicate_backlog_max_age_days', threshold: BACKLOG_MAX_AGE_DAYS },
  { metric: 'freshness_hours', threshold: STALE_FEED_HOURS },
  { metric: 'uniqueness', threshold: 1 },
  { metric: 'validity', threshold: 0.98 },
  { metric: 'completeness', scopeKind: 'SOURCE', threshold: 0.9 },
  { metric: 'completeness', scopeKind: 'FIELD', field: 'givenName', threshold: MATCHING_FIELD_COMPLETENESS },
  { metric: 'completeness', scopeKind: 'FIELD', field: 'familyName', threshold: MATCHING_FIELD_COMPLETENESS },
  { metric: 'completeness', scopeKind: 'FIELD', field: 'birthDate', threshold: MATCHING_FIELD_COMPLETENESS },
];

/** What a measurement is about, for threshold lookup. */
export interface MeasurementTarget {
  metric: QualityMetricName;
  scopeKind: ScopeKind;
  source: string | null;
  field: string | null;
}

function specificity(rule: ThresholdRule): number {
  return (rule.scopeKind ? 1 : 0) + (rule.source ? 2 : 0) + (rule.field ? 2 : 0);
}

function applies(rule: ThresholdRule, target: MeasurementTarget): boolean {
  return (
    rule.metric === target.metric &&
    (rule.scopeKind === undefined || rule.scopeKind === target.scopeKind) &&
    (rule.source === undefined || rule.source === target.source) &&
    (rule.field === undefined || rule.field === target.field)
  );
}

/** The threshold that governs one measurement, or null when none does. */
export function resolveThreshold(rules: readonly ThresholdRule[], target: MeasurementTarget): number | null {
  let best: ThresholdRule | null = null;
  for (const rule of rules) {
    if (applies(rule, target) && (best === null || specificity(rule) >= specificity(best))) best = rule;
  }
  return best?.threshold ?? null;
}

/** True when the value is on the wrong side of the threshold for the metric's direction. */
export function isBreached(metric: QualityMetricName, value: number, threshold: number | null): boolean {
  if (threshold === null) return false;
  const direction = QUALITY_METRICS[metric].direction;
  if (direction === 'higher') return value < threshold;
  if (direction === 'lower') return value > threshold;
  return false;
}

/** Splits a measurement's scope into its source and field. */
export function targetOf(m: Measurement): MeasurementTarget {
  if (m.scopeKind === 'INDEX') return { metric: m.metric, scopeKind: m.scopeKind, source: null, field: null };
  if (m.scopeKind === 'SOURCE') return { metric: m.metric, scopeKind: m.scopeKind, source: m.scope, field: null };
  const dot = m.scope.indexOf('.');
  return { metric: m.metric, scopeKind: m.scopeKind, source: m.scope.slice(0, dot), field: m.scope.slice(dot + 1) };
}

/** Checks configured rules (e.g. from MPI_QUALITY_THRESHOLDS) name known metrics and have a direction. */
export function validateThresholdRules(rules: ReadonlyArray<Omit<ThresholdRule, 'metric'> & { metric: string }>): ThresholdRule[] {
  return rules.map((rule, i) => {
    if (!isQualityMetric(rule.metric)) {
      throw ValidationError.of(`thresholds.${i}.metric`, 'UNKNOWN_METRIC', 'is not a quality metric');
    }
    if (rule.threshold !== null && QUALITY_METRICS[rule.metric].direction === 'none') {
      throw ValidationError.of(`thresholds.${i}.metric`, 'NO_DIRECTION', 'is descriptive and takes no threshold');
    }
    return { ...rule, metric: rule.metric };
  });
}

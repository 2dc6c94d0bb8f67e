import { describe, expect, test } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  isBreached,
  resolveThreshold,
  targetOf,
  validateThresholdRules,
  type ThresholdRule,
} from './quality-thresholds.ts';
import type { QualityMetricName, ScopeKind } from './quality-metrics.ts';

const rules: ThresholdRule[] = [
  { metric: 'completeness', threshold: 0.5 },
  { metric: 'completeness', scopeKind: 'FIELD', threshold: 0.8 },
  { metric: 'completeness', scopeKind: 'FIELD', field: 'birthDate', threshold: 0.95 },
  { metric: 'completeness', source: 'LAB1', field: 'birthDate', threshold: 0.6 },
  { metric: 'completeness', scopeKind: 'FIELD', threshold: 0.85 },
  { metric: 'freshness_hours', source: 'BATCH', threshold: null },
  { metric: 'freshness_hours', threshold: 48 },
];

describe('threshold resolution', () => {
  test.each<[QualityMetricName, ScopeKind, string | null, string | null, number | null]>([
    ['completeness', 'SOURCE', 'EHR1', null, 0.5], // only the metric-wide rule applies
    ['completeness', 'FIELD', 'EHR1', 'city', 0.85], // equally specific: the later rule overrides
    ['completeness', 'FIELD', 'EHR1', 'birthDate', 0.95], // a field rule beats a scope-kind rule
    ['completeness', 'FIELD', 'LAB1', 'birthDate', 0.6], // source and field beat field alone
    ['freshness_hours', 'SOURCE', 'BATCH', null, null], // a null threshold switches a rule off for one source
    ['freshness_hours', 'SOURCE', 'EHR1', null, 48],
    ['duplicate_rate', 'INDEX', null, null, null], // no rule at all
  ])('resolves %s at %s %s.%s to %s', (metric, scopeKind, source, field, expected) => {
    expect(resolveThreshold(rules, { metric, scopeKind, source, field })).toBe(expected);
  });

  test('defaults hold the duplicate rate to the AHIMA target of 1%', () => {
    expect(resolveThreshold(DEFAULT_THRESHOLDS, { metric: 'duplicate_rate', scopeKind: 'INDEX', source: null, field: null })).toBe(0.01);
  });
});

describe('breach detection', () => {
  test.each<[QualityMetricName, number, number | null, boolean]>([
    ['duplicate_rate', 0.011, 0.01, true], // lower is better: above the ceiling breaches
    ['duplicate_rate', 0.01, 0.01, false], // meeting the target is not a breach
    ['completeness', 0.97, 0.98, true], // higher is better: below the floor breaches
    ['completeness', 0.98, 0.98, false],
    ['overlay_suspect_rate', 0.0001, 0, true],
    ['records_per_identity', 99, 1, false], // descriptive metrics never breach
    ['duplicate_rate', 0.5, null, false],
  ])('%s of %d against %s breaches: %s', (metric, value, threshold, expected) => {
    expect(isBreached(metric, value, threshold)).toBe(expected);
  });
});

describe('threshold configuration', () => {
  test('splits a field scope into source and field for lookup', () => {
    expect(targetOf({ metric: 'validity', scopeKind: 'FIELD', scope: 'EHR1.birthDate', value: 1, numerator: 1, denominator: 1 })).toEqual({
      metric: 'validity',
      scopeKind: 'FIELD',
      source: 'EHR1',
      field: 'birthDate',
    });
  });

  test('rejects a rule for an unknown metric, naming its position', () => {
    expect(() => validateThresholdRules([{ metric: 'duplicate_rte', threshold: 0.01 }])).toThrow(
      expect.objectContaining({ field: 'thresholds.0.metric' }),
    );
  });

  test('rejects a threshold on a descriptive metric that has no better direction', () => {
    expect(() => validateThresholdRules([{ metric: 'overlap_rate', threshold: 0.5 }])).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});

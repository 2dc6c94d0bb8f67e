import { describe, expect, test } from 'vitest';
import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';
import { buildMeasurements, type QualityInputs } from './quality-measures.ts';

const zeroFields = Object.fromEntries(CANONICAL_FIELD_SPECS.map((f) => [f.name, 0]));
const emptyIndex: QualityInputs = {
  profiles: [],
  pairRecords: [],
  backlog: { open: 0, maxAgeDays: 0, medianAgeDays: 0 },
  clusters: {
    identities: 0,
    records: 0,
    multiSource: 0,
    overlaySuspects: 0,
    size1: 0,
    size2: 0,
    size3to5: 0,
    size6to10: 0,
    sizeOver10: 0,
    maxSize: 0,
  },
  ingest: [],
};

describe('turning aggregates into measurements', () => {
  test('an empty index reports its counts but no ratio over nothing', () => {
    const metrics = buildMeasurements(emptyIndex).map((m) => m.metric);
    expect(metrics).toEqual(expect.arrayContaining(['record_count', 'identity_count', 'duplicate_backlog', 'cluster_size_max']));
    expect(metrics).not.toContain('duplicate_rate');
    expect(metrics).not.toContain('records_per_identity');
    expect(metrics).not.toContain('review_share');
  });

  test('sums sources into the index-wide duplicate rate', () => {
    const profile = (source: string, records: number) => ({
      source,
      records,
      distinctLocalIds: records,
      freshnessHours: 1,
      present: zeroFields,
      valid: zeroFields,
    });
    const measurements = buildMeasurements({
      ...emptyIndex,
      profiles: [profile('A', 60), profile('B', 40)],
      pairRecords: [
        { source: 'A', records: 3 },
        { source: 'B', records: 1 },
      ],
    });
    const rate = (scope: string) => measurements.find((m) => m.metric === 'duplicate_rate' && m.scope === scope);
    expect(rate('*')).toMatchObject({ value: 0.04, numerator: 4, denominator: 100 });
    expect(rate('A')).toMatchObject({ value: 0.05, numerator: 3, denominator: 60 });
    expect(rate('B')).toMatchObject({ value: 0.025, numerator: 1, denominator: 40 });
  });

  test('clamps freshness at zero when a record is stamped slightly in the future', () => {
    const measurements = buildMeasurements({
      ...emptyIndex,
      profiles: [{ source: 'A', records: 1, distinctLocalIds: 1, freshnessHours: -0.001, present: zeroFields, valid: zeroFields }],
    });
    expect(measurements.find((m) => m.metric === 'freshness_hours')?.value).toBe(0);
  });
});

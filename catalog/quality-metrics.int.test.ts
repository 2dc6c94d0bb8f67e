import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_DB_KIND, openTestDatabase } from '../test/db.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { measureQuality, qualityScorecard, qualitySeries, type QualityRunResult } from './quality-service.ts';
import { DEFAULT_THRESHOLDS } from './quality-thresholds.ts';
import { seedQualityFixture } from './testing/quality-fixture.ts';

/** [metric, scope, numerator, denominator]; value is numerator / denominator. Worked out from the fixture. */
const RATIOS: Array<[string, string, number, number]> = [
  // Index: 8 active records (5 EHR1 + 3 LAB1) in 5 identities of sizes 2, 2, 1, 2, 1.
  ['duplicate_rate', '*', 5, 8], // a1, b1 (record-match candidate), a5 (incoming), a3, b3 (duplicate pair)
  ['overlay_suspect_rate', '*', 2, 5], // I2: two different full birth dates; I4: birth years 1975 and 1900
  ['overlap_rate', '*', 2, 5], // I1 and I2 hold records of both sources
  ['records_per_identity', '*', 8, 5],
  ['cluster_size_1', '*', 2, 5],
  ['cluster_size_2', '*', 3, 5],
  ['cluster_size_3_5', '*', 0, 5],
  ['cluster_size_over_10', '*', 0, 5],
  ['auto_link_share', '*', 1, 6], // six EHR1 records (one since deleted) received this week: a2 auto-linked,
  ['review_share', '*', 1, 6], // a5 sent to review,
  ['new_identity_share', '*', 3, 6], // a1, a3, a4 created identities, a6 was linked by hand
  // EHR1 as a source.
  ['completeness', 'EHR1', 30, 35], // core fields: given 4 + family 4 + sex 5 + birth 5 + phone 4 + address 3 + ZIP 5
  ['validity', 'EHR1', 18, 30], // sex 4/5, birth 2/5, SSN 1/4, phone 3/4, email 2/3, state 3/4, ZIP 3/5
  ['uniqueness', 'EHR1', 4, 5], // "A-1" and "a-1 " are one local id
  ['duplicate_rate', 'EHR1', 3, 5],
  ['auto_link_share', 'EHR1', 1, 6],
  // EHR1 fields.
  ['completeness', 'EHR1.givenName', 4, 5], // a3's given name is blank
  ['completeness', 'EHR1.middleName', 0, 5],
  ['completeness', 'EHR1.familyName', 4, 5],
  ['completeness', 'EHR1.city', 1, 5],
  ['completeness', 'EHR1.phone', 4, 5], // a4's phone is an empty string
  ['validity', 'EHR1.sex', 4, 5], // F, M, male, U pass; Q fails
  ['validity', 'EHR1.birthDate', 2, 5], // 1980-02-29 and 1975 pass; 2100 (future), 1981-02-29, 1900-01-01 fail
  ['validity', 'EHR1.ssn', 1, 4], // only 536-22-1234; 078-05-1120, 123456789, 111-11-1111 are fillers
  ['validity', 'EHR1.phone', 3, 4], // NANP x2 and +44 pass; a 7-digit number fails
  ['validity', 'EHR1.email', 2, 3], // bob@@x.com fails
  ['validity', 'EHR1.state', 3, 4], // CA, ny, TX pass; ZZ fails
  ['validity', 'EHR1.postalCode', 3, 5], // 9411 and 00000 fail
  // LAB1: three clean records, only names, sex and birth date sent.
  ['completeness', 'LAB1', 12, 21],
  ['validity', 'LAB1', 6, 6],
  ['uniqueness', 'LAB1', 3, 3],
  ['duplicate_rate', 'LAB1', 2, 3],
  ['completeness', 'LAB1.ssn', 0, 3],
];

/** [metric, scope, value] for counts, ages and durations. */
const AMOUNTS: Array<[string, string, number]> = [
  ['record_count', '*', 8],
  ['identity_count', '*', 5],
  ['duplicate_backlog', '*', 2],
  ['duplicate_backlog_max_age_days', '*', 10],
  ['duplicate_backlog_median_age_days', '*', 6],
  ['cluster_size_max', '*', 2],
  ['record_count', 'EHR1', 5],
  ['freshness_hours', 'EHR1', 5], // active records changed five hours ago; the later deletion does not count
  ['freshness_hours', 'LAB1', 10],
  ['record_count', 'EMPTY', 0],
];

describe(`quality metrics on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  let result: QualityRunResult;
  const point = (metric: string, scope: string) => result.measurements.find((m) => m.metric === metric && m.scope === scope);

  beforeAll(async () => {
    handle = await openTestDatabase();
    await seedQualityFixture(handle.db);
    result = await measureQuality(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  test('stores a finished run whose points all share its instant', () => {
    expect(result.run.status).toBe('SUCCEEDED');
    expect(result.run.finishedAt).not.toBeNull();
    expect(new Set(result.measurements.map((m) => m.measuredAt.getTime()))).toEqual(new Set([result.run.startedAt.getTime()]));
  });

  test.each(RATIOS)('measures %s of %s as %i / %i', (metric, scope, numerator, denominator) => {
    const m = point(metric, scope);
    expect(m, `${metric} ${scope}`).toBeDefined();
    expect(m!.numerator).toBe(numerator);
    expect(m!.denominator).toBe(denominator);
    expect(m!.value).toBeCloseTo(numerator / denominator, 10);
  });

  test.each(AMOUNTS)('measures %s of %s as %d', (metric, scope, value) => {
    expect(point(metric, scope)?.value).toBeCloseTo(value, 1);
  });

  test('records no ratio over an empty denominator and skips inactive sources without records', () => {
    expect(point('completeness', 'EMPTY')).toBeUndefined();
    expect(point('validity', 'LAB1.ssn')).toBeUndefined();
    expect(point('auto_link_share', 'LAB1')).toBeUndefined();
    expect(result.measurements.filter((m) => m.scope === 'OLD' || m.scope.startsWith('OLD.'))).toEqual([]);
  });

  test.each([
    ['duplicate_rate', '*', 0.01, true],
    ['overlay_suspect_rate', '*', 0, true],
    ['duplicate_backlog_max_age_days', '*', 30, false],
    ['uniqueness', 'EHR1', 1, true],
    ['uniqueness', 'LAB1', 1, false],
    ['freshness_hours', 'EHR1', 48, false],
    ['completeness', 'EHR1.birthDate', 0.98, false],
    ['completeness', 'EHR1.givenName', 0.98, true],
    ['completeness', 'EHR1.city', null, false],
  ] as const)('flags %s of %s against threshold %s: breached %s', (metric, scope, threshold, breached) => {
    const m = point(metric, scope);
    expect(m?.threshold ?? null).toBe(threshold);
    expect(m?.breached).toBe(breached);
  });

  test('applies configured thresholds over the defaults', async () => {
    const relaxed = await measureQuality(handle.db, {
      thresholds: [
        ...DEFAULT_THRESHOLDS,
        { metric: 'duplicate_rate', scopeKind: 'INDEX', threshold: 0.7 },
        { metric: 'overlay_suspect_rate', threshold: null },
      ],
    });
    const of = (metric: string, scope: string) => relaxed.measurements.find((m) => m.metric === metric && m.scope === scope);
    expect(of('duplicate_rate', '*')).toMatchObject({ threshold: 0.7, breached: false });
    expect(of('duplicate_rate', 'EHR1')).toMatchObject({ threshold: 0.01, breached: true });
    expect(of('overlay_suspect_rate', '*')).toMatchObject({ threshold: null, breached: false });
  });

  test('returns a metric as a time series between two instants, oldest first', async () => {
    const all = await qualitySeries(handle.db, { metric: 'duplicate_rate', scope: '*' });
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.map((m) => m.measuredAt.getTime())).toEqual([...all.map((m) => m.measuredAt.getTime())].sort((a, b) => a - b));
    const first = all[0]!.measuredAt;
    const onlyFirst = await qualitySeries(handle.db, { metric: 'duplicate_rate', scope: '*', from: first, to: first });
    expect(onlyFirst).toHaveLength(1);
    expect(await qualitySeries(handle.db, { metric: 'duplicate_rate', scope: '*', to: new Date(first.getTime() - 1) })).toEqual([]);
  });

  test('builds a source scorecard from the latest run only', async () => {
    const card = await qualityScorecard(handle.db, 'EHR1');
    const latest = (await qualitySeries(handle.db, { metric: 'record_count', scope: 'EHR1' })).at(-1)!;
    expect(card.measuredAt?.getTime()).toBe(latest.measuredAt.getTime());
    expect(card.measurements.every((m) => m.runId === latest.runId)).toBe(true);
    const scopes = new Set(card.measurements.map((m) => m.scope));
    expect(scopes.has('EHR1')).toBe(true);
    expect(scopes.has('EHR1.birthDate')).toBe(true);
    expect(scopes.has('*')).toBe(false);
    expect(scopes.has('LAB1')).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../platform/api-keys.ts';
import { seedQualityFixture } from '../catalog/testing/quality-fixture.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, reviewBandCase } from './fixtures.ts';

const MEASURE =
  'mutation { measureQuality { id status breaches measurements(scopeKind: INDEX, breachedOnly: true) { metric value threshold } } }';
const SCORECARD = `query($source: String!) {
  qualityScorecard(source: $source) {
    source measuredAt recordCount completeness validity uniqueness freshnessHours duplicateRate
    fields { field completeness validity breached }
    breaches { metric scope }
  }
}`;
const SERIES =
  'query($scope: String, $metric: QualityMetric, $from: DateTime, $to: DateTime) { qualityMetrics(scope: $scope, metric: $metric, from: $from, to: $to) { value numerator denominator measuredAt breached } }';

interface Scorecard {
  source: string;
  measuredAt: string | null;
  recordCount: number | null;
  completeness: number | null;
  validity: number | null;
  uniqueness: number | null;
  freshnessHours: number | null;
  duplicateRate: number | null;
  fields: Array<{ field: string; completeness: number | null; validity: number | null; breached: boolean }>;
  breaches: Array<{ metric: string; scope: string }>;
}
interface Point {
  value: number;
  numerator: number | null;
  denominator: number | null;
  measuredAt: string;
  breached: boolean;
}

describe(`quality API on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let governance: string;
  beforeAll(async () => {
    app = await createTestApp();
    governance = (await createApiKey(app.services.database.db, 'quality-governance', 'governance')).key;
    await seedQualityFixture(app.services.database.db);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('shows an unmeasured source as an empty scorecard', async () => {
    const result = await app.gql<{ qualityScorecard: Scorecard }>(SCORECARD, { source: 'EHR1' }, { key: governance });
    expect(result.data?.qualityScorecard).toMatchObject({ source: 'EHR1', measuredAt: null, recordCount: null, fields: expect.any(Array) });
  });

  test('measures on demand and flags the index-wide breaches, the AHIMA duplicate rate among them', async () => {
    const result = await app.gql<{
      measureQuality: { status: string; breaches: number; measurements: Array<{ metric: string; value: number; threshold: number }> };
    }>(MEASURE, undefined, { key: governance });
    expect(result.errors).toBeUndefined();
    const run = result.data!.measureQuality;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.breaches).toBeGreaterThan(0);
    expect(run.measurements.map((m) => m.metric).sort()).toEqual(['DUPLICATE_RATE', 'OVERLAY_SUSPECT_RATE']);
    expect(run.measurements.find((m) => m.metric === 'DUPLICATE_RATE')).toMatchObject({ value: 5 / 8, threshold: 0.01 });
  });

  test('returns the per-source scorecard with field-level completeness and validity', async () => {
    const result = await app.gql<{ qualityScorecard: Scorecard }>(SCORECARD, { source: 'EHR1' }, { key: governance });
    const card = result.data!.qualityScorecard;
    expect(card.recordCount).toBe(5);
    expect(card.completeness).toBeCloseTo(30 / 35, 10);
    expect(card.validity).toBeCloseTo(0.6, 10);
    expect(card.uniqueness).toBeCloseTo(0.8, 10);
    expect(card.duplicateRate).toBeCloseTo(0.6, 10);
    expect(card.freshnessHours).toBeCloseTo(5, 1);
    expect(card.fields.find((f) => f.field === 'birthDate')).toEqual({
      field: 'birthDate',
      completeness: 1,
      validity: 0.4,
      breached: true,
    });
    expect(card.fields.find((f) => f.field === 'middleName')).toEqual({
      field: 'middleName',
      completeness: 0,
      validity: null,
      breached: false,
    });
    expect(card.breaches).toEqual(
      expect.arrayContaining([
        { metric: 'UNIQUENESS', scope: 'EHR1' },
        { metric: 'VALIDITY', scope: 'EHR1.ssn' },
      ]),
    );
  });

  test('returns the duplicate-rate trend between two instants', async () => {
    await app.gql(MEASURE, undefined, { key: governance });
    const trend = await app.gql<{ qualityMetrics: Point[] }>(SERIES, { scope: '*', metric: 'DUPLICATE_RATE' }, { key: governance });
    expect(trend.errors).toBeUndefined();
    const points = trend.data!.qualityMetrics;
    expect(points).toHaveLength(2);
    expect(points.every((p) => p.numerator === 5 && p.denominator === 8 && p.breached)).toBe(true);
    expect(Date.parse(points[0]!.measuredAt)).toBeLessThan(Date.parse(points[1]!.measuredAt));
    const since = await app.gql<{ qualityMetrics: Point[] }>(
      SERIES,
      { scope: '*', metric: 'DUPLICATE_RATE', from: points[1]!.measuredAt },
      { key: governance },
    );
    expect(since.data!.qualityMetrics.map((p) => p.measuredAt)).toEqual([points[1]!.measuredAt]);
  });

  test('rejects a time range that ends before it starts', async () => {
    const result = await app.gql(
      SERIES,
      { metric: 'DUPLICATE_RATE', from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { key: governance },
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'from' });
  });

  test('reports a scorecard for an unknown source as not found', async () => {
    const result = await app.gql(SCORECARD, { source: 'NOPE' }, { key: governance });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'source' });
  });

  test.each(['pipeline', 'steward', 'auditor'])('keeps quality metrics from the %s role', async (role) => {
    const key = (await createApiKey(app.services.database.db, `quality-${role}`, role)).key;
    for (const operation of [MEASURE, '{ qualityMetrics(metric: DUPLICATE_RATE) { value } }']) {
      const result = await app.gql(operation, undefined, { key });
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});

describe(`quality of ingested records on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    for (const code of ['clinic', 'payer']) {
      const registered = await app.gql('mutation($code: String!) { registerSource(input: { code: $code, name: $code }) { code } }', {
        code,
      });
      expect(registered.errors).toBeUndefined();
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  test('counts new, auto-linked and reviewed ingests and the duplicate rate they leave behind', async () => {
    expect((await ingest(app, { source: 'clinic', localId: 'C-1', ...person(1) })).outcome).toBe('CREATED');
    expect((await ingest(app, { source: 'clinic', localId: 'C-2', ...person(2) })).outcome).toBe('CREATED');
    expect((await ingest(app, { source: 'payer', localId: 'P-1', ...person(1) })).outcome).toBe('LINKED');
    const { base, variant } = await reviewBandCase(app);
    expect((await ingest(app, { source: 'clinic', localId: 'C-3', ...base })).outcome).toBe('CREATED');
    expect((await ingest(app, { source: 'payer', localId: 'P-3', ...variant })).outcome).toBe('REVIEW');

    const run = await app.gql<{ measureQuality: { id: string } }>('mutation { measureQuality { id } }');
    expect(run.errors).toBeUndefined();
    const index = async (metric: string) => {
      const result = await app.gql<{ qualityMetrics: Point[] }>(SERIES, { scope: '*', metric });
      return result.data!.qualityMetrics.at(-1)!;
    };
    expect(await index('NEW_IDENTITY_SHARE')).toMatchObject({ numerator: 3, denominator: 5 });
    expect(await index('AUTO_LINK_SHARE')).toMatchObject({ numerator: 1, denominator: 5 });
    expect(await index('REVIEW_SHARE')).toMatchObject({ numerator: 1, denominator: 5 });
    // The open record-match item pairs P-3 with C-3: two of five records.
    expect(await index('DUPLICATE_RATE')).toMatchObject({ numerator: 2, denominator: 5 });
    expect(await index('OVERLAP_RATE')).toMatchObject({ numerator: 1, denominator: 4 });
    expect(await index('RECORDS_PER_IDENTITY')).toMatchObject({ numerator: 5, denominator: 4 });
    const payer = await app.gql<{ qualityScorecard: Scorecard }>(SCORECARD, { source: 'payer' });
    expect(payer.data!.qualityScorecard).toMatchObject({ recordCount: 2, duplicateRate: 0.5, uniqueness: 1 });
  });
});

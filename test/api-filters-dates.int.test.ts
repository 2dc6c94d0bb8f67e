import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';

interface Measurement {
  metric: string;
  scope: string;
  measuredAt: string;
}

describe(`the qualityMetrics filter and strict date literals on ${TEST_DB_KIND}`, () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
    const ingested = await app.gql('mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }', {
      input: { source: 'ehr', localId: 'FD-1', ...person(130_001) },
    });
    expect(ingested.errors).toBeUndefined();
    expect((await app.gql('mutation { measureQuality { id } }')).errors).toBeUndefined();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('qualityMetrics takes its criteria as one filter input, and the flat arguments still give the same series', async () => {
    const filtered = await app.gql<{ qualityMetrics: Measurement[] }>(
      '{ qualityMetrics(filter: { scope: "ehr", metric: COMPLETENESS, from: "2000-01-01T00:00:00Z" }) { metric scope measuredAt } }',
    );
    expect(filtered.errors).toBeUndefined();
    expect(filtered.data!.qualityMetrics.length).toBeGreaterThan(0);
    for (const m of filtered.data!.qualityMetrics) expect(m).toMatchObject({ metric: 'COMPLETENESS', scope: 'ehr' });

    const flat = await app.gql<{ qualityMetrics: Measurement[] }>(
      '{ qualityMetrics(scope: "ehr", metric: COMPLETENESS, from: "2000-01-01T00:00:00Z") { metric scope measuredAt } }',
    );
    expect(flat.data!.qualityMetrics).toEqual(filtered.data!.qualityMetrics);

    const none = await app.gql<{ qualityMetrics: Measurement[] }>('{ qualityMetrics(filter: { to: "2000-01-01T00:00:00Z" }) { metric } }');
    expect(none.data!.qualityMetrics).toEqual([]);
  });

  test.each([
    [
      'a Date literal naming no real day',
      '{ identities(first: 1, filter: { birthDate: "2026-02-30" }) { edges { cursor } } }',
      'INVALID_DATE',
    ],
    [
      'a Date literal in an ingest input',
      'mutation { ingestRecord(input: { source: "ehr", localId: "FD-2", familyName: "X", birthDate: "1990-02-30" }) { outcome } }',
      'INVALID_DATE',
    ],
    [
      'a DateTime literal naming no real day',
      '{ qualityMetrics(filter: { from: "2026-02-30T00:00:00Z" }) { metric } }',
      'INVALID_DATETIME',
    ],
  ])('refuses %s as a typed error before anything runs, never rolling it over', async (_label, query, code) => {
    const result = await app.gql(query);
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', problems: [{ code }] });
    // Refused while the operation is validated (no resolver ran, so the error has no path), without echoing the value.
    expect(result.errors?.[0]?.path).toBeUndefined();
    expect(JSON.stringify(result.errors)).not.toContain('02-30');
  });

  test.each(['0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '10000-01-01T00:00:00Z'])(
    'refuses the DateTime %s, a year PostgreSQL cannot hold, as INVALID_DATETIME (it failed in the query: an internal error)',
    async (at) => {
      for (const query of [
        'query($at: DateTime) { auditLog(first: 1, filter: { from: $at }) { edges { cursor } } }',
        'query($at: DateTime) { qualityMetrics(filter: { from: $at }) { metric } }',
        'query($at: DateTime) { reviewQueue(first: 1, filter: { createdAfter: $at }) { totalCount } }',
      ]) {
        const result = await app.gql(query, { at });
        expect(result.data ?? null).toBeNull();
        expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', problems: [{ code: 'INVALID_DATETIME' }] });
      }
    },
  );

  test('nothing of a refused ingest literal was stored', async () => {
    const found = await app.gql<{ sourceRecord: unknown }>('{ sourceRecord(source: "ehr", localId: "FD-2") { id } }');
    expect(found.data!.sourceRecord).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadTrainingRecords } from '../identity/model-store.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

/**
 * Training reads every stored record up to its limit, and beyond it a sample drawn from the whole index: a
 * retraining after a new source joined must see that source's records, not only the oldest ones.
 */
describe(`the training sample on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const EACH = 40;

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
    for (let i = 0; i < EACH; i++) await ingest(app, { source: 'ehr', localId: `E-${i}`, ...person(i, { familyName: 'Earlier' }) });
    for (let i = 0; i < EACH; i++) await ingest(app, { source: 'lab', localId: `L-${i}`, ...person(500 + i, { familyName: 'Later' }) });
  });
  afterAll(async () => {
    await app?.close();
  });

  const families = (records: Array<{ familyName: string | null }>) => records.map((r) => r.familyName?.toLowerCase());

  test('reads every stored record when there are no more than the limit', async () => {
    const records = await loadTrainingRecords(app.services.database.db, 2 * EACH);
    expect(records).toHaveLength(2 * EACH);
    expect(records.every((r) => typeof r.givenName === 'string' && r.birthDate !== undefined)).toBe(true);
  });

  test('beyond the limit, samples old and new records alike, the same sample each time', async () => {
    const db = app.services.database.db;
    const first = await loadTrainingRecords(db, EACH / 2);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(EACH / 2);
    const seen = families(first);
    expect(seen).toContain('earlier');
    expect(seen).toContain('later');
    expect(families(await loadTrainingRecords(db, EACH / 2))).toEqual(seen);
  });
});

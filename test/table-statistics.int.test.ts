import { getTableName } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TableStatistics } from '../identity/index.ts';
import { estimatedRows } from '../identity/store.ts';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { TEST_DB_KIND } from './db.ts';
import { createTestApp, type TestApp } from './app.ts';
import { person, seedSources } from './fixtures.ts';
import { until } from './wait.ts';

const RECORDS = getTableName(sourceRecords);
const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ source: 'ehr', localId: `STAT-${from + i}`, ...person(9_000 + from + i) }));

describe(`planner statistics of a growing index on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('are refreshed once as many records as the index held came in, not before', async () => {
    const db = app.services.ingest.db;
    const statistics = new TableStatistics(db, createLogger('silent'), 20);
    await app.services.ingest.ingestMany(records(0, 19) as never, { actor: 'test:stats' });
    statistics.noteIngested(19);
    await statistics.settled();
    expect(statistics.refreshes).toBe(0);

    await app.services.ingest.ingestMany(records(19, 1) as never, { actor: 'test:stats' });
    statistics.noteIngested(1);
    await statistics.settled();
    expect(statistics.refreshes).toBe(1);
    expect(await estimatedRows(db, RECORDS)).toBeGreaterThanOrEqual(20);

    // The next refresh waits for as many records again as the table held (at least the minimum).
    await app.services.ingest.ingestMany(records(20, 19) as never, { actor: 'test:stats' });
    statistics.noteIngested(19);
    await statistics.settled();
    expect(statistics.refreshes).toBe(1);
    statistics.noteIngested(1);
    await statistics.settled();
    expect(statistics.refreshes).toBe(2);
  });

  test("the service's ingest refreshes them by itself after its first thousand records", async () => {
    const db = app.services.ingest.db;
    const before = await estimatedRows(db, RECORDS);
    for (let from = 100; from < 1_100; from += 500)
      await app.services.ingest.ingestMany(records(from, 500) as never, { actor: 'test:stats' });
    // The refresh runs in the background after the commit.
    await until(async () => (await estimatedRows(db, RECORDS)) >= before + 1_000);
    expect(await estimatedRows(db, RECORDS)).toBeGreaterThanOrEqual(1_000);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { runDemo } from '../cli/demo.ts';
import { loadConfig } from '../platform/config.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { listen } from './fhir-client.ts';

describe(`mpi demo on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let server: Awaited<ReturnType<typeof listen>>;
  let url: string;
  beforeAll(async () => {
    app = await createTestApp();
    server = await listen(app);
    url = server.baseUrl.replace(/\/fhir$/, '/graphql');
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await app?.close();
  });

  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const stored = async () =>
    (
      await queryRows<{ records: string; sources: string; open: string }>(
        app.services.database.db,
        sql`select (select count(*) from source_records) as records, (select count(*) from sources) as sources,
        (select count(*) from review_items where status = 'OPEN') as open`,
      )
    )[0]!;

  test('loads synthetic patients from four sources through the API, with look-alikes left for review', async () => {
    const summary = await runDemo(config, { records: 1500, seed: 7, url });
    expect(summary.records).toBe(1500);
    const { CREATED, LINKED, REVIEW, UNCHANGED } = summary.outcomes;
    expect(CREATED! + LINKED! + REVIEW! + UNCHANGED! + summary.rejected).toBe(1500);
    expect(LINKED).toBeGreaterThan(300);
    expect(summary.reviewItems).toBeGreaterThan(0);
    const counts = await stored();
    expect(Number(counts.records)).toBe(1500 - summary.rejected);
    expect(Number(counts.sources)).toBe(4);
    expect(Number(counts.open)).toBe(summary.reviewItems);
  }, 300_000);

  test('running it again changes nothing', async () => {
    const before = await stored();
    const again = await runDemo(config, { records: 1500, seed: 7, url });
    expect(again.outcomes.UNCHANGED).toBe(1500 - again.rejected);
    expect(await stored()).toEqual(before);
  }, 300_000);
});

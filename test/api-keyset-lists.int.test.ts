import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

interface Page {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: { endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
}

const IDENTITIES = `query($first: Int, $after: String, $last: Int, $before: String) {
  identities(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { endCursor hasNextPage hasPreviousPage }
  }
}`;

const RUNS = `query($first: Int, $after: String, $filter: IngestRunFilter) {
  ingestRuns(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id } }
    pageInfo { endCursor hasNextPage hasPreviousPage }
  }
}`;

const MERGE = 'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same person") { id } }';
const START_RUN = 'mutation($job: String!) { startIngestRun(source: "ehr", job: $job) { id } }';

describe(`keyset paging of identities and ingest runs on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let serial = 0;

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
  });
  afterAll(async () => {
    await app?.close();
  });

  async function page(query: string, variables: Record<string, unknown>): Promise<Page> {
    const result = await app.gql<Record<string, Page>>(query, variables);
    expect(result.errors).toBeUndefined();
    return Object.values(result.data!)[0]!;
  }

  async function newIdentity(): Promise<string> {
    serial += 1;
    return (await ingest(app, { source: 'ehr', localId: `KS-${serial}`, ...person(120_000 + serial * 13) })).identity.id;
  }

  async function newRun(): Promise<string> {
    serial += 1;
    const result = await app.gql<{ startIngestRun: { id: string } }>(START_RUN, { job: `keyset-${serial}` });
    expect(result.errors).toBeUndefined();
    return result.data!.startIngestRun.id;
  }

  test('a caller paging identities while seen ones are merged away and new ones arrive sees each identity once, in order', async () => {
    for (let i = 0; i < 10; i += 1) await newIdentity();
    const all = await page(IDENTITIES, { first: 100 });
    const start = all.edges.map((e) => e.node.id);
    expect(all.totalCount).toBe(10);

    const seen: string[] = [];
    const added: string[] = [];
    let after: string | null = null;
    for (let turns = 0; turns < 10; turns += 1) {
      const current = await page(IDENTITIES, { first: 3, after });
      const ids = current.edges.map((e) => e.node.id);
      seen.push(...ids);
      // Merge the page's second identity into its first: it leaves the list, so offset paging would now skip one.
      if (ids.length >= 2) expect((await app.gql(MERGE, { s: ids[0], m: ids[1] })).errors).toBeUndefined();
      added.push(await newIdentity());
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    // Oldest first: everything there at the start, in its order, then those created while paging.
    expect(seen.slice(0, start.length)).toEqual(start);
    expect(added.slice(0, seen.length - start.length)).toEqual(seen.slice(start.length));

    // Backwards from the end: the page before the last cursor, nearest last.
    const active = (await page(IDENTITIES, { first: 100 })).edges;
    const back = await page(IDENTITIES, { last: 2, before: active.at(-1)!.cursor });
    expect(back.edges.map((e) => e.node.id)).toEqual(active.slice(-3, -1).map((e) => e.node.id));
    expect(back.totalCount).toBe(active.length);
  });

  test('a caller paging ingest runs (newest first) while new runs start sees each run there at the start once', async () => {
    for (let i = 0; i < 7; i += 1) await newRun();
    const start = (await page(RUNS, { first: 100 })).edges.map((e) => e.node.id);
    expect(start.length).toBeGreaterThanOrEqual(7);

    const seen: string[] = [];
    let after: string | null = null;
    for (let turns = 0; turns < 20; turns += 1) {
      const current = await page(RUNS, { first: 3, after });
      seen.push(...current.edges.map((e) => e.node.id));
      // A new run is newest: it lands above the cursor, so offset paging would show a seen run again.
      await newRun();
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(seen).toEqual(start);

    const filtered = await page(RUNS, { first: 2, filter: { job: 'keyset-1-none' } });
    expect(filtered).toMatchObject({ totalCount: 0, edges: [] });
  });

  test.each([
    ['identities', IDENTITIES],
    ['ingestRuns', RUNS],
  ])('%s refuses an offset-era, foreign or forged cursor as INVALID_CURSOR naming after', async (list, query) => {
    const uuid = '00000000-0000-0000-0000-000000000000';
    const forged = (list: string, at: string) => Buffer.from(JSON.stringify([list, at, uuid])).toString('base64url');
    for (const after of [
      'T2Zmc2V0Q29ubmVjdGlvbjoy',
      Buffer.from(JSON.stringify(['reviewQueue', 0.5, 'x'])).toString('base64url'),
      // Of the list's own shape, but no time PostgreSQL reads: they reached the query and failed there (internal).
      forged(list, '9999-99-99 99:99:99+00'),
      forged(list, '2024-02-30 00:00:00+00'),
      forged(list, '2024-01-01 24:00:00+00'),
      forged(list, '0000-01-01 00:00:00+00'),
      forged(list, '2024-01-01 00:00:00+99:99'),
    ]) {
      const result = await app.gql(query, { first: 2, after });
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.extensions).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'after',
        problems: [{ code: 'INVALID_CURSOR' }],
      });
    }
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { csvLine } from '../bench/synth/write.ts';
import { readLoadRows, runLoad } from '../cli/load.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { bridgeCase } from './fixtures.ts';
import { count, partition, reviews, staleGoldens } from './load-helpers.ts';

/** Patients each seen by phone, by address, then by a record carrying both (see `bridgeCase`). */
const FAMILIES: Array<[string, number]> = [
  ['Thorsdottir', 84],
  ['Lindqvist', 71],
  ['Haverkamp', 66],
];
const COLUMNS = ['givenName', 'familyName', 'sex', 'birthDate', 'phone', 'addressLine1', 'city', 'state', 'postalCode', 'email'];
const CONFIG = { MPI_AUTO_REGISTER_SOURCES: true };
const quiet = { warn: () => undefined };
const newApp = () => createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });

/** Every phone record, then every address record, then every bridging record: the bridges come last. */
function bridgeCsv(): string {
  const cases = FAMILIES.map(([family, n]) => bridgeCase(family, n));
  const rows = [
    ...cases.map((c, i) => [`P-${i}`, c.byPhone] as const),
    ...cases.map((c, i) => [`A-${i}`, c.byAddress] as const),
    ...cases.map((c, i) => [`B-${i}`, c.bridge] as const),
  ];
  return (
    csvLine(['record_id', ...COLUMNS]) +
    rows.map(([id, r]) => csvLine([id, ...COLUMNS.map((c) => (r as Record<string, string | undefined>)[c] ?? '')])).join('')
  );
}

/** Identities merged into another, and the automatic merges audited. */
async function merges(app: TestApp): Promise<{ merged: number; audited: number }> {
  return {
    merged: await count(app, "identities where status = 'MERGED'"),
    audited: await count(app, "audit_log where action = 'autoMerge'"),
  };
}

describe(`mpi load merges the identities a record bridges, as online ingest does, on ${TEST_DB_KIND}`, () => {
  let dir: string;
  let file: string;
  let online: TestApp;
  let onlinePartition: string[];
  let onlineReviews: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mpi-load-merge-'));
    file = join(dir, 'bridges.csv');
    await writeFile(file, bridgeCsv());
    online = await newApp();
    for (const row of (await readLoadRows([{ source: 'ehr', files: [file] }], quiet)).rows)
      await online.services.ingest.ingest(row.input, { actor: 'test:online' });
    onlinePartition = await partition(online);
    onlineReviews = await reviews(online);
  }, 120_000);

  afterAll(async () => {
    await online?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('online ingest merges each pair of identities its bridging record matches', async () => {
    expect(await merges(online)).toEqual({ merged: FAMILIES.length, audited: FAMILIES.length });
    expect(onlinePartition).toHaveLength(FAMILIES.length);
  });

  test.each([
    ['in one window and one chunk', undefined, undefined],
    ['with the bridges in a later window than the identities they join', FAMILIES.length * 2, 2],
    ['with each kind of record in a window and a chunk of its own', FAMILIES.length, 1],
  ])(
    'a load merges them too, %s',
    async (_name, window, chunkSize) => {
      const app = await newApp();
      try {
        const summary = await runLoad(CONFIG, app.services.database, [{ source: 'ehr', files: [file] }], { window, chunkSize, ...quiet });
        expect(summary).toMatchObject({ loaded: FAMILIES.length * 3, rejected: 0 });
        expect(await partition(app)).toEqual(onlinePartition);
        expect(await reviews(app)).toEqual(onlineReviews);
        expect(await merges(app)).toEqual({ merged: FAMILIES.length, audited: FAMILIES.length });
        // Each survivor's golden record takes the phone of one side and the address of the other.
        const goldens = await queryRows<{ phone: string | null; postal: string | null }>(
          app.services.database.db,
          sql`select golden->>'phone' as phone, golden->>'postalCode' as postal from identities where status = 'ACTIVE'`,
        );
        expect(goldens).toHaveLength(FAMILIES.length);
        expect(goldens.every((g) => g.phone !== null && g.postal !== null)).toBe(true);
        expect(await staleGoldens(app)).toBe(0);
        // The merges are the matcher's, with the events online ingest records.
        expect(await count(app, "identity_events where type = 'MERGED' and actor = 'matcher'")).toBe(FAMILIES.length * 2);
        expect(await count(app, "change_events where type = 'IDENTITIES_MERGED'")).toBe(FAMILIES.length);
      } finally {
        await app.close();
      }
    },
    120_000,
  );
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { generateRegistry, RECORD_HEADER } from '../bench/synth/generate.ts';
import { csvLine } from '../bench/synth/write.ts';
import { parseLoadArgs, readLoadRows, runLoad } from '../cli/load.ts';
import type { LoadRow } from '../identity/index.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { count, partition, reviews, staleGoldens } from './load-helpers.ts';
import { TEST_DB_KIND } from './db.ts';

/** Synthetic registry records (families, look-alikes, typos) as a CSV in the canonical column names. */
const RECORDS = 400;
/** Small chunks, so records link across chunks through the stored blocking keys, as across a large load. */
const CHUNK = 100;
const CONFIG = { MPI_AUTO_REGISTER_SOURCES: true };
const ACTOR = { actor: 'test:online' };

let dir: string;
let file: string;

async function writeRegistryCsv(path: string, records: number, seed: number): Promise<void> {
  const header = RECORD_HEADER.filter((c) => c !== 'source');
  let text = csvLine(header);
  for (const r of generateRegistry({ seed, records })) {
    const row = r as unknown as Record<string, string>;
    text += csvLine(header.map((c) => (c === 'record_id' ? r.recordId : (row[c] ?? ''))));
  }
  await writeFile(path, text);
}

async function ingestOneByOne(app: TestApp, rows: LoadRow[]): Promise<void> {
  for (const row of rows) await app.services.ingest.ingest(row.input, ACTOR);
}

const newApp = () => createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });
const group = () => [{ source: 'ehr', files: [file] }];
const quiet = { warn: () => undefined };

describe(`mpi load on ${TEST_DB_KIND}`, () => {
  let online: TestApp;
  let onlinePartition: string[];
  let onlineReviews: string[];
  let rows: LoadRow[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mpi-load-'));
    file = join(dir, 'registry.csv');
    await writeRegistryCsv(file, RECORDS, 11);
    rows = (await readLoadRows(group(), quiet)).rows;
    online = await newApp();
    await ingestOneByOne(online, rows);
    onlinePartition = await partition(online);
    onlineReviews = await reviews(online);
  }, 300_000);

  afterAll(async () => {
    await online?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('groups the records as ingesting them one by one does, with the same reviews, and loads nothing new on a re-run', async () => {
    const app = await newApp();
    try {
      const first = await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK, ...quiet });
      expect(first).toMatchObject({ rows: RECORDS, loaded: RECORDS, unchanged: 0, rejected: 0 });
      // Chunks hold whole identities, so they fill to about CHUNK records, never more unless one group is larger.
      expect(first.chunks).toBeGreaterThanOrEqual(RECORDS / CHUNK);
      // Same model, same planner, same order: the partition agrees exactly (no pair differs on this file).
      expect(await partition(app)).toEqual(onlinePartition);
      expect(onlinePartition.length).toBeLessThan(RECORDS);
      expect(await reviews(app)).toEqual(onlineReviews);
      expect(await staleGoldens(app)).toBe(0);
      // Every identity has its golden record's provenance, its history and its change events; each chunk is audited.
      const identities = await count(app, 'identities');
      expect(await count(app, '(select distinct identity_id from field_provenance) p')).toBe(identities);
      expect(await count(app, "identity_events where type = 'CREATED'")).toBe(identities);
      expect(await count(app, "change_events where type = 'IDENTITY_CREATED'")).toBe(identities);
      expect(await count(app, "audit_log where action = 'bulkLoad'")).toBe(first.chunks);
      expect(await count(app, 'record_block_keys')).toBeGreaterThan(RECORDS);
      const [run] = await queryRows<{ status: string; counts: Record<string, number> }>(
        app.services.database.db,
        sql`select status, counts from ingest_runs where id = ${first.runId}`,
      );
      expect(run).toMatchObject({ status: 'COMPLETED', counts: { recordsIn: RECORDS, chunks: first.chunks, rejected: 0 } });

      const before = await Promise.all(['source_records', 'identities', 'identity_events', 'change_events'].map((t) => count(app, t)));
      const again = await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK, ...quiet });
      expect(again).toMatchObject({ loaded: 0, unchanged: RECORDS, updated: 0, chunks: 0 });
      expect(await Promise.all(['source_records', 'identities', 'identity_events', 'change_events'].map((t) => count(app, t)))).toEqual(
        before,
      );
    } finally {
      await app.close();
    }
  }, 300_000);

  test('a failure in the second chunk leaves whole identities of the first chunk and nothing of the second; a re-run completes the load', async () => {
    const app = await newApp();
    try {
      const failing = runLoad(CONFIG, app.services.database, group(), {
        chunkSize: CHUNK,
        ...quiet,
        beforeChunkCommit: async (_tx, chunk) => {
          if (chunk === 1) throw new Error('injected failure');
        },
      });
      await expect(failing).rejects.toThrow('injected failure');
      const [run] = await queryRows<{ counts: Record<string, number> }>(
        app.services.database.db,
        sql`select counts from ingest_runs where status = 'FAILED'`,
      );
      const firstChunk = run!.counts.recordsIn!;
      expect(firstChunk).toBeGreaterThan(CHUNK / 2);
      expect(firstChunk).toBeLessThanOrEqual(CHUNK);
      expect(await count(app, 'source_records')).toBe(firstChunk);
      expect(await count(app, 'links')).toBe(firstChunk);
      // Every identity stored is whole: the same records online ingest put together, none waiting on a later chunk.
      const stored = await partition(app);
      expect(stored.every((g) => onlinePartition.includes(g))).toBe(true);
      expect(await staleGoldens(app)).toBe(0);
      expect(await count(app, 'record_block_keys where record_id not in (select id from source_records)')).toBe(0);
      expect(await count(app, 'identity_events where record_id not in (select id from source_records)')).toBe(0);
      expect(await count(app, 'identities where id not in (select identity_id from links)')).toBe(0);
      expect(await count(app, "audit_log where action = 'bulkLoad'")).toBe(1);
      expect(await count(app, "ingest_runs where status = 'FAILED'")).toBe(1);

      const resumed = await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK, ...quiet });
      expect(resumed).toMatchObject({ unchanged: firstChunk, loaded: RECORDS - firstChunk, rejected: 0 });
      expect(await partition(app)).toEqual(onlinePartition);
      expect(await reviews(app)).toEqual(onlineReviews);
    } finally {
      await app.close();
    }
  }, 300_000);

  test('a failure in a later window writes nothing after the failed chunk; a re-run completes the load', async () => {
    const app = await newApp();
    try {
      // A window per chunk: the failure comes in the third window, after two windows committed.
      const failing = runLoad(CONFIG, app.services.database, group(), {
        chunkSize: CHUNK / 2,
        window: CHUNK / 2,
        ...quiet,
        beforeChunkCommit: async (_tx, chunk) => {
          if (chunk === 2) throw new Error('injected failure');
        },
      });
      await expect(failing).rejects.toThrow('injected failure');
      const [run] = await queryRows<{ counts: Record<string, number> }>(
        app.services.database.db,
        sql`select counts from ingest_runs where status = 'FAILED'`,
      );
      expect(run!.counts.chunks).toBe(2);
      expect(await count(app, 'source_records')).toBe(run!.counts.recordsIn);
      expect(await count(app, 'links')).toBe(run!.counts.recordsIn);
      expect(await count(app, "audit_log where action = 'bulkLoad'")).toBe(2);
      expect(await count(app, 'record_block_keys where record_id not in (select id from source_records)')).toBe(0);

      const resumed = await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK / 2, window: CHUNK / 2, ...quiet });
      expect(resumed).toMatchObject({ unchanged: run!.counts.recordsIn, loaded: RECORDS - run!.counts.recordsIn!, rejected: 0 });
      expect(await partition(app)).toEqual(onlinePartition);
      expect(await reviews(app)).toEqual(onlineReviews);
      expect(await staleGoldens(app)).toBe(0);
    } finally {
      await app.close();
    }
  }, 300_000);

  test.each([
    ['in one window', undefined],
    ['a window of 50 rows at a time', 50],
  ])(
    'links a load into a non-empty index to the identities already stored, %s',
    async (_name, window) => {
      const app = await newApp();
      try {
        const half = RECORDS / 2;
        await ingestOneByOne(app, rows.slice(0, half));
        const stored = await partition(app);
        const second = join(dir, 'second-half.csv');
        const lines = (await import('node:fs')).readFileSync(file, 'utf8').split('\n');
        await writeFile(second, [lines[0], ...lines.slice(half + 1)].join('\n'));
        const summary = await runLoad(CONFIG, app.services.database, [{ source: 'ehr', files: [second] }], {
          chunkSize: CHUNK,
          window,
          ...quiet,
        });
        expect(summary).toMatchObject({ loaded: RECORDS - half, rejected: 0 });
        expect(summary.linked).toBeGreaterThan(0);
        // Records of the second half joined identities of the first: the whole agrees with one-by-one ingest.
        expect(await partition(app)).toEqual(onlinePartition);
        expect(stored.length).toBeLessThan(onlinePartition.length + half);
      } finally {
        await app.close();
      }
    },
    300_000,
  );

  test('plans a window at a time with the same result: each window meets the records of the windows before it', async () => {
    const app = await newApp();
    try {
      const summary = await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK / 2, window: CHUNK, ...quiet });
      expect(summary).toMatchObject({ rows: RECORDS, loaded: RECORDS, rejected: 0 });
      expect(await partition(app)).toEqual(onlinePartition);
      expect(await reviews(app)).toEqual(onlineReviews);
      expect(await staleGoldens(app)).toBe(0);
      const [run] = await queryRows<{ counts: Record<string, number> }>(
        app.services.database.db,
        sql`select counts from ingest_runs where id = ${summary.runId}`,
      );
      expect(run!.counts).toMatchObject({ recordsIn: RECORDS, chunks: summary.chunks });
    } finally {
      await app.close();
    }
  }, 300_000);

  test('scores pairs on any number of threads with the same result: the same links, weights and reviews', async () => {
    const links = async (app: TestApp) =>
      (
        await queryRows<{ local_id: string; weight: number | null; probability: number | null; match_result: string }>(
          app.services.database.db,
          sql`select r.local_id, l.weight, l.probability, l.match_result from links l join source_records r on r.id = l.record_id`,
        )
      )
        .map((r) => `${r.local_id} ${r.match_result} ${r.weight} ${r.probability}`)
        .sort();
    const results = [];
    for (const threads of [1, 3]) {
      const app = await newApp();
      try {
        await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK, threads, ...quiet });
        results.push({ partition: await partition(app), reviews: await reviews(app), links: await links(app) });
      } finally {
        await app.close();
      }
    }
    expect(results[0]!.partition).toEqual(onlinePartition);
    expect(results[0]!.reviews).toEqual(onlineReviews);
    expect(results[0]!.links.filter((l) => !l.endsWith('null null')).length).toBeGreaterThan(RECORDS / 4);
    expect(results[1]).toEqual(results[0]);
  }, 300_000);

  test('loads the same file into two empty indexes with the golden records online ingest gives, and the same change events', async () => {
    // Survivorship breaks its last ties by record id (the later wins), and a window's ids are made within a few
    // milliseconds, all stored at one update time: the ids' order must be the order the records were read in.
    const outcome = async (app: TestApp) => {
      const goldens = await queryRows<{ members: string; golden: unknown }>(
        app.services.database.db,
        sql`select string_agg(r.local_id, ' ' order by r.local_id) as members, i.golden
            from identities i join links l on l.identity_id = i.id join source_records r on r.id = l.record_id
            where i.status = 'ACTIVE' group by i.id, i.golden`,
      );
      const events = await queryRows<{ type: string; n: number }>(
        app.services.database.db,
        sql`select type, count(*)::int as n from change_events group by type`,
      );
      return {
        goldens: goldens.map((g) => `${g.members} ${JSON.stringify(g.golden)}`).sort(),
        events: Object.fromEntries(events.map((e) => [e.type, e.n])),
      };
    };
    const results = [];
    for (let run = 0; run < 2; run++) {
      const app = await newApp();
      try {
        await runLoad(CONFIG, app.services.database, group(), { chunkSize: CHUNK, window: CHUNK, ...quiet });
        results.push(await outcome(app));
      } finally {
        await app.close();
      }
    }
    expect(results[0]!.goldens).toEqual((await outcome(online)).goldens);
    expect(results[0]!.events.GOLDEN_RECORD_CHANGED).toBeGreaterThan(0);
    expect(results[1]).toEqual(results[0]);
  }, 300_000);

  test('reports bad rows with their file, line and field and loads the others', async () => {
    const app = await newApp();
    try {
      const bad = join(dir, 'bad.csv');
      await writeFile(
        bad,
        [
          'record_id,givenName,familyName,sex,birthDate',
          'a1,Ann,Ode,F,1980-02-03',
          'a2,Bea,Ode,F,1980-02-31',
          ',Cal,Ode,M,1980-02-03',
          'a4,Dan,Ode,Q,1980-02-03',
          'a1,Ann,Ode,F,1980-02-03',
          'a6,Eve,Ode,F,2999-01-01',
          'a7,Fay,Ode,F,1981-05-06',
        ].join('\n'),
      );
      const summary = await runLoad(CONFIG, app.services.database, [{ source: 'lab', files: [bad] }], quiet);
      expect(summary).toMatchObject({ loaded: 2, rejected: 5 });
      const found = summary.problems.map((p) => `${p.line} ${p.field} ${p.code}`).sort();
      expect(found).toEqual([
        '3 birthDate INVALID_DATE',
        '4 localId REQUIRED',
        '5 sex INVALID',
        '6 localId DUPLICATE_ID',
        '7 birthDate FUTURE_DATE',
      ]);
      expect(summary.problems.every((p) => p.file === bad)).toBe(true);
      expect(await count(app, 'source_records')).toBe(2);
      const [run] = await queryRows<{ errors: Array<{ line: number; field: string }> }>(
        app.services.database.db,
        sql`select errors from ingest_runs where id = ${summary.runId}`,
      );
      expect(run!.errors.map((e) => `${e.line} ${e.field}`).sort()).toEqual([
        '3 birthDate',
        '4 localId',
        '5 sex',
        '6 localId',
        '7 birthDate',
      ]);
    } finally {
      await app.close();
    }
  });
});

describe(`mpi load refuses what it cannot load before its first row, on ${TEST_DB_KIND}`, () => {
  test('a missing file or mapping of any group, and a source nobody registered, by name; nothing is stored', async () => {
    const app = await createTestApp();
    const root = await mkdtemp(join(tmpdir(), 'mpi-load-refuse-'));
    try {
      const present = join(root, 'ehr.csv');
      await writeRegistryCsv(present, 20, 5);
      const missing = join(root, 'lab.csv');
      // The missing file is the last one named: unchecked, the windows of the files before it would be loaded first.
      await expect(
        runLoad(
          CONFIG,
          app.services.database,
          [
            { source: 'ehr', files: [present] },
            { source: 'lab', files: [missing] },
          ],
          { ...quiet, window: 10, chunkSize: 10 },
        ),
      ).rejects.toThrow(`input file not found: ${missing}`);
      expect(await count(app, 'source_records')).toBe(0);
      await expect(
        runLoad(
          CONFIG,
          app.services.database,
          [
            { source: 'ehr', files: [present] },
            { source: 'lab', mapping: join(root, 'm.json'), files: [present] },
          ],
          quiet,
        ),
      ).rejects.toThrow(`mapping file not found: ${join(root, 'm.json')}`);
      // Without auto-registration: which of the load's sources is unknown.
      const refused = runLoad(
        { MPI_AUTO_REGISTER_SOURCES: false },
        app.services.database,
        [{ source: 'ehr-east', files: [present] }],
        quiet,
      );
      await expect(refused).rejects.toMatchObject({
        code: 'UNKNOWN_SOURCE',
        message: 'source "ehr-east" is not registered; register it first or enable MPI_AUTO_REGISTER_SOURCES',
      });
      expect(await count(app, 'source_records')).toBe(0);
      expect(await count(app, 'identities')).toBe(0);
    } finally {
      await app.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('mpi load arguments', () => {
  test('groups files under the --source and --mapping before them', () => {
    expect(
      parseLoadArgs(['--source', 'ehr', 'a.csv', 'b.csv', '--source', 'lab', '--mapping', 'm.json', 'c.csv', '--chunk-size=500']),
    ).toEqual({
      groups: [
        { source: 'ehr', files: ['a.csv', 'b.csv'] },
        { source: 'lab', mapping: 'm.json', files: ['c.csv'] },
      ],
      chunkSize: 500,
      strict: false,
    });
    expect(parseLoadArgs(['--source', 'ehr', 'a.csv', '--give-way-chunk-size', '0'])).toMatchObject({ giveWayChunkSize: 0 });
    expect(parseLoadArgs(['--source', 'ehr', 'a.csv', '--give-way-chunk-size=25'])).toMatchObject({ giveWayChunkSize: 25 });
  });

  test.each([
    [['a.csv'], 'a.csv: a file must follow the --source it belongs to'],
    [['--source', 'ehr'], '--source ehr has no file'],
    [['--mapping', 'm.json', '--source', 'ehr', 'a.csv'], '--mapping must follow the --source it applies to'],
    [['--source', 'ehr', 'a.csv', '--chunk-size', '0'], '--chunk-size must be a whole number, 1 or more'],
    [
      ['--source', 'ehr', 'a.csv', '--give-way-chunk-size', '-1'],
      '--give-way-chunk-size must be a whole number, 0 (never give way) or more',
    ],
    [[], '--source is required'],
  ])('refuses %j', (args, message) => {
    expect(() => parseLoadArgs(args)).toThrow(message);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { bulkLoad, type LoadRow, type PairScorer } from '../identity/index.ts';
import { compileModel, preparedOf, scorePairRange } from '../matching/index.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import * as store from '../identity/store.ts';
import { person, seedSources } from './fixtures.ts';
import { until } from './wait.ts';

/** The identities the records of `localIds` are linked to. */
const identitiesOf = async (app: TestApp, localIds: string[]) =>
  (
    await queryRows<{ identity_id: string }>(
      app.services.database.db,
      sql`select distinct l.identity_id from links l join source_records r on r.id = l.record_id
          where r.local_id = any(${sql.param(localIds)}::text[])`,
    )
  ).map((r) => r.identity_id);

/** Two rows for each patient of `seeds`, with local ids `<prefix>-<seed>-0` and `-1`. */
const twoRowsEach = (seeds: number[], prefix: string): LoadRow[] =>
  seeds.flatMap((seed, k) =>
    [0, 1].map(
      (copy) =>
        ({
          file: 'load.csv',
          line: 2 + k * 2 + copy,
          input: { source: 'ehr', localId: `${prefix}-${seed}-${copy}`, ...person(seed) },
        }) as LoadRow,
    ),
  );

/**
 * A load's pair scorer that runs `meanwhile` once, when the first window's pairs are scored: after the load read
 * what was stored and before it writes, as a pipeline's ingest would. `calls()`: windows scored so far.
 */
function scoringAfter(meanwhile: () => Promise<unknown>) {
  let calls = 0;
  const scorePairs: PairScorer = async (records, model, pairs) => {
    if (calls++ === 0) await meanwhile();
    const out = { weights: new Float64Array(pairs.pairA.length), conflicts: new Uint32Array(pairs.pairA.length) };
    scorePairRange(records.map(preparedOf), compileModel(model), pairs, 0, pairs.pairA.length, out);
    return out;
  };
  return { scorePairs, calls: () => calls };
}

/** Active identities. */
const liveIdentities = async (app: TestApp) =>
  (await queryRows<{ n: number }>(app.services.database.db, sql`select count(*)::int as n from identities where status = 'ACTIVE'`))[0]!.n;

// Online ingest goes on while a load runs: a record of one of the load's patients may be stored between the
// load's plan of a window and the write of its chunk. The load must still leave that patient one identity.
describe(`a bulk load beside online ingest on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Lock requests waiting now (an online ingest waiting for a load's chunk). */
  const lockWaiters = async () =>
    (
      await queryRows<{ n: number }>(
        app.services.database.db,
        sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
      )
    )[0]!.n;

  /** Loads two records of each patient of `seeds`, running `meanwhile` between the plan and the write. */
  async function loadWith(seeds: number[], prefix: string, meanwhile: () => Promise<unknown>) {
    const rows = twoRowsEach(seeds, prefix);
    const scoring = scoringAfter(meanwhile);
    const summary = await bulkLoad(app.services.ingest, rows, {
      actor: { actor: 'test:load' },
      chunkSize: 2,
      scorePairs: scoring.scorePairs,
    });
    expect(scoring.calls()).toBeGreaterThan(0);
    expect(summary.loaded).toBe(rows.length);
    for (const seed of seeds) expect(await identitiesOf(app, [`${prefix}-${seed}-0`, `${prefix}-${seed}-1`])).toHaveLength(1);
  }

  test('a record of a loaded patient stored while the load plans joins the identity the load gives that patient', async () => {
    const seeds = [7101, 7102, 7103, 7104];
    await loadWith(seeds, 'BL', () =>
      app.services.ingest.ingest({ source: 'lab', localId: 'ON-7101', ...person(7101) } as never, { actor: 'test:online' }),
    );
    expect(await identitiesOf(app, ['BL-7101-0', 'BL-7101-1', 'ON-7101'])).toHaveLength(1);
    expect(await liveIdentities(app)).toBe(seeds.length);
  });

  test('into a stored index: two records of one patient stored together while the load plans end in its identity', async () => {
    const before = await liveIdentities(app);
    const seeds = [7201, 7202, 7203];
    await loadWith(seeds, 'BM', () =>
      app.services.ingest.ingestMany(
        [
          { source: 'lab', localId: 'ON-7201-a', ...person(7201) },
          { source: 'lab', localId: 'ON-7201-b', ...person(7201) },
        ] as never,
        { actor: 'test:online' },
      ),
    );
    expect(await identitiesOf(app, ['BM-7201-0', 'BM-7201-1', 'ON-7201-a', 'ON-7201-b'])).toHaveLength(1);
    expect(await liveIdentities(app)).toBe(before + seeds.length);
  });

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    'a load gives way: once an online ingest waits for a chunk, the next chunks are small, and its patient still has one identity',
    async () => {
      const db = app.services.database.db;
      const seeds = Array.from({ length: 120 }, (_, k) => 7300 + k);
      const rows = twoRowsEach(seeds, 'GW');
      let online: Promise<unknown> | null = null;
      const summary = await bulkLoad(app.services.ingest, rows, {
        actor: { actor: 'test:load' },
        chunkSize: 100,
        giveWayChunkSize: 10,
        beforeChunkCommit: async (_tx, index) => {
          if (index !== 0) return;
          // A pipeline sends a record of a patient of a later chunk; it waits for this chunk's lock.
          online = app.services.ingest.ingest({ source: 'lab', localId: 'ON-GW', ...person(seeds.at(-1)!) } as never, {
            actor: 'test:online',
          });
          await until(async () => (await lockWaiters()) > 0, 2_000);
        },
      });
      await online;
      expect(summary.loaded).toBe(rows.length);
      const sizes = (
        await queryRows<{ records: number }>(
          db,
          sql`select (details->>'records')::int as records from audit_log
              where action = 'bulkLoad' and details->>'runId' = ${summary.runId} order by (details->>'chunk')::int`,
        )
      ).map((r) => r.records);
      // The first chunk as planned; after it, chunks of about the give-way size, each of whole identities.
      expect(sizes[0]).toBeGreaterThanOrEqual(90);
      expect(sizes.length).toBeGreaterThan(10);
      for (const size of sizes.slice(1)) expect(size).toBeLessThanOrEqual(10);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(rows.length);
      expect(await identitiesOf(app, [`GW-${seeds.at(-1)}-0`, `GW-${seeds.at(-1)}-1`, 'ON-GW'])).toHaveLength(1);
    },
  );

  /**
   * A load whose first chunk holds 100 records and that, once it gives way to online ingest, writes chunks of at
   * most 10 records for the rest of the test.
   */
  const GIVING_WAY = { actor: { actor: 'test:load' }, chunkSize: 100, giveWayChunkSize: 10, giveWayMs: 60_000 };

  /** What each chunk of a load wrote, in order (from its audit entry). */
  const chunksOf = (runId: string) =>
    queryRows<{ records: number; replanned: number; lock: string }>(
      app.services.database.db,
      sql`select (details->>'records')::int as records, (details->>'replanned')::int as replanned, details->>'lock' as lock
          from audit_log where action = 'bulkLoad' and details->>'runId' = ${runId} order by (details->>'chunk')::int`,
    );

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    'a load that gives way writes the newcomers it meets into smaller chunks, so no chunk holds the lock much longer',
    async () => {
      const seeds = Array.from({ length: 120 }, (_, k) => 7600 + k);
      const rows = twoRowsEach(seeds, 'NW');
      // Five patients of one later give-way chunk (records 200-209) are sent online while the first chunk writes.
      const onlineSeeds = seeds.slice(100, 105);
      let online: Promise<unknown[]> | null = null;
      const summary = await bulkLoad(app.services.ingest, rows, {
        ...GIVING_WAY,
        beforeChunkCommit: async (_tx, index) => {
          if (index !== 0) return;
          online = Promise.all(
            onlineSeeds.map((seed) =>
              app.services.ingest.ingest({ source: 'lab', localId: `ON-NW-${seed}`, ...person(seed) } as never, { actor: 'test:online' }),
            ),
          );
          await until(async () => (await lockWaiters()) >= onlineSeeds.length, 3_000);
        },
      });
      await online;
      expect(summary.loaded).toBe(rows.length);
      const chunks = await chunksOf(summary.runId);
      // Each online record was placed again once, beside its patient's records.
      expect(chunks.reduce((n, c) => n + c.replanned, 0)).toBe(onlineSeeds.length);
      // Placing one again is weighed as four records: the chunks that did so are cut smaller (two records are one
      // patient, the least a chunk can hold).
      for (const c of chunks.slice(1)) expect(c.records === 2 || c.records + 4 * c.replanned <= 10).toBe(true);
      expect(chunks.filter((c) => c.replanned > 0).length).toBeGreaterThan(1);
      expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(rows.length);
      for (const seed of onlineSeeds) expect(await identitiesOf(app, [`NW-${seed}-0`, `NW-${seed}-1`, `ON-NW-${seed}`])).toHaveLength(1);
    },
  );

  /**
   * Loads `rows` with a first chunk of 100 records, for which an online ingest (`firstLocalId`, of patient
   * `firstSeed`) waits, so that the load gives way from then on (chunks of at most 10 records); runs `atSecond` in
   * the second chunk's transaction, once that online ingest is stored.
   */
  async function loadGivingWay(rows: LoadRow[], firstLocalId: string, firstSeed: number, atSecond: () => Promise<void>) {
    let first: Promise<unknown> | null = null;
    const summary = await bulkLoad(app.services.ingest, rows, {
      ...GIVING_WAY,
      beforeChunkCommit: async (_tx, index) => {
        if (index === 0) {
          // It waits for the first chunk, which holds the ingest lock.
          first = app.services.ingest.ingest({ source: 'lab', localId: firstLocalId, ...person(firstSeed) } as never, {
            actor: 'test:online',
          });
          await until(async () => (await lockWaiters()) > 0, 2_000);
        }
        if (index !== 1) return;
        await first;
        await atSecond();
      },
    });
    expect(summary.loaded).toBe(rows.length);
    expect(await identitiesOf(app, [firstLocalId])).toHaveLength(1);
    return summary;
  }

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    'a chunk that gives way locks only its keys: an online ingest of another patient goes on beside it, one of its own patients waits',
    async () => {
      const seeds = Array.from({ length: 60 }, (_, k) => 7800 + k);
      const rows = twoRowsEach(seeds, 'KL');
      const model = await app.services.ingest.models.active();
      const keysOf = (input: Record<string, unknown>) => app.services.ingest.prepare({ source: 'lab', ...input } as never, model).keys;
      // A patient who shares no blocking key with any patient of the load.
      const stranger = person(7990, {
        givenName: 'Quillon',
        familyName: 'Ferreira-Dunmore',
        birthDate: '1931-07-07',
        phone: '7015550142',
        addressLine1: '12 Prairie Rose Way',
        city: 'Fargo',
        state: 'ND',
        postalCode: '58102',
      });
      const loadKeys = new Set(seeds.flatMap((seed) => keysOf({ localId: 'x', ...person(seed) })));
      expect(keysOf({ localId: 'ON-KL-stranger', ...stranger }).filter((k) => loadKeys.has(k))).toEqual([]);
      // The first chunk holds seeds 0-49 (100 records); the second begins with seeds[50].
      const own = seeds[50]!;
      let waiting: Promise<unknown> | null = null;
      let beside: 'done' | 'waited' | null = null;
      const summary = await loadGivingWay(rows, 'ON-KL-first', 7991, async () => {
        // Under the ingest lock this call would wait for the chunk, and the chunk for this call.
        const stored = app.services.ingest.ingest({ source: 'lab', localId: 'ON-KL-stranger', ...stranger } as never, {
          actor: 'test:online',
        });
        const timeout = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5_000));
        beside = await Promise.race([stored.then(() => 'done' as const), timeout]);
        // A record of a patient this chunk writes shares its keys: it waits for the chunk.
        waiting = app.services.ingest.ingest({ source: 'lab', localId: `ON-KL-${own}`, ...person(own) } as never, { actor: 'test:online' });
        await until(async () => (await lockWaiters()) > 0, 2_000);
      });
      await waiting;
      expect(beside).toBe('done');
      const chunks = await chunksOf(summary.runId);
      expect(chunks[0]).toMatchObject({ records: 100, lock: 'ingest' });
      expect(chunks.length).toBeGreaterThan(2);
      for (const c of chunks.slice(1)) expect(c.lock).toBe('keys');
      expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(rows.length);
      expect(await identitiesOf(app, [`KL-${own}-0`, `KL-${own}-1`, `ON-KL-${own}`])).toHaveLength(1);
      expect(await identitiesOf(app, ['ON-KL-stranger'])).toHaveLength(1);
    },
  );

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    'a chunk that locks its keys also locks those of a newcomer stored after it was cut, and places the newcomer again beside it',
    async () => {
      const db = app.services.database.db;
      const seeds = Array.from({ length: 60 }, (_, k) => 8000 + k);
      const rows = twoRowsEach(seeds, 'KN');
      const model = await app.services.ingest.models.active();
      // A patient of the third chunk (seeds 55-59, after 0-49 and 50-54), sent online while the second is written.
      const own = seeds[55]!;
      const input = { source: 'lab', localId: `ON-KN-${own}`, ...person(own) };
      const onlineKeys = [store.recordLockKey('lab', input.localId), ...app.services.ingest.prepare(input as never, model).keys];
      // The key that online ingest locks last (in hash order): held here, so that call waits holding all the others.
      const [lastKey] = await queryRows<{ last: string }>(
        db,
        sql`select k as last from unnest(${sql.param(onlineKeys)}::text[]) as k order by hashtextextended(k, 0) desc limit 1`,
      );
      let release: () => void = () => undefined;
      let holding: Promise<unknown> | null = null;
      let online: Promise<unknown> | null = null;
      let released: Promise<unknown> | null = null;
      const summary = await loadGivingWay(rows, 'ON-KN-first', 7992, async () => {
        await new Promise<void>((locked) => {
          holding = db.transaction(async (tx) => {
            await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${lastKey!.last}, 0))`);
            locked();
            await new Promise<void>((done) => (release = done));
          });
        });
        online = app.services.ingest.ingest(input as never, { actor: 'test:online' });
        await until(async () => (await lockWaiters()) > 0, 2_000);
        // Once the third chunk waits for the online call too (after it was cut without it), the call may go on.
        released = until(async () => (await lockWaiters()) >= 2, 10_000).then(() => release());
      });
      await released;
      await holding;
      await online;
      const chunks = await chunksOf(summary.runId);
      expect(chunks.map((c) => c.records)).toEqual([100, 10, 10]);
      expect(chunks[2]).toEqual({ records: 10, replanned: 1, lock: 'keys' });
      expect(await identitiesOf(app, [`KN-${own}-0`, `KN-${own}-1`, `ON-KN-${own}`])).toHaveLength(1);
    },
  );

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    "a chunk whose key locks do not fit the server's lock table is written again under the ingest lock",
    async () => {
      const seeds = Array.from({ length: 60 }, (_, k) => 8200 + k);
      const rows = twoRowsEach(seeds, 'KF');
      let refused = 0;
      const summary = await loadGivingWay(rows, 'ON-KF-first', 7993, async () => {
        // The server's answer when its lock table is full, once, to the first chunk that locks its keys.
        if (refused++ === 0) throw Object.assign(new Error('out of shared memory'), { code: '53200' });
      });
      // Refused once with key locks, written the second time under the ingest lock.
      expect(refused).toBe(2);
      const chunks = await chunksOf(summary.runId);
      expect(chunks.map((c) => c.lock)).toEqual(['ingest', 'ingest', 'keys']);
      expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(rows.length);
      for (const seed of seeds) expect(await identitiesOf(app, [`KF-${seed}-0`, `KF-${seed}-1`])).toHaveLength(1);
    },
  );
});

// A load into a stored index looks up only the keys stored records may carry (`StoredKeyFilter`): those stored when
// it began, and those stored since, added as each window begins. An index of its own, so that no record of
// another test shares the patient's keys.
describe(`a bulk load into a stored index beside online ingest on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('a record stored online while one window is planned is a candidate of the next', async () => {
    await app.services.ingest.ingest({ source: 'lab', localId: 'ON-7400-before', ...person(7400) } as never, { actor: 'test:online' });
    const before = await liveIdentities(app);
    const rows = twoRowsEach([7401, 7402], 'BW');
    // No stored record carries a key of the second patient, so the load finds the record sent online only if
    // its keys were added to those it looks up.
    const model = await app.services.ingest.models.active();
    const keys = app.services.ingest.prepare({ source: 'lab', localId: 'ON-7402', ...person(7402) } as never, model).keys;
    const shared = await queryRows<{ n: number }>(
      app.services.database.db,
      sql`select count(*)::int as n from record_block_keys where key_hash in (select hashtextextended(k, 0) from unnest(${sql.param(keys)}::text[]) as k)`,
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(shared[0]!.n).toBe(0);
    // While the first window is planned, a pipeline sends the second window's patient.
    const scoring = scoringAfter(() =>
      app.services.ingest.ingest({ source: 'lab', localId: 'ON-7402', ...person(7402) } as never, { actor: 'test:online' }),
    );
    // One patient a window: the second patient's rows are planned after the first window is written.
    const summary = await bulkLoad(app.services.ingest, rows, {
      actor: { actor: 'test:load' },
      window: 2,
      chunkSize: 2,
      scorePairs: scoring.scorePairs,
    });
    expect(scoring.calls()).toBeGreaterThan(1);
    expect(summary.loaded).toBe(rows.length);
    expect(await identitiesOf(app, ['BW-7402-0', 'BW-7402-1', 'ON-7402'])).toHaveLength(1);
    expect(await identitiesOf(app, ['BW-7401-0', 'BW-7401-1'])).toHaveLength(1);
    expect(await liveIdentities(app)).toBe(before + 2);
  });
});

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';
import { createScratchDatabase, gqlAt, startServer, type ServerProcess } from './processes.ts';

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome identity { id } } }';
const ME = '{ me { name } serverInfo { replica } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Several `npm start` processes on one PostgreSQL database behave as one service. (The embedded database is one
// process by design: a second one is refused, see embedded-lock.test.ts.)
describe.runIf(TEST_DB_KIND === 'postgres')('two server processes on one PostgreSQL database', () => {
  const adminKey = `mpi_${randomBytes(24).toString('base64url')}`;
  const perMinute = 30;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    database = await createScratchDatabase('mpi_replicas');
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '4',
      MPI_BOOTSTRAP_ADMIN_KEY: adminKey,
      MPI_AUTO_REGISTER_SOURCES: 'true',
      MPI_RATE_LIMIT_PER_MINUTE: String(perMinute),
      MPI_QUALITY_SCHEDULE_MINUTES: '0.02',
      // Long enough that a process stalled by a busy machine keeps its leases; the take-over waits for it.
      MPI_EVENTS_LEASE_MS: '5000',
    };
    // One after the other: both migrate the same database at start-up.
    a = await startServer('replica-a', env);
    b = await startServer('replica-b', env);
  }, 320_000);
  afterAll(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await database?.drop();
  });

  test('each names itself in /healthz, /readyz, serverInfo and every log line', async () => {
    for (const server of [a, b]) {
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok', replica: server.replica });
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as Record<string, unknown>;
      expect(ready).toMatchObject({ status: 'ready', replica: server.replica, database: 'postgres' });
      expect(ready.leases).toBeInstanceOf(Array);
      const info = await gqlAt<{ serverInfo: { replica: string } }>(server.url, ME, {}, adminKey);
      expect(info.data?.serverInfo.replica).toBe(server.replica);
      expect(server.logs.length).toBeGreaterThan(0);
      expect(server.logs.every((line) => line.replica === server.replica)).toBe(true);
    }
  });

  test('concurrent ingests of one new patient through both replicas give one identity', async () => {
    const patient = person(4242, { ssn: '512-48-3067' });
    const sends = Array.from({ length: 8 }, (_, i) =>
      gqlAt<{ ingestRecord: { outcome: string; identity: { id: string } } }>(
        i % 2 ? b.url : a.url,
        INGEST,
        { input: { source: 'ehr', localId: `CONC-${i}`, ...patient } },
        adminKey,
      ),
    );
    const results = await Promise.all(sends);
    expect(results.map((r) => r.errors)).toEqual(results.map(() => undefined));
    const identities = new Set(results.map((r) => r.data!.ingestRecord.identity.id));
    expect(identities.size).toBe(1);
    expect(results.filter((r) => r.data!.ingestRecord.outcome === 'CREATED')).toHaveLength(1);
    const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
    try {
      const rows = await sql`select count(distinct l.identity_id)::int as n from links l
        join source_records r on r.id = l.record_id where r.local_id like 'CONC-%'`;
      expect(rows[0]!.n).toBe(1);
    } finally {
      await sql.end();
    }
  });

  test('a key has one rate limit across both replicas', async () => {
    // A key of its own, so the other tests' requests do not count: the bootstrap admin creates it.
    const created = await gqlAt<{ createApiKey: { key: string } }>(
      a.url,
      'mutation { createApiKey(name: "shared-limit", role: AUDITOR) { key } }',
      {},
      adminKey,
    );
    const key = created.data?.createApiKey.key;
    expect(key, JSON.stringify(created.errors)).toBeTruthy();
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i += 1) {
      statuses.push((await gqlAt(a.url, '{ me { name } }', {}, key)).status);
      statuses.push((await gqlAt(b.url, '{ me { name } }', {}, key)).status);
    }
    const admitted = statuses.filter((s) => s === 200).length;
    // Each process alone would admit all 40; together they admit the key's 30, and what refilled meanwhile.
    const refilled = Math.ceil(((Date.now() - started) / 60_000) * perMinute);
    expect(refilled, 'the requests took too long to show the limit').toBeLessThan(10);
    expect(admitted).toBeGreaterThanOrEqual(perMinute);
    expect(admitted).toBeLessThanOrEqual(perMinute + refilled);
    expect(statuses.filter((s) => s === 429).length).toBe(40 - admitted);
  });

  test('the quality schedule runs on one replica, and on the other once the leader is gone', async () => {
    const measured = (server: ServerProcess) => server.logs.filter((line) => line.msg === 'quality measured').length;
    const deadline = Date.now() + 60_000;
    while (measured(a) + measured(b) < 2 && Date.now() < deadline) await sleep(250);
    const [leader, follower] = measured(a) > 0 ? [a, b] : [b, a];
    expect(measured(leader)).toBeGreaterThanOrEqual(2);
    expect(measured(follower)).toBe(0);
    const ready = (await (await fetch(`${leader.url}/readyz`)).json()) as { leases: string[] };
    expect(ready.leases).toContain('quality-schedule');

    // Killed without a chance to give the lease up: the other takes over once the lease runs out.
    await leader.stop('SIGKILL');
    const takeover = Date.now() + 60_000;
    while (measured(follower) === 0 && Date.now() < takeover) await sleep(250);
    expect(measured(follower)).toBeGreaterThan(0);
    expect(((await (await fetch(`${follower.url}/readyz`)).json()) as { leases: string[] }).leases).toContain('quality-schedule');
  });
});

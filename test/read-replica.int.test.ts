import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp, type App } from '../api/app.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';
import { createScratchDatabase } from './processes.ts';

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }';
const READ = 'query($localId: String!) { sourceRecord(source: "ehr", localId: $localId) { localId } }';
/** The streaming replica scripts/pg-replica.sh starts (CI runs it); TEST_DATABASE_READ_PORT moves it. */
const REPLICA_PORT = process.env.TEST_DATABASE_READ_PORT ?? '5433';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Routed {
  app: App;
  writerKey: string;
  readerKey: string;
  gql(key: string, query: string, variables: Record<string, unknown>, headers?: Record<string, string>): Promise<Record<string, unknown>>;
  ready(): Promise<Record<string, unknown>>;
}

/** The service over `url` with reads routed to `readUrl`; two admin keys, so one can write and the other only read. */
async function routedApp(url: string, readUrl: string, env: Record<string, string> = {}): Promise<Routed> {
  const writerKey = `mpi_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    DATABASE_READ_URL: readUrl,
    DATABASE_POOL_SIZE: '4',
    MPI_BOOTSTRAP_ADMIN_KEY: writerKey,
    MPI_AUTO_REGISTER_SOURCES: 'true',
    ...env,
  });
  const app = await createApp(config, createLogger('silent'));
  const { key: readerKey } = await createApiKey(app.services.database.db, 'reader', 'admin');
  return {
    app,
    writerKey,
    readerKey,
    async gql(key, query, variables, headers = {}) {
      const response = await app.http(
        new Request('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
          body: JSON.stringify({ query, variables }),
        }),
      );
      return (await response.json()) as Record<string, unknown>;
    },
    async ready() {
      return (await (await app.http(new Request('http://localhost/readyz'))).json()) as Record<string, unknown>;
    },
  };
}

const localIdOf = (result: Record<string, unknown>) =>
  (result as { data?: { sourceRecord: { localId: string } | null } }).data?.sourceRecord?.localId ?? null;

describe.runIf(TEST_DB_KIND === 'postgres')('read routing with DATABASE_READ_URL', () => {
  // A second database stands in for the replica: what a query finds tells which database it read.
  describe('to a second database', () => {
    let primary: Awaited<ReturnType<typeof createScratchDatabase>>;
    let second: Awaited<ReturnType<typeof createScratchDatabase>>;
    let routed: Routed;
    beforeAll(async () => {
      primary = await createScratchDatabase('mpi_primary');
      second = await createScratchDatabase('mpi_second');
      // The stand-in gets the schema (a real replica has it from the primary).
      await (
        await createApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: second.url }), createLogger('silent'))
      ).close();
      routed = await routedApp(primary.url, second.url);
    });
    afterAll(async () => {
      await routed?.app.close();
      await primary?.drop();
      await second?.drop();
    });

    test('queries read the replica; the caller who just wrote, and x-mpi-read: primary, read the primary', async () => {
      expect(
        (await routed.gql(routed.writerKey, INGEST, { input: { source: 'ehr', localId: 'RR-1', ...person(1) } })).errors,
      ).toBeUndefined();
      // Another caller's query goes to the replica, which does not have the record.
      expect(localIdOf(await routed.gql(routed.readerKey, READ, { localId: 'RR-1' }))).toBeNull();
      // The writer reads its own write: the replica has not replayed it, so the primary answers.
      expect(localIdOf(await routed.gql(routed.writerKey, READ, { localId: 'RR-1' }))).toBe('RR-1');
      expect(localIdOf(await routed.gql(routed.readerKey, READ, { localId: 'RR-1' }, { 'x-mpi-read': 'primary' }))).toBe('RR-1');
      // Mutations always run on the primary: a second ingest of the same record is UNCHANGED, not CREATED.
      const again = await routed.gql(routed.readerKey, INGEST, { input: { source: 'ehr', localId: 'RR-1', ...person(1) } });
      expect(again).toMatchObject({ data: { ingestRecord: { outcome: 'UNCHANGED' } } });
      expect(await routed.ready()).toMatchObject({ status: 'ready', readReplica: { serving: true, standby: false, lagSeconds: 0 } });
    });
  });

  describe(`to a streaming replica on port ${REPLICA_PORT}`, () => {
    let primary: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
    let replicaUrl = '';
    let replica: postgres.Sql | null = null;
    let skipReason: string | null = null;
    beforeAll(async () => {
      const probe = postgres({
        host: '127.0.0.1',
        port: Number(REPLICA_PORT),
        user: 'postgres',
        database: 'postgres',
        max: 1,
        connect_timeout: 3,
      });
      try {
        const [row] = await probe`select pg_is_in_recovery() as standby`;
        if (!row!.standby) skipReason = `the server on port ${REPLICA_PORT} is not a standby`;
      } catch {
        skipReason = `no streaming replica on 127.0.0.1:${REPLICA_PORT} (start one with: bash scripts/pg-replica.sh, as root)`;
      } finally {
        await probe.end();
      }
      if (skipReason) return;
      primary = await createScratchDatabase('mpi_streamed');
      const url = new URL(primary.url);
      url.port = REPLICA_PORT;
      replicaUrl = url.toString();
      // Wait for the new database to reach the replica.
      for (let i = 0; i < 100 && !replica; i += 1) {
        const candidate = postgres(replicaUrl, { max: 1, connect_timeout: 3, onnotice: () => undefined });
        try {
          await candidate`select 1`;
          replica = candidate;
        } catch {
          await candidate.end();
          await sleep(200);
        }
      }
    });
    afterAll(async () => {
      if (replica) await replica`select pg_wal_replay_resume()`.catch(() => undefined);
      await replica?.end();
      await primary?.drop();
    });

    test('reads come from the standby while it keeps up, from the primary once it lags too far', async (context) => {
      if (skipReason) context.skip(skipReason);
      const routed = await routedApp(primary!.url, replicaUrl, { DATABASE_READ_MAX_LAG_SECONDS: '2' });
      try {
        await routed.gql(routed.writerKey, INGEST, { input: { source: 'ehr', localId: 'SR-1', ...person(2) } });
        // Replayed within moments: then another caller finds it on the standby.
        let found: string | null = null;
        for (let i = 0; i < 50 && !found; i += 1) {
          found = localIdOf(await routed.gql(routed.readerKey, READ, { localId: 'SR-1' }));
          if (!found) await sleep(100);
        }
        expect(found).toBe('SR-1');
        expect(await routed.ready()).toMatchObject({ readReplica: { serving: true, standby: true } });

        // Replay stopped: a new record is on the primary only, and the reader does not see it on the standby.
        await replica!`select pg_wal_replay_pause()`;
        await routed.gql(routed.writerKey, INGEST, { input: { source: 'ehr', localId: 'SR-2', ...person(3) } });
        expect(localIdOf(await routed.gql(routed.readerKey, READ, { localId: 'SR-2' }))).toBeNull();
        expect(localIdOf(await routed.gql(routed.writerKey, READ, { localId: 'SR-2' }))).toBe('SR-2');

        // Past the lag limit (2 s) the standby is skipped and the primary answers everyone.
        let lagging: Record<string, unknown> = {};
        for (let i = 0; i < 60; i += 1) {
          await sleep(250);
          lagging = await routed.ready();
          if ((lagging.readReplica as { serving: boolean }).serving === false) break;
        }
        expect(lagging).toMatchObject({ readReplica: { serving: false, standby: true } });
        expect(localIdOf(await routed.gql(routed.readerKey, READ, { localId: 'SR-2' }))).toBe('SR-2');
      } finally {
        await replica!`select pg_wal_replay_resume()`;
        await routed.app.close();
      }
    });
  });
});

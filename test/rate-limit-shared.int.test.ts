import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRequestGuard } from '../api/hardening.ts';
import { sql } from 'drizzle-orm';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { leasedBuckets, postgresBuckets, redisBuckets, type RateBuckets } from '../platform/rate-buckets.ts';
import { TEST_DB_KIND, openTestDatabase } from './db.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((done) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
    socket.once('timeout', () => (socket.destroy(), done(false)));
    socket.connect(6379, '127.0.0.1');
  });
}

/** Two replicas' guards over one store (or each over its own view of it): what one admits the other sees. */
async function admittedByTwoReplicas(
  buckets: RateBuckets | [RateBuckets, RateBuckets],
  key: string,
  perMinute: number,
  requests: number,
): Promise<number> {
  const [first, second] = Array.isArray(buckets) ? buckets : [buckets, buckets];
  const replicas = [
    createRequestGuard({ perMinute, maxBodyBytes: 1024, buckets: first }),
    createRequestGuard({ perMinute, maxBodyBytes: 1024, buckets: second }),
  ];
  let admitted = 0;
  for (let i = 0; i < requests; i += 1) {
    const request = new Request('http://localhost/graphql', { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    const replica = replicas[i % 2]!;
    if ((await replica.admit(request, '192.0.2.10')) instanceof Response) continue;
    admitted += 1;
    await replica.observe(request, new Response(null, { status: 200 }), '192.0.2.10'); // as the server does
  }
  return admitted;
}

describe(`rate limits shared through the database on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openTestDatabase();
  });
  afterAll(async () => {
    await handle?.close();
  });

  test('two replicas on one database admit a key its limit once, not once each', async () => {
    const admitted = await admittedByTwoReplicas(postgresBuckets(handle.db), `pg-${Date.now()}`, 10, 20);
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(admitted).toBeLessThanOrEqual(11); // a token may refill while the 20 requests run
  });

  test('two replicas leasing tokens from one database admit a key its limit once, touching it once per lease', async () => {
    const shared = postgresBuckets(handle.db);
    let calls = 0;
    const counted: RateBuckets = { ...shared, take: (...args) => ((calls += 1), shared.take(...args)) };
    const started = Date.now();
    const admitted = await admittedByTwoReplicas([leasedBuckets(counted), leasedBuckets(counted)], `pg-lease-${Date.now()}`, 1000, 1200);
    // The bucket refills at 1,000 a minute while the requests run: at most that much more may be admitted.
    const refilled = Math.ceil(((Date.now() - started) / 60_000) * 1000);
    expect(admitted).toBeGreaterThanOrEqual(1000);
    expect(admitted).toBeLessThanOrEqual(1000 + refilled);
    // Leases of 10 tokens, plus a draw of the one refilled token each replica asks for when it is due.
    expect(calls).toBeLessThan(admitted / 5);
  });

  test('idle buckets are pruned once they would be full again, busy ones are kept', async () => {
    const buckets = postgresBuckets(handle.db);
    await buckets.take('req:idle', 5, 1);
    await buckets.take('req:busy', 5, 1);
    await handle.db.execute(`update rate_limit_buckets set updated_at = now() - interval '2 minutes' where key = 'req:idle'` as never);
    expect(await buckets.prune()).toBe(1);
    // The busy bucket kept its draw: four tokens left of five.
    expect((await buckets.take('req:busy', 5, 0)).tokens).toBeLessThan(4.1);
  });

  test('the bucket table is unlogged: a draw does not wait for a WAL flush, and holds no patient data', async () => {
    const [table] = await queryRows<{ persistence: string }>(
      handle.db,
      sql`select relpersistence as persistence from pg_class where oid = 'rate_limit_buckets'::regclass`,
    );
    expect(table?.persistence).toBe('u');
    const columns = await queryRows<{ name: string }>(
      handle.db,
      sql`select column_name as name from information_schema.columns where table_name = 'rate_limit_buckets' order by ordinal_position`,
    );
    expect(columns.map((c) => c.name)).toEqual(['key', 'tokens', 'granted', 'updated_at']);
  });
});

describe.runIf(TEST_DB_KIND === 'pglite')('rate limits shared through Redis', () => {
  test('two replicas on one Redis admit a key its limit once, not once each', async (context) => {
    if (!(await redisAnswers())) context.skip(`no Redis at ${REDIS_URL}`);
    const buckets = redisBuckets(REDIS_URL, createLogger('silent'));
    try {
      const admitted = await admittedByTwoReplicas(buckets, `redis-${Date.now()}-${Math.random()}`, 10, 20);
      expect(admitted).toBeGreaterThanOrEqual(10);
      expect(admitted).toBeLessThanOrEqual(11);
    } finally {
      await buckets.close();
    }
  });
});

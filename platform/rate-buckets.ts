import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { queryRows, type Database } from './db/client.ts';
import { startElectedJob, type ElectedJob } from './lease.ts';
import { errorFields, type Logger } from './logger.ts';

/** A bucket after a draw: whether the token was granted, and the tokens left. */
export interface BucketState {
  granted: boolean;
  tokens: number;
}

/**
 * Token buckets by key, `capacity` at once and refilled continuously at `capacity` per minute. `take` draws
 * `cost` tokens (0 only reads the level; `granted` then says whether a token is there). Kept where every replica
 * sees the same buckets (PostgreSQL, Redis), or in memory for a single process.
 */
export interface RateBuckets {
  readonly kind: 'memory' | 'postgres' | 'redis';
  take(key: string, capacity: number, cost: 0 | 1): Promise<BucketState>;
  /** Deletes buckets idle long enough to be full again (a cleanup job runs it). */
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** A bucket refills completely in a minute; idle longer than this, it is as good as new. */
const FULL_AFTER_MS = 60_000;
/** Buckets kept in memory; past this, idle full buckets are dropped (then the oldest). */
const MAX_MEMORY_BUCKETS = 10_000;

/** Buckets in this process's memory: the embedded database's single process, and unit tests. */
export function memoryBuckets(now: () => number = Date.now): RateBuckets {
  const buckets = new Map<string, { tokens: number; updated: number; capacity: number }>();
  const level = (b: { tokens: number; updated: number; capacity: number }, at: number) =>
    Math.min(b.capacity, b.tokens + ((at - b.updated) * b.capacity) / FULL_AFTER_MS);
  return {
    kind: 'memory',
    // The work is done before the promise is returned, so a draw is visible to the next call at once.
    take(key, capacity, cost) {
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= MAX_MEMORY_BUCKETS) {
          for (const [k, b] of buckets) if (level(b, at) >= b.capacity) buckets.delete(k);
          if (buckets.size >= MAX_MEMORY_BUCKETS) buckets.delete(buckets.keys().next().value!);
        }
        bucket = { tokens: capacity, updated: at, capacity };
        buckets.set(key, bucket);
      }
      bucket.capacity = capacity;
      bucket.tokens = level(bucket, at);
      bucket.updated = at;
      const granted = bucket.tokens >= Math.max(cost, 1);
      if (granted) bucket.tokens -= cost;
      return Promise.resolve({ granted, tokens: bucket.tokens });
    },
    prune() {
      const at = now();
      let pruned = 0;
      for (const [k, b] of buckets)
        if (at - b.updated >= FULL_AFTER_MS) {
          buckets.delete(k);
          pruned += 1;
        }
      return Promise.resolve(pruned);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Buckets in the `rate_limit_buckets` table: one atomic upsert per draw, refilled by the database's clock, so
 * every replica on the database draws from the same bucket.
 */
export function postgresBuckets(db: Database): RateBuckets {
  return {
    kind: 'postgres',
    async take(key, capacity, cost) {
      const refill = sql`least(${capacity}::float8, b.tokens + extract(epoch from now() - b.updated_at) * ${capacity / 60}::float8)`;
      const [row] = await queryRows<{ granted: boolean; tokens: number }>(
        db,
        sql`insert into rate_limit_buckets as b (key, tokens, granted, updated_at)
            values (${key}, ${capacity - cost}::float8, true, now())
            on conflict (key) do update set
              tokens = case when ${refill} >= greatest(${cost}::float8, 1) then ${refill} - ${cost}::float8 else ${refill} end,
              granted = ${refill} >= greatest(${cost}::float8, 1),
              updated_at = now()
            returning granted, tokens`,
      );
      return { granted: row!.granted, tokens: Number(row!.tokens) };
    },
    async prune() {
      const rows = await queryRows(
        db,
        sql`delete from rate_limit_buckets where updated_at < now() - make_interval(secs => ${FULL_AFTER_MS / 1000}) returning key`,
      );
      return rows.length;
    },
    close: () => Promise.resolve(),
  };
}

/** The token-bucket draw as one Lua script, so Redis runs it atomically; buckets expire once full again. */
const REDIS_TAKE = `
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = capacity
if state[1] then
  tokens = math.min(capacity, tonumber(state[1]) + (now - tonumber(state[2])) * capacity / 60000)
end
local granted = 0
if tokens >= math.max(cost, 1) then
  tokens = tokens - cost
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return {granted, tostring(tokens)}
`;

/** Buckets in Redis (keys `mpi:rate:<key>`, expiring once full again): for many replicas or a busy database. */
export function redisBuckets(url: string, logger: Logger): RateBuckets {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  client.on('error', (error: Error) => logger.warn(errorFields(error), 'rate-limit store (Redis) unavailable'));
  client.defineCommand('mpiTakeToken', { numberOfKeys: 1, lua: REDIS_TAKE });
  const take = client as unknown as { mpiTakeToken(key: string, capacity: number, cost: number): Promise<[number, string]> };
  return {
    kind: 'redis',
    async take(key, capacity, cost) {
      const [granted, tokens] = await take.mpiTakeToken(`mpi:rate:${key}`, capacity, cost);
      return { granted: granted === 1, tokens: Number(tokens) };
    },
    prune: () => Promise.resolve(0),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * Falls back to this process's memory while the shared store fails (logged once per outage), so an outage of
 * the store never refuses or admits everyone: each replica then limits on its own until the store is back.
 */
export function withMemoryFallback(shared: RateBuckets, logger: Logger): RateBuckets {
  const local = memoryBuckets();
  let failing = false;
  return {
    kind: shared.kind,
    async take(key, capacity, cost) {
      try {
        const state = await shared.take(key, capacity, cost);
        if (failing) logger.info({ store: shared.kind }, 'rate-limit store answers again');
        failing = false;
        return state;
      } catch (error) {
        if (!failing) logger.warn({ store: shared.kind, ...errorFields(error) }, 'rate-limit store failed; limiting per process');
        failing = true;
        return local.take(key, capacity, cost);
      }
    },
    prune: async () => (await local.prune()) + (await shared.prune()),
    close: () => shared.close(),
  };
}

/** Deletes idle buckets every minute, on the one replica that holds the `rate-limit-cleanup` lease. */
export function startBucketCleanup(
  db: Database,
  buckets: RateBuckets,
  election: { holder: string; leaseMs: number; logger: Logger },
): ElectedJob {
  return startElectedJob(db, {
    name: 'rate-limit-cleanup',
    everyMs: FULL_AFTER_MS,
    ...election,
    job: async () => {
      await buckets.prune();
    },
  });
}

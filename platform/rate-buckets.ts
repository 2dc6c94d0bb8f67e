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
 * `cost` tokens, all or none (0 only reads the level; `granted` then says whether a token is there). Kept where
 * every replica sees the same buckets (PostgreSQL, Redis), or in memory for a single process.
 */
export interface RateBuckets {
  readonly kind: 'memory' | 'postgres' | 'redis';
  take(key: string, capacity: number, cost: number): Promise<BucketState>;
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

/** Tokens a replica leases at once: a hundredth of the limit (at most this many), so a store call serves many requests. */
const MAX_LEASE = 100;
const LEASE_FRACTION = 0.01;

/** Tokens `leasedBuckets` draws from the shared store at once for a bucket of `capacity`: 1 below 200 a minute. */
export function leaseSize(capacity: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(capacity * LEASE_FRACTION)));
}

interface Lease {
  /** Leased tokens this replica has not spent yet. */
  tokens: number;
  /** When the store last handed out tokens for this key. */
  leasedAt: number;
  /** The draw from the store under way, if any: resolves to the refusal, or null once tokens were added. */
  pending: Promise<BucketState | null> | null;
  /** After a refusal, when the shared bucket holds a token again: until then requests are refused here. */
  refusedUntil: number;
}

/**
 * A shared store's buckets, drawn in leases: a replica takes `leaseSize(capacity)` tokens from the shared bucket
 * in one call and spends them on its own requests, going back to the store when they run out, so the store is
 * touched once per lease instead of once per request. The limit stays one for all replicas and is never exceeded:
 * every admitted request spent a token the shared bucket handed out. What a lease costs is that a replica may
 * refuse a key while another replica still holds unspent tokens of it (at most one lease each); near the limit a
 * replica leases whatever whole tokens are left, and unspent tokens are dropped once a minute old (the bucket has
 * refilled since). After a refusal the replica refuses that key without asking the store until the bucket's refill
 * makes a token due, so requests over the limit do not reach the store either. Reading the level (`cost` 0)
 * counts the replica's own leased tokens first.
 */
export function leasedBuckets(shared: RateBuckets, now: () => number = Date.now): RateBuckets {
  const leases = new Map<string, Lease>();

  async function refill(key: string, capacity: number, lease: Lease): Promise<BucketState | null> {
    const size = leaseSize(capacity);
    let drawn = size;
    let state = await shared.take(key, capacity, size);
    if (!state.granted && size > 1 && state.tokens >= 1) {
      drawn = Math.floor(state.tokens); // fewer left than a lease: take what is there
      state = await shared.take(key, capacity, drawn);
    }
    if (!state.granted) {
      // The bucket refills at capacity a minute whoever draws from it, so no token is there before this.
      lease.refusedUntil = now() + ((1 - state.tokens) * FULL_AFTER_MS) / capacity;
      return state;
    }
    lease.tokens += drawn;
    lease.leasedAt = now();
    return null;
  }

  function leaseOf(key: string): Lease {
    let lease = leases.get(key);
    if (lease && now() - lease.leasedAt >= FULL_AFTER_MS && !lease.pending) lease.tokens = 0;
    if (!lease) {
      if (leases.size >= MAX_MEMORY_BUCKETS) prune();
      if (leases.size >= MAX_MEMORY_BUCKETS) leases.delete(leases.keys().next().value!);
      lease = { tokens: 0, leasedAt: now(), pending: null, refusedUntil: 0 };
      leases.set(key, lease);
    }
    return lease;
  }

  function prune(): number {
    let pruned = 0;
    for (const [key, lease] of leases)
      if (!lease.pending && now() - lease.leasedAt >= FULL_AFTER_MS) {
        leases.delete(key);
        pruned += 1;
      }
    return pruned;
  }

  return {
    kind: shared.kind,
    async take(key, capacity, cost) {
      const lease = leaseOf(key);
      if (cost === 0) return lease.tokens >= 1 ? { granted: true, tokens: lease.tokens } : shared.take(key, capacity, 0);
      // Concurrent requests of one key wait for one draw from the store rather than each making their own.
      while (lease.tokens < cost) {
        const wait = lease.refusedUntil - now();
        if (wait > 0) return { granted: false, tokens: 1 - (wait * capacity) / FULL_AFTER_MS };
        if (!lease.pending) lease.pending = refill(key, capacity, lease).finally(() => (lease.pending = null));
        const refused = await lease.pending;
        if (refused) return refused;
      }
      lease.tokens -= cost;
      return { granted: true, tokens: lease.tokens };
    },
    prune: async () => prune() + (await shared.prune()),
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

import type { LookupFunction } from 'node:net';
import { Pool } from 'undici';
import type { CheckedTarget } from './url-policy.ts';

/** What a delivery needs to know of the answer. */
export interface PostResult {
  status: number;
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  /** Connecting, waiting for the answer's headers and each wait within its body may each take this long at most. */
  timeoutMs: number;
  /** Aborts the request (delivery stopping). */
  signal?: AbortSignal | undefined;
}

/** Idle connections are closed before the 5 s keep-alive timeout of common servers (Node's own, nginx's 75 s). */
const IDLE_MS = 4_000;
/** Connections per checked target unless told otherwise (`MPI_WEBHOOK_CONCURRENCY`); a round keeps at most as many requests out. */
export const SOCKETS_PER_TARGET = 64;
/** Pools kept at most; beyond it the least recently used is closed (endpoints come and go). */
const MAX_POOLS = 256;
/** An answer's body is read up to this and dropped beyond it (what an endpoint answers means nothing to delivery). */
const ANSWER_BYTES_READ = 64 * 1024;

/** A `lookup` that answers every name with the one checked address, so the socket cannot go anywhere else. */
function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}

/**
 * Delivery connections: an undici pool per checked target (protocol, host name, port and the address it was checked
 * to). Every connection of a pool is opened through the pinned lookup of that one address, so reusing it never
 * reaches another address: a host name that resolves elsewhere later gets another pool, not these connections.
 * Requests keep the URL's host name in their Host header and, for https, in TLS SNI and certificate checks; redirects
 * are not followed (a 3xx is an answer like any other). undici rather than node:http because a committed batch is a
 * burst of hundreds of requests and undici sends each for less CPU (see docs/events.md, Measured).
 * Timeouts are undici's own rather than an abort signal: a request aborted while out leaves its pool opening a
 * replacement connection, two connections per timed-out request to an endpoint that accepts and never answers.
 */
export class PinnedConnections {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly socketsPerTarget = SOCKETS_PER_TARGET) {}

  /** The pool of a checked target, created on first use; the least recently used goes beyond `MAX_POOLS`. */
  private poolFor(target: CheckedTarget, timeoutMs: number): Pool {
    const { url } = target;
    const key = `${url.protocol}//${url.host}@${target.address}/${timeoutMs}`;
    const found = this.pools.get(key);
    if (found) {
      // Most recently used last, so the first is the one to evict.
      this.pools.delete(key);
      this.pools.set(key, found);
      return found;
    }
    const pool = new Pool(url.origin, {
      connections: this.socketsPerTarget,
      keepAliveTimeout: IDLE_MS,
      keepAliveMaxTimeout: IDLE_MS,
      connect: { lookup: pinnedLookup(target), timeout: timeoutMs },
    });
    this.pools.set(key, pool);
    if (this.pools.size > MAX_POOLS) {
      const [oldest, evicted] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldest);
      void evicted.destroy();
    }
    return pool;
  }

  /** POSTs over a kept-alive connection to the checked address of the target. */
  async post(target: CheckedTarget, options: PostOptions): Promise<PostResult> {
    const { url } = target;
    const answer = await this.poolFor(target, options.timeoutMs).request({
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      headers: options.headers,
      body: options.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: options.signal,
    });
    // Read the answer to its end so the connection goes back to the pool.
    await answer.body.dump({ limit: ANSWER_BYTES_READ });
    return { status: answer.statusCode };
  }

  /** Closes every connection (when delivery stops). */
  close(): void {
    for (const pool of this.pools.values()) void pool.destroy();
    this.pools.clear();
  }
}

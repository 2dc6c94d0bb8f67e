import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget } from './url-policy.ts';

/** What a delivery needs to know of the answer. */
export interface PostResult {
  status: number;
}

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** Idle connections are closed before the 5 s keep-alive timeout of common servers (Node's own, nginx's 75 s). */
const IDLE_MS = 4_000;
/** Connections per checked target unless told otherwise (`MPI_WEBHOOK_CONCURRENCY`); a round keeps at most as many requests out. */
export const SOCKETS_PER_TARGET = 64;
/** Agents kept at most; beyond it the least recently used is closed (endpoints come and go). */
const MAX_AGENTS = 256;

/** A `lookup` that answers every name with the one checked address, so the socket cannot go anywhere else. */
function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
}

/**
 * Delivery connections, kept alive per checked target (protocol, host name, port and the address it was checked
 * to). Every socket an agent holds was connected through the pinned lookup of that one address, so reusing it
 * never reaches another address: a host name that resolves elsewhere later gets another agent, not these
 * connections. Opening a connection per request cost a TCP handshake (and, for https, a TLS one) per event.
 */
export class PinnedConnections {
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly socketsPerTarget = SOCKETS_PER_TARGET) {}

  /** The agent of a checked target, created on first use; the least recently used goes beyond `MAX_AGENTS`. */
  agentFor(target: CheckedTarget): HttpAgent {
    const { url } = target;
    const key = `${url.protocol}//${url.host}@${target.address}`;
    const found = this.agents.get(key);
    if (found) {
      // Most recently used last, so the first is the one to evict.
      this.agents.delete(key);
      this.agents.set(key, found);
      return found;
    }
    const options = { keepAlive: true, maxSockets: this.socketsPerTarget, timeout: IDLE_MS, lookup: pinnedLookup(target) };
    const agent = url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    this.agents.set(key, agent);
    if (this.agents.size > MAX_AGENTS) {
      const [oldest, evicted] = this.agents.entries().next().value as [string, HttpAgent];
      this.agents.delete(oldest);
      evicted.destroy();
    }
    return agent;
  }

  /** POSTs over a kept-alive connection to the target (see `pinnedPost`). */
  post(target: CheckedTarget, options: PostOptions): Promise<PostResult> {
    return pinnedPost(target, options, this.agentFor(target));
  }

  /** Closes every connection (when delivery stops). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/**
 * POSTs to a checked target, connecting to the address that was checked (never resolving the host name again)
 * while the request keeps the URL's host name in its Host header and, for https, in TLS SNI and certificate
 * checks. Redirects are not followed: a 3xx is an answer like any other. Without an `agent` (one of
 * `PinnedConnections`, whose sockets all go to this target's address) the request gets a connection of its own.
 */
export function pinnedPost(target: CheckedTarget, options: PostOptions, agent: HttpAgent | false = false): Promise<PostResult> {
  const { url } = target;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const requestOptions: RequestOptions & { servername?: string } = {
    method: 'POST',
    hostname,
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
    lookup: pinnedLookup(target),
    signal: options.signal,
    agent,
  };
  return new Promise<PostResult>((resolve, reject) => {
    const req = request(requestOptions, (res) => {
      // Read the answer to its end so the connection goes back to the pool.
      res.resume();
      const done = () => resolve({ status: res.statusCode ?? 0 });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

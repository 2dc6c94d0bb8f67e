import { setMaxListeners } from 'node:events';
import { PinnedConnections, type PostOptions, type PostResult } from './pinned-post.ts';
import type { CheckedTarget } from './url-policy.ts';

/** One request of a delivery round: its ordering chain (events of one identity), its signed headers and body. */
export interface RoundRequest {
  key: string;
  headers: Record<string, string>;
  body: string;
}

/** What became of `requests[index]`; requests not started (the round stopped at a failure) have none. */
export interface RequestOutcome {
  index: number;
  ok: boolean;
  status: number | null;
  error: string | null;
}

export type Transport = (target: CheckedTarget, options: PostOptions) => Promise<PostResult>;

/** undici's codes for a connect, an answer's headers or a wait within its body that took too long. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Why a request failed, as an endpoint's delivery status shows it: `timed out`, a socket error code, or the error's name. */
export function failureName(error: unknown): string {
  const failure = error as { name?: string; code?: string; cause?: { name?: string; code?: string } };
  const timedOut = (e: { name?: string; code?: string } | undefined) => e?.name === 'TimeoutError' || TIMEOUT_CODES.has(e?.code ?? '');
  if (timedOut(failure) || timedOut(failure.cause)) return 'timed out';
  return failure.code ?? failure.cause?.code ?? failure.name ?? 'Error';
}

/**
 * Sends a round's requests; those with the same ordering key go one after another, stopping at a failure. At most
 * `concurrency` requests are out at once (the connections kept per target), so none waits for a connection while
 * its timeout runs (a request queued behind a dead endpoint's connections timed out with them and still opened a
 * connection when they closed). With `stopAtFailure`, no request starts once one has failed: the endpoint retries from the first event
 * not delivered anyway, and a dead endpoint's round ends with the requests already out. Each request's timeout
 * runs from when it is sent (connecting has its own, of the same length).
 */
export async function sendRound(
  target: CheckedTarget,
  requests: readonly RoundRequest[],
  options: RoundOptions & { signal?: AbortSignal; transport: Transport },
): Promise<RequestOutcome[]> {
  const chains = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const chain = chains.get(r.key);
    if (chain) chain.push(i);
    else chains.set(r.key, [i]);
  });
  // Chains in the order of their first request, so the endpoint's head goes first.
  const queue = [...chains.values()];
  let next = 0;
  const outcomes: RequestOutcome[] = [];
  let failed = false;
  const stopped = () => failed && options.stopAtFailure;
  const post = async (index: number): Promise<RequestOutcome> => {
    const { headers, body } = requests[index]!;
    try {
      const { status } = await options.transport(target, { headers, body, timeoutMs: options.timeoutMs, signal: options.signal });
      const ok = status >= 200 && status < 300;
      return { index, ok, status, error: ok ? null : `HTTP ${status}` };
    } catch (error) {
      return { index, ok: false, status: null, error: failureName(error) };
    }
  };
  const worker = async () => {
    while (next < queue.length && !stopped()) {
      for (const index of queue[next++]!) {
        if (stopped()) return;
        const outcome = await post(index);
        outcomes.push(outcome);
        if (!outcome.ok) {
          failed = true;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, worker));
  return outcomes;
}

/** Kept-alive connections with room for `concurrency` requests per target, one set per concurrency asked. */
export function connectionsFor(pools: Map<number, PinnedConnections>, concurrency: number): PinnedConnections {
  let pool = pools.get(concurrency);
  if (!pool) pools.set(concurrency, (pool = new PinnedConnections(concurrency)));
  return pool;
}

/** A checked target as it crosses to the delivery thread (a URL does not survive structured cloning). */
export interface TargetMessage {
  url: string;
  address: string;
  family: 4 | 6;
}

/** What the service asks of its delivery thread (see delivery-worker.ts). */
export interface RoundTask extends RoundOptions {
  id: number;
  target: TargetMessage;
  requests: RoundRequest[];
}

/** A round's outcomes, or the thread saying it has loaded. */
export type RoundReply = { id: number; outcomes: RequestOutcome[] } | { ready: true };

/** Options of one round: see `sendRound`. */
export interface RoundOptions {
  stopAtFailure: boolean;
  timeoutMs: number;
  concurrency: number;
}

/** Sends rounds in this thread, over this process's kept-alive connections (or a transport given for tests). */
export class InlineSender {
  private readonly pools = new Map<number, PinnedConnections>();
  private abort = new AbortController();

  constructor(private readonly transport?: Transport) {
    // Every request out listens for the stop.
    setMaxListeners(0, this.abort.signal);
  }

  /** Nothing to load: rounds go out from this thread. */
  warm(): Promise<void> {
    return Promise.resolve();
  }

  send(target: CheckedTarget, requests: RoundRequest[], options: RoundOptions): Promise<RequestOutcome[]> {
    const transport = this.transport ?? ((t, o) => connectionsFor(this.pools, options.concurrency).post(t, o));
    return sendRound(target, requests, { ...options, signal: this.abort.signal, transport });
  }

  /** Aborts the requests out and closes every connection; the sender can be used again after. */
  close(): Promise<void> {
    this.abort.abort();
    this.abort = new AbortController();
    setMaxListeners(0, this.abort.signal);
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    return Promise.resolve();
  }
}

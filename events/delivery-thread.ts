import type { Worker } from 'node:worker_threads';
import { startWorker } from '../platform/worker.ts';
import type { RequestOutcome, RoundOptions, RoundReply, RoundRequest, RoundTask } from './round-send.ts';
import type { CheckedTarget } from './url-policy.ts';

/**
 * Sends delivery rounds from a worker thread (delivery-worker.ts), started on the first round. Rendering, signing
 * and the bookkeeping stay in the service's thread; the requests, their connections and their answers move out of
 * it, so a burst of events (a committed batch of hundreds of records is as many requests) goes out at the pace of
 * the network, not between the slices of ingest work the service's thread is doing. A worker that fails or exits
 * fails the rounds it holds (the delivery loop retries them from the endpoint's saved position) and is started
 * again for the next round.
 */
export class ThreadSender {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (o: RequestOutcome[]) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private ready: Promise<void> = Promise.resolve();
  private loaded: () => void = () => undefined;

  /**
   * Starts the worker ahead of the first round and resolves once it has loaded. Loading it (and, run from
   * source, compiling its modules) takes a few hundred milliseconds that would otherwise fall on the first events.
   * A worker that fails while loading resolves it too (the next round starts another).
   */
  warm(): Promise<void> {
    if (!this.worker) this.start();
    return this.ready;
  }

  send(target: CheckedTarget, requests: RoundRequest[], options: RoundOptions): Promise<RequestOutcome[]> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<RequestOutcome[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const task: RoundTask = {
        id,
        target: { url: target.url.href, address: target.address, family: target.family },
        requests,
        ...options,
      };
      worker.postMessage(task);
    });
  }

  /** Fails the rounds out and stops the worker (its connections close with it). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.fail(new Error('webhook delivery stopped'));
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const worker = startWorker(import.meta.url, 'delivery-worker');
    // The worker holds no work of its own: it never keeps the process alive.
    worker.unref();
    this.ready = new Promise<void>((resolve) => (this.loaded = resolve));
    worker.on('message', (reply: RoundReply) => {
      if ('ready' in reply) return this.loaded();
      const round = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      round?.resolve(reply.outcomes);
    });
    worker.on('error', (error) => this.worker === worker && this.fail(error));
    worker.on('exit', (code) => this.worker === worker && this.fail(new Error(`the webhook delivery thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    this.worker = null;
    this.loaded();
    for (const round of this.pending.values()) round.reject(error);
    this.pending.clear();
  }
}

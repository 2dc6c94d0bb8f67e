import { randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/client.ts';
import { acquireLease, releaseLease } from '../platform/lease.ts';
import { errorFields, type Logger } from '../platform/logger.ts';
import * as store from './store.ts';
import type { ChangeEvent, EventFilter } from './types.ts';

/** A channel that runs only on the replica that holds the dispatch lease (webhooks, NATS). */
export interface LeaderChannel {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

export interface DispatcherOptions {
  /** How often the outbox is checked for committed events (and followers check the head). */
  pollMs: number;
  /** How long a lease lasts without renewal; another replica takes over after it runs out. */
  leaseMs: number;
  /** Days published events are kept (0: for ever). */
  retentionDays: number;
  /** Events published per round. */
  batchSize?: number;
  logger: Logger;
  /** Names this replica in the lease row (default: a random id). */
  holder?: string;
  /**
   * LISTENs on the outbox channel (`DatabaseHandle.listen`): a commit that wrote events, or a publication by
   * the leader, starts a round at once; the poll stays as the fallback (a lost connection, a missed notice).
   */
  listen?: (channel: string, onNotify: (payload: string) => void) => Promise<() => Promise<void>>;
}

const LEASE_NAME = 'dispatcher';
const RETENTION_EVERY_MS = 60_000;
const PAGE = 500;

/**
 * Publishes outbox rows and wakes the channels. Every replica runs one; the one holding the lease row publishes
 * (assigns positions) and runs the leader channels (webhooks, NATS); the others only watch the head position
 * so their GraphQL subscribers see new events. A replica that dies stops renewing; another takes over within
 * `leaseMs`, and the rows it never published are still there.
 */
export class EventDispatcher {
  readonly holder: string;
  private leader = false;
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking: Promise<void> | null = null;
  private lastRenew = 0;
  private lastRetention = 0;
  private readonly waiters = new Set<() => void>();
  private readonly channels: LeaderChannel[] = [];
  /** A notice arrived during a round: run another as soon as it ends. */
  private noticed = false;
  private unlisten: Promise<(() => Promise<void>) | null> = Promise.resolve(null);

  constructor(
    readonly db: Database,
    private readonly options: DispatcherOptions,
  ) {
    this.holder = options.holder ?? randomUUID();
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** The highest published position this replica has seen. */
  get headPosition(): number {
    return this.head;
  }

  addChannel(channel: LeaderChannel): void {
    this.channels.push(channel);
    if (this.leader) channel.start();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.listen) {
      this.unlisten = this.options
        .listen(store.OUTBOX_CHANNEL, (payload) => this.notice(payload))
        .catch((error: unknown) => {
          this.options.logger.warn(errorFields(error), 'event dispatcher cannot listen for commits; it polls only');
          return null;
        });
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.timer = null;
    if (!this.running || this.ticking) return;
    this.noticed = false;
    this.ticking = this.tick().catch((error: unknown) => {
      this.options.logger.error(errorFields(error), 'event dispatch failed');
    });
    await this.ticking;
    this.ticking = null;
    if (!this.running) return;
    if (this.noticed) void this.loop();
    else this.timer = setTimeout(() => void this.loop(), this.options.pollMs);
  }

  /** A commit wrote events (or the leader published some): run a round now rather than at the next poll. */
  private notice(payload: string): void {
    // The leader publishes what was written; a follower only reads the head the leader published (taking over
    // the lease of a leader that died still waits for the poll).
    if (!this.running || (payload === 'published') === this.leader) return;
    if (this.ticking) {
      this.noticed = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    void this.loop();
  }

  /** Stops dispatching; the lease is released so another replica takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    const unlisten = await this.unlisten;
    this.unlisten = Promise.resolve(null);
    await unlisten?.().catch(() => undefined);
    await this.ticking;
    await this.resign();
    this.wake();
  }

  /** One round: renew or take the lease, publish (leader) or watch the head (follower), expire old events. */
  async tick(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRenew >= this.options.leaseMs / 3 || !this.leader) {
      const held = await acquireLease(this.db, LEASE_NAME, this.holder, this.options.leaseMs);
      this.lastRenew = now;
      if (held !== this.leader) {
        this.leader = held;
        this.options.logger.info({ holder: this.holder, leader: held }, held ? 'event dispatcher leads' : 'event dispatcher follows');
        for (const c of this.channels)
          if (held) c.start();
          else await c.stop();
      }
    }
    let head: number;
    if (this.leader) {
      const batchSize = this.options.batchSize ?? 1000;
      // A full batch may leave more behind: publish until a round comes back short. The round reports the head.
      let round: store.PublishRound;
      do round = await store.publishRound(this.db, batchSize);
      while (round.published >= batchSize);
      head = round.head;
      if (this.options.retentionDays > 0 && now - this.lastRetention >= RETENTION_EVERY_MS) {
        this.lastRetention = now;
        await store.deleteExpiredEvents(this.db, this.options.retentionDays);
      }
    } else {
      head = await store.headPosition(this.db);
    }
    if (head !== this.head) {
      this.head = head;
      this.wake();
    }
  }

  private async resign(): Promise<void> {
    if (!this.leader) return;
    this.leader = false;
    for (const c of this.channels) await c.stop();
    await releaseLease(this.db, LEASE_NAME, this.holder).catch(() => undefined);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }

  /** Resolves when the head moves past `position`, the dispatcher stops, or `timeoutMs` passes. */
  waitForEvents(position: number, timeoutMs = 5_000, signal?: AbortSignal): Promise<void> {
    if (this.head > position || !this.running || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Published events after `after`, oldest first (a replay page). */
  read(after: number, filter: EventFilter, limit: number): Promise<ChangeEvent[]> {
    return store.readEvents(this.db, after, filter, limit);
  }

  /**
   * Every matching event after `from`, then each new one as it is published, until `signal` aborts or the
   * consumer stops iterating: the replay and the live tail are one loop over the table, so a consumer that
   * resumes misses nothing. `return()` (a subscriber going away) ends a wait at once instead of after it.
   */
  follow(filter: EventFilter, from: number, signal?: AbortSignal): AsyncIterableIterator<ChangeEvent> {
    const stop = new AbortController();
    const inner = this.followLoop(filter, from, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
    return {
      next: () => inner.next(),
      return: async (value?: unknown) => {
        stop.abort();
        await inner.return(undefined);
        return { done: true, value } as IteratorReturnResult<unknown> as IteratorResult<ChangeEvent>;
      },
      throw: (error?: unknown) => {
        stop.abort();
        return inner.throw(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private async *followLoop(filter: EventFilter, from: number, signal: AbortSignal): AsyncGenerator<ChangeEvent> {
    let cursor = from;
    while (!signal.aborted) {
      // Everything up to the head known before the read was committed before it: the read sees all of it.
      const known = this.head;
      const page = await store.readEvents(this.db, cursor, filter, PAGE);
      for (const event of page) {
        if (signal.aborted) return;
        cursor = event.position;
        yield event;
      }
      if (page.length === PAGE) continue;
      cursor = Math.max(cursor, known);
      if (!this.running) return;
      await this.waitForEvents(cursor, 5_000, signal);
    }
  }

  /** Consumers waiting for the next event (for tests and gauges). */
  get waiting(): number {
    return this.waiters.size;
  }
}

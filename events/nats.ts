import { connect, headers, nanos, type JetStreamClient, type JetStreamManager, type NatsConnection, type StreamConfig } from 'nats';
import { retryWhile } from '../platform/backoff.ts';
import type { Database } from '../platform/db/client.ts';
import { errorFields, type Logger } from '../platform/logger.ts';
import type { EventDispatcher, LeaderChannel } from './dispatcher.ts';
import * as store from './store.ts';
import { EVENT_FAMILIES, subjectOf, type ChangeEvent, type EventFamily } from './types.ts';

/** The JetStream stream of an event family: `MPI_IDENTITY` holds `mpi.identity.>` (the prefix upper-cased). */
export function streamOf(family: EventFamily, prefix = 'mpi'): string {
  return `${prefix.toUpperCase()}_${family.toUpperCase()}`;
}

/** Republished events within this window are dropped by JetStream (the message id is the event id). */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** The header carrying the event's global position, so a consumer can resume from one. */
export const POSITION_HEADER = 'Mpi-Position';
const BATCH = 500;

/** The JSON every channel but FHIR carries: the event, with its time as an ISO string. */
export function eventJson(event: ChangeEvent, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...event, occurredAt: event.occurredAt.toISOString(), ...extra };
}

/**
 * Creates a JetStream stream unless it exists; an existing one is left as an operator configured it. Replicas
 * racing to create it are fine: the loser finds the winner's stream.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config).catch(async (error: unknown) => {
      await jsm.streams.info(config.name).catch(() => Promise.reject(error));
    });
  }
}

export interface NatsSettings {
  url: string;
  /** First subject token; stream names are it upper-cased plus the family. */
  prefix: string;
}

/**
 * Publishes every event to NATS JetStream, a stream per event family, at least once: the position saved in
 * `event_consumers` moves only after JetStream acknowledged, and a message republished after a crash carries
 * the same `Nats-Msg-Id` (the event id), which JetStream de-duplicates within its window.
 */
export class NatsPublisher implements LeaderChannel {
  readonly name = 'nats';
  private running = false;
  private loop: Promise<void> | null = null;
  private connection: NatsConnection | null = null;
  private abort = new AbortController();
  /** Messages JetStream reported as duplicates since start (republished after a crash or a reset position). */
  duplicates = 0;

  constructor(
    private readonly db: Database,
    private readonly dispatcher: EventDispatcher,
    private readonly settings: NatsSettings,
    private readonly logger: Logger,
  ) {}

  /** The `event_consumers` row holding how far this prefix's streams have got. */
  get consumerName(): string {
    return this.settings.prefix === 'mpi' ? 'nats' : `nats:${this.settings.prefix}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    await this.connection?.close().catch(() => undefined);
    this.connection = null;
  }

  /** Connects and makes sure every family's stream exists (created on first use, left as configured after). */
  private async open(): Promise<JetStreamClient> {
    if (!this.connection || this.connection.isClosed()) {
      // Without async traces: an Error (with its stack) captured for every publish cost more than the publish.
      const connection = await connect({ servers: this.settings.url, name: 'mpi-events', maxReconnectAttempts: -1, noAsyncTraces: true });
      try {
        const jsm = await connection.jetstreamManager();
        for (const family of EVENT_FAMILIES) {
          await ensureStream(jsm, {
            name: streamOf(family, this.settings.prefix),
            subjects: [`${this.settings.prefix}.${family}.>`],
            duplicate_window: nanos(DUPLICATE_WINDOW_MS),
          });
        }
      } catch (error) {
        await connection.close().catch(() => undefined);
        throw error;
      }
      this.connection = connection;
    }
    return this.connection.jetstream();
  }

  private run(): Promise<void> {
    return retryWhile({
      running: () => this.running,
      signal: this.abort.signal,
      step: async (succeeded) => {
        const js = await this.open();
        const position = await store.consumerPosition(this.db, this.consumerName);
        const events = await store.readEvents(this.db, position, {}, BATCH);
        if (events.length === 0) {
          await this.dispatcher.waitForEvents(Math.max(position, this.dispatcher.headPosition), 1_000, this.abort.signal);
          return;
        }
        await this.publish(js, events);
        await store.saveConsumerPosition(this.db, this.consumerName, events.at(-1)!.position);
        succeeded();
      },
      failed: (error, failures) => this.logger.warn({ ...errorFields(error), failures }, 'NATS publish failed; retrying'),
    });
  }

  /** Sends a page in position order on one connection and waits for every acknowledgement. */
  private async publish(js: JetStreamClient, events: ChangeEvent[]): Promise<void> {
    const acks = await Promise.all(
      events.map((event) => {
        const h = headers();
        h.set(POSITION_HEADER, String(event.position));
        return js.publish(subjectOf(event.type, this.settings.prefix), JSON.stringify(eventJson(event)), {
          msgID: event.id,
          headers: h,
        });
      }),
    );
    this.duplicates += acks.filter((a) => a.duplicate).length;
  }
}

import { connect, headers, nanos, type JetStreamClient, type NatsConnection } from 'nats';
import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { EventDispatcher, LeaderChannel } from './dispatcher.ts';
import * as store from './store.ts';
import { EVENT_FAMILIES, subjectOf, type ChangeEvent, type EventFamily } from './types.ts';

/** The JetStream stream of an event family: `MPI_IDENTITY` holds `mpi.identity.>`. */
export function streamOf(family: EventFamily): string {
  return `MPI_${family.toUpperCase()}`;
}

/** Republished events within this window are dropped by JetStream (the message id is the event id). */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
const CONSUMER = 'nats';
const BATCH = 500;

/** The JSON every channel but FHIR carries: the event, with its time as an ISO string. */
export function eventJson(event: ChangeEvent, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...event, occurredAt: event.occurredAt.toISOString(), ...extra };
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

  constructor(
    private readonly db: Database,
    private readonly dispatcher: EventDispatcher,
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

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

  private async open(): Promise<JetStreamClient> {
    if (!this.connection || this.connection.isClosed()) {
      this.connection = await connect({ servers: this.url, name: 'mpi-events', maxReconnectAttempts: -1 });
      const jsm = await this.connection.jetstreamManager();
      for (const family of EVENT_FAMILIES) {
        const config = { name: streamOf(family), subjects: [`mpi.${family}.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS) };
        try {
          await jsm.streams.info(config.name);
        } catch {
          await jsm.streams.add(config);
        }
      }
    }
    return this.connection.jetstream();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const js = await this.open();
        const position = await store.consumerPosition(this.db, CONSUMER);
        const events = await store.readEvents(this.db, position, {}, BATCH);
        if (events.length === 0) {
          await this.dispatcher.waitForEvents(Math.max(position, this.dispatcher.headPosition), 1_000, this.abort.signal);
          continue;
        }
        // Sent in order on one connection, acknowledged together.
        await Promise.all(
          events.map((event) => {
            const h = headers();
            h.set('mpi-position', String(event.position));
            return js.publish(subjectOf(event.type), JSON.stringify(eventJson(event)), { msgID: event.id, headers: h });
          }),
        );
        await store.saveConsumerPosition(this.db, CONSUMER, events.at(-1)!.position);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.logger.warn(
          { err: { name: (error as Error).name, code: (error as { code?: unknown }).code }, failures },
          'NATS publish failed; retrying',
        );
        await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(failures, 7))));
      }
    }
  }
}

import { createHmac } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Database } from '../platform/db/client.ts';
import { errorFields, type Logger } from '../platform/logger.ts';
import type { EventDispatcher, LeaderChannel } from './dispatcher.ts';
import * as store from './store.ts';
import { orderingKey, type ChangeEvent, type ChangeEventType } from './types.ts';
import { ThreadSender } from './delivery-thread.ts';
import { SOCKETS_PER_TARGET } from './pinned-post.ts';
import { InlineSender, type RequestOutcome, type RoundRequest, type Transport } from './round-send.ts';
import { resolveTarget, systemResolver, type CheckedTarget, type Resolver, type UrlPolicy } from './url-policy.ts';

export interface DeliverySettings {
  /** Tries of one event before it is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubles per try up to `backoffMaxMs`, with jitter. */
  backoffMs: number;
  backoffMaxMs: number;
  /** A request not answered within this counts as failed. */
  timeoutMs: number;
  /** Events sent per round; events of different identities in a round go in parallel. */
  batchSize: number;
  /** Requests out at once per endpoint at most (connections kept per address); default 64. */
  concurrency?: number;
  /** Send the requests from a worker thread (`thread`, see delivery-thread.ts) or from the service's own (`inline`). */
  sender?: 'thread' | 'inline';
  urlPolicy: UrlPolicy;
  /** Resolves endpoint host names (default: the system resolver); each delivery resolves once and connects to what it checked. */
  resolve?: Resolver;
}

/** A request body and its content type, for one event to one endpoint. */
export interface RenderedBody {
  body: string;
  contentType: string;
  /** Extra request headers the endpoint asked for (a FHIR Subscription's `channel.header`). */
  headers?: Record<string, string>;
}

/** Builds the bodies of one endpoint kind (the Standard Webhooks JSON envelope, a FHIR notification bundle). */
export type Renderer = (endpoint: store.WebhookEndpointRow, events: ChangeEvent[]) => Promise<RenderedBody[]>;

/** `whsec_` and 32 random bytes in base64: a Standard Webhooks signing secret. */
export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

/** Signing keys by secret: a secret is decoded once, not once per request. */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_KEPT = 1_000;

function signingKey(secret: string): Buffer {
  let key = signingKeys.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.clear();
    signingKeys.set(secret, key);
  }
  return key;
}

/**
 * The Standard Webhooks headers for one message: id, timestamp (seconds) and the v1 signature, HMAC-SHA256 of
 * `id.timestamp.body` under the secret's base64-decoded bytes (the specification's signing scheme, computed by
 * node:crypto rather than the reference library's JavaScript SHA-256, which cost more than the request).
 */
export function signatureHeaders(secret: string, id: string, at: Date, body: string): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/** Exponential backoff with equal jitter: half the delay fixed, half random, so retries of many endpoints spread. */
export function backoffDelay(
  attempt: number,
  settings: Pick<DeliverySettings, 'backoffMs' | 'backoffMaxMs'>,
  random = Math.random,
): number {
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const sameTypes = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((t, i) => t === b[i]);

/**
 * Events to send in the endpoint's next round: a full round while it answers, a single probe (the head event)
 * while it is failing (a try failed and none has succeeded since, across dead letters and pauses). A sick or dead
 * receiver then gets one request per retry instead of one per ordering chain, the way a well-behaved sender backs
 * off; the first success brings full rounds back.
 */
export function roundSize(endpoint: Pick<store.WebhookEndpointRow, 'headAttempts' | 'lastError'>, batchSize: number): number {
  return endpoint.headAttempts > 0 || endpoint.lastError !== null ? 1 : batchSize;
}

interface Outcome {
  event: ChangeEvent;
  ok: boolean;
  status: number | null;
  error: string | null;
}

/**
 * Delivers published events to registered endpoints, one loop per endpoint, on the leading replica only. Each
 * endpoint keeps its own position: a slow or dead endpoint only falls behind, it never holds up ingest (which
 * only writes the outbox row) or other endpoints. Within an endpoint, events of one identity go in order; when
 * one fails, the endpoint retries from it alone (see `roundSize`) with backoff and dead-letters it after `maxAttempts`.
 */
export class WebhookDelivery implements LeaderChannel {
  readonly name = 'webhooks';
  private running = false;
  private readonly loops = new Map<string, Promise<void>>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private abort = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly dispatcher: EventDispatcher,
    private readonly settings: DeliverySettings,
    private readonly renderers: Map<string, Renderer>,
    private readonly logger: Logger,
    transport?: Transport,
  ) {
    this.sender = transport || settings.sender === 'inline' ? new InlineSender(transport) : new ThreadSender();
  }

  /** Sends the rounds' requests over connections it keeps alive; closed when delivery stops. */
  private readonly sender: InlineSender | ThreadSender;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    // Every endpoint's loop listens for the stop while it sleeps or waits for events.
    setMaxListeners(0, this.abort.signal);
    void this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), 2_000);
    this.refreshTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.abort.abort();
    await this.sender.close();
    await Promise.all(this.loops.values());
    this.loops.clear();
  }

  /** Starts a loop for every active endpoint that has none (called on registration and every few seconds). */
  async refresh(): Promise<void> {
    if (!this.running) return;
    const endpoints = await store.listEndpoints(this.db).catch(() => []);
    for (const e of endpoints) {
      if (e.status !== 'ACTIVE' || this.loops.has(e.id)) continue;
      const loop = this.run(e.id).finally(() => this.loops.delete(e.id));
      this.loops.set(e.id, loop);
    }
  }

  private async sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async run(endpointId: string): Promise<void> {
    // Where the endpoint stood after its last round went through or found nothing to send: the next round's
    // events are then read alongside the endpoint's row instead of after it, one round trip fewer before the
    // requests go out. They are used only if the row says the endpoint is still there and still wants them.
    let expected: { position: number; types: ChangeEventType[] } | null = null;
    // An endpoint is registered before its first event: have the sender ready by then.
    void this.sender.warm();
    while (this.running) {
      try {
        const from: { position: number; types: ChangeEventType[] } | null = expected;
        const guess: Promise<ChangeEvent[] | null> | null = from && this.readRound(from.position, from.types, this.settings.batchSize);
        expected = null;
        const endpoint = await store.endpointForRound(this.db, endpointId);
        if (!endpoint || endpoint.status !== 'ACTIVE') return;
        if (endpoint.redeliveries && (await this.redeliverDeadLetters(endpoint))) continue;
        const wait = endpoint.nextAttemptAt ? endpoint.nextAttemptAt.getTime() - Date.now() : 0;
        if (wait > 0) {
          await this.sleep(Math.min(wait, 1_000));
          continue;
        }
        const types = endpoint.eventTypes as ChangeEventType[];
        const size = roundSize(endpoint, this.settings.batchSize);
        const same: boolean =
          from !== null && from.position === endpoint.position && size === this.settings.batchSize && sameTypes(from.types, types);
        const events: ChangeEvent[] = (same ? await guess : null) ?? (await store.readEvents(this.db, endpoint.position, { types }, size));
        if (events.length === 0) {
          expected = { position: endpoint.position, types };
          await this.dispatcher.waitForEvents(Math.max(endpoint.position, this.dispatcher.headPosition), 1_000, this.abort.signal);
          continue;
        }
        if (await this.deliverRound(endpoint, events)) expected = { position: events.at(-1)!.position, types };
      } catch (error) {
        // A round cut short by stopping leaves the endpoint where it was: the next leader sends it again.
        if (!this.running) return;
        this.logger.error({ endpointId, ...errorFields(error) }, 'webhook delivery round failed');
        await this.sleep(1_000);
      }
    }
  }

  /** A round's events read ahead of the endpoint's row; null if the read failed (it is then made again, or not used). */
  private readRound(position: number, types: ChangeEventType[], limit: number): Promise<ChangeEvent[] | null> {
    return store.readEvents(this.db, position, { types }, limit).catch(() => null);
  }

  /**
   * Sends events; advances past those before the first failure; schedules a retry or dead-letters the failed one.
   * True when every event was delivered.
   */
  private async deliverRound(endpoint: store.WebhookEndpointRow, events: ChangeEvent[]): Promise<boolean> {
    const outcomes = await this.send(endpoint, events, { stopAtFailure: true });
    const byId = new Map(outcomes.map((o) => [o.event.id, o]));
    // Events are in position order: the first one not delivered either failed or was not sent (the round
    // stopped at a failure of another identity's event), and the endpoint stays before it.
    const stuck = events.findIndex((e) => byId.get(e.id)?.ok !== true);
    const delivered = outcomes.filter((o) => o.ok).length;
    if (stuck < 0) {
      await store.saveDeliveryState(this.db, endpoint.id, endpoint.position, {
        position: events.at(-1)!.position,
        headAttempts: 0,
        nextAttemptAt: null,
        delivered,
        lastStatus: outcomes.at(-1)?.status ?? null,
        lastError: null,
      });
      return true;
    }
    const before = events[stuck - 1]?.position ?? endpoint.position;
    const failed = byId.get(events[stuck]!.id) ?? outcomes.filter((o) => !o.ok).sort((a, b) => a.event.position - b.event.position)[0]!;
    if (failed.event.id !== events[stuck]!.id) {
      // The head was not tried: no attempt counts against it, but the endpoint is failing, so wait a first
      // retry's delay and then probe it.
      await store.saveDeliveryState(this.db, endpoint.id, endpoint.position, {
        position: before,
        headAttempts: 0,
        nextAttemptAt: new Date(Date.now() + backoffDelay(1, this.settings)),
        delivered,
        lastStatus: failed.status,
        lastError: failed.error,
      });
      return false;
    }
    // Attempts count for the event at the head; a new head starts again at one.
    const attempts = (before === endpoint.position ? endpoint.headAttempts : 0) + 1;
    if (attempts >= this.settings.maxAttempts) {
      await store.insertDeadLetter(this.db, {
        endpointId: endpoint.id,
        eventId: failed.event.id,
        position: failed.event.position,
        attempts,
        lastStatus: failed.status,
        lastError: failed.error,
      });
      this.logger.warn({ endpointId: endpoint.id, eventId: failed.event.id, attempts }, 'webhook event dead-lettered');
      await store.saveDeliveryState(this.db, endpoint.id, endpoint.position, {
        position: failed.event.position,
        headAttempts: 0,
        nextAttemptAt: null,
        delivered,
        lastStatus: failed.status,
        lastError: failed.error,
      });
      return false;
    }
    await store.saveDeliveryState(this.db, endpoint.id, endpoint.position, {
      position: before,
      headAttempts: attempts,
      nextAttemptAt: new Date(Date.now() + backoffDelay(attempts, this.settings)),
      delivered,
      lastStatus: failed.status,
      lastError: failed.error,
    });
    return false;
  }

  /** Sends dead letters marked for redelivery; true when there were any. */
  private async redeliverDeadLetters(endpoint: store.WebhookEndpointRow): Promise<boolean> {
    const pending = await store.deadLettersOf(this.db, endpoint.id, 'PENDING');
    if (pending.length === 0) return false;
    const events = await store.eventsByIds(
      this.db,
      pending.map((d) => d.eventId),
    );
    const outcomes = await this.send(endpoint, events);
    const okIds = new Set(outcomes.filter((o) => o.ok).map((o) => o.event.id));
    await store.setDeadLetterStatus(
      this.db,
      pending.filter((d) => okIds.has(d.eventId)).map((d) => d.id),
      'REDELIVERED',
      { redeliveredAt: new Date() },
    );
    const failed = outcomes.find((o) => !o.ok);
    // An event no longer kept (retention) or still refused goes back to the dead letters.
    const back = pending.filter((d) => !okIds.has(d.eventId)).map((d) => d.id);
    await store.setDeadLetterStatus(this.db, back, 'DEAD', failed ? { lastStatus: failed.status, lastError: failed.error } : {});
    return true;
  }

  /**
   * Renders and signs the events, then sends them (see `sendRound`): events of one identity in order, stopping
   * at a failure, at most `concurrency` requests out; with `stopAtFailure`, none starts once one has failed.
   */
  private async send(
    endpoint: store.WebhookEndpointRow,
    events: ChangeEvent[],
    options: { stopAtFailure?: boolean } = {},
  ): Promise<Outcome[]> {
    const renderer = this.renderers.get(endpoint.kind);
    if (!renderer) return events.map((event) => ({ event, ok: false, status: null, error: `no renderer for ${endpoint.kind}` }));
    // Resolved once per round: every request of the round connects to this checked address.
    let target: CheckedTarget;
    try {
      target = await resolveTarget(endpoint.url, this.settings.urlPolicy, 'url', this.settings.resolve ?? systemResolver);
    } catch (error) {
      return events.map((event) => ({ event, ok: false, status: null, error: (error as Error).message }));
    }
    const bodies = await renderer(endpoint, events);
    const at = new Date();
    const requests = events.map((event, i): RoundRequest => {
      const { body, contentType, headers } = bodies[i]!;
      return {
        key: orderingKey(event),
        body,
        headers: {
          ...headers,
          'content-type': contentType,
          'user-agent': 'mpi-webhooks',
          ...signatureHeaders(endpoint.secret, event.id, at, body),
        },
      };
    });
    const sent: RequestOutcome[] = await this.sender.send(target, requests, {
      stopAtFailure: options.stopAtFailure === true,
      timeoutMs: this.settings.timeoutMs,
      concurrency: this.settings.concurrency ?? SOCKETS_PER_TARGET,
    });
    return sent.map(({ index, ok, status, error }) => ({ event: events[index]!, ok, status, error }));
  }
}

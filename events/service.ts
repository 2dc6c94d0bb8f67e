import type { AppConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { EventDispatcher, type DispatcherOptions } from './dispatcher.ts';
import { eventJson, NatsPublisher } from './nats.ts';
import type { WebhookEndpointRow } from './store.ts';
import type { ChangeEvent } from './types.ts';
import type { Resolver, UrlPolicy } from './url-policy.ts';
import { WebhookDelivery, type DeliverySettings, type Renderer } from './webhook-delivery.ts';
import { WebhookService } from './webhooks.ts';

/** Golden demographics of identities, masked as `role` sees them (supplied by the API, which owns masking). */
export type DemographicsProvider = (identityIds: string[], role: string) => Promise<Map<string, Record<string, string | null>>>;

/**
 * The Standard Webhooks envelope: `{type, timestamp, data}` with the event as data; demographics only when the
 * endpoint asked for them, masked for the role it named.
 */
export function standardRenderer(demographics?: DemographicsProvider): Renderer {
  return async (endpoint: WebhookEndpointRow, events: ChangeEvent[]) => {
    const ids = [...new Set(events.flatMap((e) => (e.identityId ? [e.identityId] : [])))];
    const golden = endpoint.demographicsRole && demographics ? await demographics(ids, endpoint.demographicsRole) : null;
    return events.map((event) => {
      const extra = golden && event.identityId ? { demographics: golden.get(event.identityId) ?? null } : {};
      const body = { type: event.type, timestamp: event.occurredAt.toISOString(), data: eventJson(event, extra) };
      return { body: JSON.stringify(body), contentType: 'application/json' };
    });
  };
}

export interface EventsService {
  dispatcher: EventDispatcher;
  webhooks: WebhookService;
  delivery: WebhookDelivery;
  /** Renderers by endpoint kind; the FHIR adapter adds its own. */
  renderers: Map<string, Renderer>;
  nats: NatsPublisher | null;
  urlPolicy: UrlPolicy;
  start(): void;
  stop(): Promise<void>;
}

/** Wires the dispatcher and its channels from the configuration; nothing runs until `start`. */
export function createEventsService(
  db: Database,
  config: AppConfig,
  logger: Logger,
  options: { demographics?: DemographicsProvider; resolve?: Resolver; listen?: DispatcherOptions['listen'] } = {},
): EventsService {
  const dispatcher = new EventDispatcher(db, {
    pollMs: config.MPI_EVENTS_POLL_MS,
    leaseMs: config.MPI_EVENTS_LEASE_MS,
    retentionDays: config.MPI_EVENTS_RETENTION_DAYS,
    logger,
    holder: config.MPI_REPLICA_ID,
    ...(options.listen ? { listen: options.listen } : {}),
  });
  const urlPolicy: UrlPolicy = { allowedHosts: config.MPI_WEBHOOK_ALLOWED_HOSTS, allowedNetworks: config.MPI_WEBHOOK_ALLOWED_NETWORKS };
  const settings: DeliverySettings = {
    maxAttempts: config.MPI_WEBHOOK_MAX_ATTEMPTS,
    backoffMs: config.MPI_WEBHOOK_BACKOFF_MS,
    backoffMaxMs: config.MPI_WEBHOOK_BACKOFF_MAX_MS,
    timeoutMs: config.MPI_WEBHOOK_TIMEOUT_MS,
    batchSize: config.MPI_WEBHOOK_ROUND_SIZE,
    sender: config.MPI_WEBHOOK_SENDER,
    concurrency: config.MPI_WEBHOOK_CONCURRENCY,
    urlPolicy,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  };
  const renderers = new Map<string, Renderer>([['STANDARD', standardRenderer(options.demographics)]]);
  const delivery = new WebhookDelivery(db, dispatcher, settings, renderers, logger);
  const webhooks = new WebhookService(db, urlPolicy, () => void delivery.refresh(), options.resolve);
  dispatcher.addChannel(delivery);
  const nats = config.MPI_NATS_URL
    ? new NatsPublisher(db, dispatcher, { url: config.MPI_NATS_URL, prefix: config.MPI_NATS_SUBJECT_PREFIX }, logger)
    : null;
  if (nats) dispatcher.addChannel(nats);
  return {
    dispatcher,
    webhooks,
    delivery,
    renderers,
    nats,
    urlPolicy,
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
  };
}

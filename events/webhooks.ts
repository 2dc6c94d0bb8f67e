import type { Database } from '../platform/db/client.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { requireUuid, timeOrderedUuid } from '../platform/ids.ts';
import { PERMISSIONS } from '../platform/roles.ts';
import * as store from './store.ts';
import { CHANGE_EVENT_TYPES, type ChangeEventType } from './types.ts';
import { newWebhookSecret } from './webhook-delivery.ts';
import { checkUrlTarget, systemResolver, type Resolver, type UrlPolicy } from './url-policy.ts';

export const ENDPOINT_KINDS = ['STANDARD', 'FHIR_REST_HOOK'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

export interface EndpointInput {
  url: string;
  eventTypes?: readonly string[] | null;
  description?: string | null;
  /** Ask for demographics, masked as for this role (pipeline, steward, auditor). */
  demographicsRole?: string | null;
  /** First position to deliver after; default: the current head (only new events). */
  fromPosition?: number | null;
  kind?: EndpointKind;
  fhir?: Record<string, unknown> | null;
}

/** Delivery state of an endpoint, for operators: how far behind it is and why. */
export interface EndpointStatus {
  position: number;
  lagEvents: number;
  lagSeconds: number;
  headAttempts: number;
  nextAttemptAt: Date | null;
  delivered: number;
  lastDeliveredAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deadLetters: number;
}

/** Roles whose masking an endpoint may ask for: the roles that may read change events. */
export const DEMOGRAPHICS_ROLES = PERMISSIONS.readChangeEvents;

function checkTypes(types: readonly string[]): ChangeEventType[] {
  const unknown = types.find((t) => !(t in CHANGE_EVENT_TYPES));
  if (unknown !== undefined) throw ValidationError.of('eventTypes', 'UNKNOWN_EVENT_TYPE', 'names an event type that does not exist');
  return [...new Set(types)] as ChangeEventType[];
}

/** Registration and operation of webhook endpoints (and FHIR rest-hook subscriptions, which are endpoints too). */
export class WebhookService {
  constructor(
    private readonly db: Database,
    private readonly urlPolicy: UrlPolicy,
    private readonly onChange: () => void = () => undefined,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  /** Registers an endpoint; the returned secret is never shown again. */
  async register(input: EndpointInput, actor: string): Promise<{ endpoint: store.WebhookEndpointRow; secret: string }> {
    await checkUrlTarget(input.url, this.urlPolicy, 'url', this.resolve);
    const eventTypes = checkTypes(input.eventTypes ?? []);
    if (input.demographicsRole && !(DEMOGRAPHICS_ROLES as readonly string[]).includes(input.demographicsRole)) {
      throw ValidationError.of('demographicsRole', 'INVALID_ROLE', `must be one of ${DEMOGRAPHICS_ROLES.join(', ')}`);
    }
    if (input.description && input.description.length > 500)
      throw ValidationError.of('description', 'TOO_LONG', 'must be at most 500 characters');
    const from = input.fromPosition ?? (await store.headPosition(this.db));
    if (!Number.isInteger(from) || from < 0) throw ValidationError.of('fromPosition', 'OUT_OF_RANGE', 'must be a position, 0 or more');
    const secret = newWebhookSecret();
    const endpoint = await store.insertEndpoint(this.db, {
      id: timeOrderedUuid(),
      kind: input.kind ?? 'STANDARD',
      url: input.url,
      description: input.description ?? null,
      eventTypes,
      demographicsRole: input.demographicsRole ?? null,
      secret,
      fhir: input.fhir ?? null,
      createdBy: actor,
      position: from,
    });
    this.onChange();
    return { endpoint, secret };
  }

  list(kind?: EndpointKind): Promise<store.WebhookEndpointRow[]> {
    return store.listEndpoints(this.db, kind);
  }

  async get(id: string, field = 'id'): Promise<store.WebhookEndpointRow> {
    const row = await store.getEndpoint(this.db, requireUuid(id, field, 'a webhook endpoint id'));
    if (!row) throw new NotFoundError('Webhook endpoint', field);
    return row;
  }

  async remove(id: string): Promise<store.WebhookEndpointRow> {
    const row = await this.get(id);
    await store.updateEndpoint(this.db, id, { status: 'DELETED' });
    return { ...row, status: 'DELETED' };
  }

  /** Pauses or resumes delivery. */
  async setActive(id: string, active: boolean): Promise<store.WebhookEndpointRow> {
    await this.get(id);
    const row = (await store.updateEndpoint(this.db, id, { status: active ? 'ACTIVE' : 'PAUSED', nextAttemptAt: null, headAttempts: 0 }))!;
    this.onChange();
    return row;
  }

  /** Queues dead letters (all of the endpoint's, or the given ids) for another delivery. */
  async redeliver(id: string, deadLetterIds?: readonly number[] | null): Promise<number> {
    await this.get(id);
    const dead = await store.deadLettersOf(this.db, id, 'DEAD');
    const chosen = deadLetterIds ? dead.filter((d) => deadLetterIds.includes(d.id)) : dead;
    await store.setDeadLetterStatus(
      this.db,
      chosen.map((d) => d.id),
      'PENDING',
    );
    this.onChange();
    return chosen.length;
  }

  /** Delivers again every event after `position` (a consumer that lost data asks for a replay). */
  async replay(id: string, position: number): Promise<store.WebhookEndpointRow> {
    if (!Number.isInteger(position) || position < 0)
      throw ValidationError.of('fromPosition', 'OUT_OF_RANGE', 'must be a position, 0 or more');
    await this.get(id);
    const row = (await store.updateEndpoint(this.db, id, { position, headAttempts: 0, nextAttemptAt: null }))!;
    this.onChange();
    return row;
  }

  deadLetters(id: string): Promise<store.DeadLetterRow[]> {
    return store.deadLettersOf(this.db, id);
  }

  async status(endpoint: store.WebhookEndpointRow): Promise<EndpointStatus> {
    const [lag, dead] = await Promise.all([store.endpointLag(this.db, endpoint), store.deadLettersOf(this.db, endpoint.id, 'DEAD')]);
    return {
      position: endpoint.position,
      lagEvents: lag.events,
      lagSeconds: lag.oldestAt ? Math.max(0, (Date.now() - lag.oldestAt.getTime()) / 1000) : 0,
      headAttempts: endpoint.headAttempts,
      nextAttemptAt: endpoint.nextAttemptAt,
      delivered: endpoint.delivered,
      lastDeliveredAt: endpoint.lastDeliveredAt,
      lastStatus: endpoint.lastStatus,
      lastError: endpoint.lastError,
      deadLetters: dead.length,
    };
  }
}

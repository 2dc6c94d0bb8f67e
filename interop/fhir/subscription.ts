import { randomUUID } from 'node:crypto';
import { PERMISSIONS } from '../../platform/roles.ts';
import type { GoldenIdentityView, SubscriptionInput, SubscriptionPayload, SubscriptionView } from '../ports.ts';
import { DEFAULT_IDENTITY_SYSTEMS, identityToPatient, type IdentitySystems } from './identity-to-patient.ts';
import { errorIssue, FhirError } from './operation-outcome.ts';
import type { Extension, OperationOutcomeIssue, Patient } from './types.ts';

/**
 * FHIR R4 topic-based subscriptions in the style of the Subscriptions R5 Backport IG
 * (hl7.org/fhir/uv/subscriptions-backport): an R4 Subscription whose `criteria` is a topic's canonical URL, the
 * rest-hook channel, and notification Bundles of type `history` led by a subscription-status Parameters.
 */
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const BACKPORT_SUBSCRIPTION_PROFILE = `${BACKPORT}/backport-subscription`;
export const BACKPORT_NOTIFICATION_PROFILE = `${BACKPORT}/backport-subscription-notification-r4`;
export const BACKPORT_STATUS_PROFILE = `${BACKPORT}/backport-subscription-status-r4`;
export const PAYLOAD_CONTENT_EXTENSION = `${BACKPORT}/backport-payload-content`;
/** Our extension on Subscription: whose masking the notification Patients' demographics follow (none by default). */
export const DEMOGRAPHICS_ROLE_EXTENSION = 'urn:mpi:fhir:subscription-demographics-role';

/**
 * The one topic: changes of which golden Patient a record belongs to (IHE PMIR's "patient identity feed" events:
 * merges, links, unlinks, splits, deletions). The event types are the change events it is made of.
 */
export const PATIENT_LINKS_TOPIC = {
  url: 'urn:mpi:fhir:SubscriptionTopic/patient-links',
  title: 'Patient link changes',
  eventTypes: ['IDENTITIES_MERGED', 'RECORD_LINKED', 'RECORD_UNLINKED', 'IDENTITY_SPLIT', 'RECORD_DELETED'],
} as const;

const PAYLOADS: readonly SubscriptionPayload[] = ['empty', 'id-only', 'full-resource'];
/** Roles whose masking a subscription may ask for: the roles that may read change events. */
const ROLES: readonly string[] = PERMISSIONS.readChangeEvents;
const MAX_HEADERS = 10;
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}):[ \t]*([^\r\n]{1,1024})$/;
/** Headers the delivery sets itself; a subscription may not replace them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function extensionValue(holder: unknown, url: string): unknown {
  if (!isObject(holder) || !Array.isArray(holder.extension)) return undefined;
  const found = (holder.extension as unknown[]).find((e) => isObject(e) && e.url === url) as Json | undefined;
  return found ? (found.valueCode ?? found.valueString) : undefined;
}

/**
 * Reads a Subscription a client POSTs: the topic, a rest-hook channel with an endpoint, JSON payloads, optional
 * headers (`Name: value`) sent with every notification, the payload content and our demographics extension.
 * Throws a 422 naming each element at fault, never its value.
 */
export function parseSubscription(resource: unknown): Omit<SubscriptionInput, 'baseUrl'> {
  if (!isObject(resource) || resource.resourceType !== 'Subscription') {
    throw new FhirError(400, [errorIssue('structure', 'body must be a Subscription resource', 'Subscription.resourceType')]);
  }
  const issues: OperationOutcomeIssue[] = [];
  const problem = (path: string, message: string, code: 'required' | 'value' | 'not-supported' = 'value') =>
    issues.push(errorIssue(code, message, `Subscription.${path}`));
  if (resource.criteria !== PATIENT_LINKS_TOPIC.url) problem('criteria', `must be the topic ${PATIENT_LINKS_TOPIC.url}`);
  if (typeof resource.reason !== 'string' || resource.reason.trim() === '') problem('reason', 'is required', 'required');
  else if (resource.reason.length > 500) problem('reason', 'must be at most 500 characters');
  if (resource.end !== undefined) problem('end', 'is not supported: delete the subscription instead', 'not-supported');
  if (resource.status !== undefined && resource.status !== 'requested' && resource.status !== 'active')
    problem('status', 'must be requested (or active)');
  const channel = isObject(resource.channel) ? resource.channel : null;
  if (!channel) problem('channel', 'is required', 'required');
  if (channel && channel.type !== 'rest-hook') problem('channel.type', 'must be rest-hook', 'not-supported');
  if (channel && (typeof channel.endpoint !== 'string' || channel.endpoint === '')) problem('channel.endpoint', 'is required', 'required');
  if (channel && channel.payload !== undefined && !/^application\/(fhir\+)?json$/.test(String(channel.payload)))
    problem('channel.payload', 'must be application/fhir+json', 'not-supported');
  const content = extensionValue(channel?._payload, PAYLOAD_CONTENT_EXTENSION) ?? 'full-resource';
  if (!PAYLOADS.includes(content as SubscriptionPayload)) problem('channel.payload', `content must be one of ${PAYLOADS.join(', ')}`);
  const headers = channel && Array.isArray(channel.header) ? (channel.header as unknown[]) : [];
  if (channel?.header !== undefined && !Array.isArray(channel.header)) problem('channel.header', 'must be a list');
  if (headers.length > MAX_HEADERS) problem('channel.header', `must have at most ${MAX_HEADERS} entries`);
  const parsedHeaders: Record<string, string> = {};
  headers.forEach((h, i) => {
    const match = typeof h === 'string' ? HEADER.exec(h) : null;
    if (!match) return problem(`channel.header[${i}]`, 'must be "Name: value"');
    if (RESERVED_HEADERS.has(match[1]!.toLowerCase())) return problem(`channel.header[${i}]`, 'names a header the server sets itself');
    parsedHeaders[match[1]!] = match[2]!;
  });
  const role = extensionValue(resource, DEMOGRAPHICS_ROLE_EXTENSION);
  if (role !== undefined && !ROLES.includes(String(role))) problem('extension', `demographics role must be one of ${ROLES.join(', ')}`);
  if (issues.length > 0) throw new FhirError(422, issues);
  return {
    url: channel!.endpoint as string,
    reason: (resource.reason as string).trim(),
    payload: content as SubscriptionPayload,
    headers: parsedHeaders,
    demographicsRole: (role as string | undefined) ?? null,
    eventTypes: [...PATIENT_LINKS_TOPIC.eventTypes],
  };
}

/** The stored subscription as an R4 Subscription (backport profile). Channel headers are never shown again: they may hold credentials. */
export function subscriptionResource(view: SubscriptionView): Json {
  const extension: Extension[] = view.demographicsRole ? [{ url: DEMOGRAPHICS_ROLE_EXTENSION, valueCode: view.demographicsRole }] : [];
  return {
    resourceType: 'Subscription',
    id: view.id,
    meta: { profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
    ...(extension.length > 0 ? { extension } : {}),
    status: view.status,
    reason: view.reason,
    criteria: PATIENT_LINKS_TOPIC.url,
    ...(view.error ? { error: view.error } : {}),
    channel: {
      type: 'rest-hook',
      endpoint: view.url,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT_EXTENSION, valueCode: view.payload }] },
    },
  };
}

/** One change event as a notification names it. */
export interface NotificationEvent {
  /** The event's global position: its event number (monotonic per server, so per subscription too). */
  position: number;
  occurredAt: string;
  /** The golden identity the event is about (the survivor of a merge, the identity a record left for). */
  focusId: string;
  /** The golden identities whose Patients the notification carries, focus first. */
  identities: GoldenIdentityView[];
}

/** What a notification is sent for. */
export interface NotificationSubscription {
  id: string;
  baseUrl: string;
  payload: SubscriptionPayload;
  /** Whether the Patients carry (role-masked) demographics; without, only identifiers, `active` and `link`. */
  demographics: boolean;
}

/**
 * A rest-hook notification Bundle for one event (Backport IG, R4 notification): a `history` Bundle whose first
 * entry is the subscription-status Parameters (event number = position, the focus reference); for
 * `full-resource`, the golden Patients follow with their IHE PMIR links: `replaced-by` on a retired identity,
 * `replaces` on its survivor, `seealso` to each source record's Patient.
 */
export function notificationBundle(
  subscription: NotificationSubscription,
  event: NotificationEvent,
  systems: IdentitySystems = DEFAULT_IDENTITY_SYSTEMS,
): Json {
  const base = subscription.baseUrl.replace(/\/+$/, '');
  const subscriptionUrl = `${base}/Subscription/${subscription.id}`;
  const eventNumber = String(event.position);
  const notificationEvent = [
    { name: 'event-number', valueString: eventNumber },
    { name: 'timestamp', valueInstant: event.occurredAt },
    ...(subscription.payload === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${base}/Patient/${event.focusId}` } }]),
  ];
  const status = {
    resourceType: 'Parameters',
    id: randomUUID(),
    meta: { profile: [BACKPORT_STATUS_PROFILE] },
    parameter: [
      { name: 'subscription', valueReference: { reference: subscriptionUrl } },
      { name: 'topic', valueCanonical: PATIENT_LINKS_TOPIC.url },
      { name: 'status', valueCode: 'active' },
      { name: 'type', valueCode: 'event-notification' },
      { name: 'events-since-subscription-start', valueString: eventNumber },
      { name: 'notification-event', part: notificationEvent },
    ],
  };
  const patients =
    subscription.payload === 'full-resource'
      ? event.identities
          .map((view) => patientOf(view, subscription.demographics, systems))
          .map((resource) => ({
            fullUrl: `${base}/Patient/${resource.id}`,
            resource,
            request: { method: 'PUT', url: `Patient/${resource.id}` },
            response: { status: '200' },
          }))
      : [];
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [BACKPORT_NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${status.id}`,
        resource: status,
        request: { method: 'GET', url: `${subscriptionUrl}/$status` },
        response: { status: '200' },
      },
      ...patients,
    ],
  };
}

/** The golden Patient; without demographics it keeps its identifiers (enterprise id, source ids), `active` and links. */
function patientOf(view: GoldenIdentityView, demographics: boolean, systems: IdentitySystems): Patient {
  return identityToPatient(demographics ? view : { ...view, golden: {} }, systems);
}

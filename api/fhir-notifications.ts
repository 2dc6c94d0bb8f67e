import { randomUUID } from 'node:crypto';
import type { ChangeEvent, Renderer, WebhookEndpointRow } from '../events/index.ts';
import { notificationBundle, type GoldenIdentityView, type NotificationEvent, type SubscriptionPayload } from '../interop/index.ts';
import type { Principal } from './context.ts';
import { interopContext, writeInteropAudit, type ServiceInteropPort } from './interop-port.ts';
import type { Services } from './services.ts';

/** What a FHIR_REST_HOOK endpoint keeps besides its URL (written by `createSubscription`). */
interface FhirEndpointSettings {
  baseUrl: string;
  payload: SubscriptionPayload;
  headers?: Record<string, string>;
}

/**
 * The golden identities an event concerns, the focus first: a merge's survivor then the retired identity; the
 * identity a record moved to then the one it left; otherwise the event's identity.
 */
export function identitiesOf(event: ChangeEvent): string[] {
  const d = event.data as Record<string, string | null | undefined>;
  const ids =
    event.type === 'IDENTITIES_MERGED'
      ? [d.survivingId, d.retiredId]
      : event.type === 'RECORD_UNLINKED' || event.type === 'IDENTITY_SPLIT'
        ? [d.toIdentityId, d.fromIdentityId]
        : [event.identityId];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
}

/**
 * Renders FHIR rest-hook notifications: one Backport-style notification Bundle per event, with the golden
 * Patients as they are at delivery. Without a demographics role they carry identifiers, `active` and links only;
 * with one, demographics masked as for that role, and each delivery that read them is audited.
 */
export function fhirRestHookRenderer(services: Services, port: ServiceInteropPort): Renderer {
  return async (endpoint: WebhookEndpointRow, events: ChangeEvent[]) => {
    const settings = endpoint.fhir as unknown as FhirEndpointSettings;
    const role = endpoint.demographicsRole;
    // Reads go through the port as a principal of the subscription itself, masked by its role.
    const principal: Principal = {
      id: `subscription:${endpoint.id}`,
      name: `fhir-subscription:${endpoint.id}`,
      kind: 'local',
      roles: [role === 'steward' ? 'steward' : 'pipeline'],
    };
    const ctx = interopContext('fhir', principal, randomUUID());
    const views = new Map<string, Promise<GoldenIdentityView | null>>();
    const view = (id: string) => {
      if (!views.has(id)) views.set(id, port.getIdentity(ctx, id));
      return views.get(id)!;
    };
    const bodies = await Promise.all(
      events.map(async (event) => {
        const ids = identitiesOf(event);
        const identities = (await Promise.all(ids.map(view))).filter((v): v is GoldenIdentityView => v !== null);
        const notification: NotificationEvent = {
          position: event.position,
          occurredAt: event.occurredAt.toISOString(),
          focusId: ids[0] ?? event.identityId ?? '',
          identities,
        };
        const bundle = notificationBundle(
          { id: endpoint.id, baseUrl: settings.baseUrl, payload: settings.payload, demographics: role !== null },
          notification,
        );
        return { body: JSON.stringify(bundle), contentType: 'application/fhir+json', headers: settings.headers ?? {} };
      }),
    );
    if (role !== null)
      await writeInteropAudit(services, ctx, 'fhir:notify', 'SUCCESS', { subscription: endpoint.id, events: events.length });
    return bodies;
  };
}

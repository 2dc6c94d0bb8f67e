import type { RequestLoaders } from './loaders.ts';
import type { Services } from './services.ts';

import type { Role } from '../platform/roles.ts';

export { ROLES, type Role } from '../platform/roles.ts';

/** Who is calling. */
export interface Principal {
  id: string;
  name: string;
  roles: Role[];
  kind: 'api-key' | 'jwt' | 'local';
}

/** Collects what a request touched, for its audit entry. */
export class AuditTrail {
  readonly objects = new Map<string, Set<string>>();
  /** Set when a resolver writes patient data (the entry is written even when nothing was read). */
  wrote = false;
  /** Set when an operation that returns patient data ran, even if it found nothing (the search itself is audited). */
  reachedPatientData = false;
  /** Objects (`identity:<id>`) already audited by an entry written inside a write's own transaction. */
  readonly recorded = new Set<string>();
  /** Root fields that read patient data, and those of them that found nothing (`NOT_FOUND` or `EMPTY`). */
  patientReads = 0;
  readonly nothingFound = new Map<string, 'NOT_FOUND' | 'EMPTY'>();
  /** Set once an entry was written inside the transaction of a change the request made. */
  inTransaction = false;
  /** Codes of expected failures a mutation answered as data (a result union), so the entry records them. */
  readonly failures: string[] = [];

  touch(objectType: string, ...ids: Array<string | null | undefined>): void {
    let set = this.objects.get(objectType);
    if (!set) this.objects.set(objectType, (set = new Set()));
    for (const id of ids) if (id) set.add(id);
  }

  get touched(): boolean {
    return this.objects.size > 0;
  }
}

export interface RequestContext {
  requestId: string;
  principal: Principal | null;
  clientAddress: string | null;
  services: Services;
  audit: AuditTrail;
  /** Batched lookups of identities and records for this operation (see loaders.ts). */
  loaders: RequestLoaders;
}

/** The principal, or an error when the request is anonymous (resolvers behind scope auth never see null). */
export function actorOf(ctx: RequestContext): string {
  return ctx.principal ? `${ctx.principal.kind}:${ctx.principal.name}` : 'anonymous';
}

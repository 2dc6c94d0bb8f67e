import type { ScoredCandidate, SourceRecordInput as ServiceRecordInput } from '../identity/index.ts';
import {
  PortError,
  type CrossReference,
  type GoldenIdentityView,
  type IdentityViewRow,
  type IngestResult,
  type InteropPort,
  type MatchCandidate,
  type MatchOptions,
  type PatientQuery,
  type PatientSearchResult,
  type PatientVersion,
  type PatientWrite,
  type PatientWriteResult,
  type RecordInput,
  type SourceRecordInput,
  type SourceRef,
  type SubscriptionInput,
  type SubscriptionPayload,
  type SubscriptionView,
} from '../interop/index.ts';
import type { WebhookEndpointRow } from '../events/index.ts';
import * as resources from './fhir-resources.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../platform/errors.ts';
import { recordAudit, touchedObjects, touchResult } from './audit-plugin.ts';
import { appendAuditInTransaction, type AuditEntry } from '../platform/audit.ts';
import type { BeforeCommitHook } from '../platform/db/before-commit.ts';
import { holds, type Permission } from '../platform/roles.ts';
import { AuditTrail, type Principal } from './context.ts';
import { PHI_FIELDS, presentPhi } from './masking.ts';
import type { Services } from './services.ts';
import { isUuid } from '../platform/ids.ts';

/** Which protocol a call came in on. HL7 feeds may merge and unlink (see `MERGE_PERMISSION`). */
export type InteropChannel = 'fhir' | 'hl7';

/** The caller of one FHIR request or one HL7 message, and what it touched, for its audit entry. */
export interface InteropContext {
  channel: InteropChannel;
  principal: Principal | null;
  requestId: string;
  clientAddress: string | null;
  audit: AuditTrail;
  /** Canonical fields read or written. */
  fields: Set<string>;
  /** A role check refused a call. */
  denied: boolean;
}

/** A fresh context for one request or message. */
export function interopContext(
  channel: InteropChannel,
  principal: Principal | null,
  requestId: string,
  clientAddress: string | null = null,
): InteropContext {
  return { channel, principal, requestId, clientAddress, audit: new AuditTrail(), fields: new Set(), denied: false };
}

/** Who may merge and unlink, by channel (`platform/roles.ts` says why HL7 feeds may). */
const MERGE_PERMISSION: Record<InteropChannel, Permission> = { fhir: 'mergeOverFhir', hl7: 'mergeOverHl7' };

/** A port operation that checks a permission (`sourceForSystem` only needs a caller: it reveals no patient data). */
export type CheckedOperation = Exclude<keyof InteropPort<InteropContext>, 'sourceForSystem'>;

/**
 * The permission of platform/roles.ts each FHIR and HL7 operation needs: the same table the GraphQL scopes are
 * derived from. Merges and unlinks depend on the channel.
 */
export const INTEROP_PERMISSIONS: Readonly<Record<CheckedOperation, Permission | Record<InteropChannel, Permission>>> = {
  ingest: 'ingest',
  deleteRecord: 'ingest',
  mergeBySourceIds: MERGE_PERMISSION,
  unlinkBySourceIds: MERGE_PERMISSION,
  match: 'match',
  crossReference: 'match',
  getIdentity: 'readIdentity',
  writePatient: 'ingest',
  maskedElements: 'ingest',
  readPatient: 'readIdentity',
  patientHistory: 'readIdentity',
  patientIdOf: 'ingest',
  deletePatient: 'ingest',
  searchPatients: 'readIdentity',
  createSubscription: 'manageSubscriptions',
  readSubscription: 'manageSubscriptions',
  deleteSubscription: 'manageSubscriptions',
};

/** The permission an operation needs on a channel. */
export function interopPermission(operation: CheckedOperation, channel: InteropChannel): Permission {
  const needed = INTEROP_PERMISSIONS[operation];
  return typeof needed === 'string' ? needed : needed[channel];
}

/** How long the FHIR system / HL7 authority -> source map is trusted before it is reloaded. */
const SYSTEM_CACHE_MS = 10_000;
/** An unknown system reloads the map at most this often, so a feed of unknown systems cannot hammer the database. */
const SYSTEM_MISS_RELOAD_MS = 1_000;

function requirePermission(ctx: InteropContext, operation: CheckedOperation): void {
  if (!ctx.principal) {
    ctx.denied = true;
    throw new PortError('UNAUTHENTICATED', 'credentials are required');
  }
  if (!holds(ctx.principal.roles, interopPermission(operation, ctx.channel))) {
    ctx.denied = true;
    throw new PortError('FORBIDDEN', 'not allowed for this role');
  }
}

/** `input[3].birthDate` and `input.birthDate` -> `birthDate`: the protocol layer speaks canonical field names. */
function canonicalField(field: string): string {
  return field.replace(/^input(\[\d+\])?\./, '');
}

/** Translates the service's refusals into the port's error codes; anything else passes through (masked later). */
function toPortError(error: unknown): unknown {
  if (error instanceof PortError || !(error instanceof DomainError)) return error;
  const field = error.field === undefined ? undefined : canonicalField(error.field);
  if (error instanceof ValidationError) {
    const problems = error.problems.map((p) => ({ field: canonicalField(p.field), message: p.message }));
    return new PortError('VALIDATION_FAILED', error.message, field, { cause: error, problems });
  }
  if (error.code === 'UNKNOWN_SOURCE' || error.code === 'INACTIVE_SOURCE')
    return new PortError('UNKNOWN_SOURCE', error.message, field, { cause: error });
  if (error instanceof NotFoundError) return new PortError('NOT_FOUND', error.message, field, { cause: error });
  if (error instanceof ConflictError) return new PortError('CONFLICT', error.message, field, { cause: error });
  if (error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED')
    return new PortError(error.code, error.message, field, { cause: error });
  return error;
}

async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toPortError(error);
  }
}

/**
 * The identity service as the interoperability layer sees it (interop/ports.ts), with the GraphQL API's rules:
 * role checks per call, PHI masked for roles without full access, and every record and identity read or
 * written noted on the context for the request's audit entry (`writeInteropAudit`).
 */
export class ServiceInteropPort implements InteropPort<InteropContext> {
  private systems: { map: Map<string, string>; loadedAt: number } | null = null;

  constructor(
    private readonly services: Services,
    private readonly now: () => number = Date.now,
  ) {}

  async ingest(ctx: InteropContext, input: SourceRecordInput): Promise<IngestResult> {
    requirePermission(ctx, 'ingest');
    const result = await translated(() => this.services.ingest.ingest(input as ServiceRecordInput, actor(ctx)));
    ctx.audit.wrote = true;
    ctx.audit.touch('record', result.recordId);
    ctx.audit.touch('identity', result.identityId);
    for (const f of PHI_FIELDS) if (input[f]) ctx.fields.add(f);
    return { outcome: result.outcome, recordId: result.recordId, identityId: result.identityId };
  }

  async deleteRecord(ctx: InteropContext, ref: SourceRef): Promise<void> {
    requirePermission(ctx, 'deleteRecord');
    const { recordId, identityId } = await translated(() => this.services.ingest.deleteRecord(ref.source, ref.localId, actor(ctx)));
    ctx.audit.wrote = true;
    ctx.audit.touch('record', recordId);
    ctx.audit.touch('identity', identityId);
  }

  async mergeBySourceIds(
    ctx: InteropContext,
    survivor: SourceRef,
    merged: SourceRef,
    reason: string,
  ): Promise<{ survivorIdentityId: string }> {
    requirePermission(ctx, 'mergeBySourceIds');
    const keep = await this.currentIdentity(survivor, 'survivor');
    const gone = await this.currentIdentity(merged, 'merged');
    ctx.audit.touch('identity', keep, gone);
    if (keep === gone) return { survivorIdentityId: keep };
    const row = await translated(() => this.services.steward.merge(keep, gone, actor(ctx, reason)));
    ctx.audit.wrote = true;
    return { survivorIdentityId: row.id };
  }

  async unlinkBySourceIds(ctx: InteropContext, ref: SourceRef, reason: string): Promise<{ identityId: string }> {
    requirePermission(ctx, 'unlinkBySourceIds');
    const found = await this.services.identity.sourceRecordByLocalId(ref.source, ref.localId);
    if (!found?.link || found.record.deletedAt) throw new PortError('NOT_FOUND', 'source record not found', 'localId');
    ctx.audit.touch('record', found.record.id);
    try {
      const { from, to } = await this.services.steward.unlink(found.record.id, null, actor(ctx, reason));
      ctx.audit.wrote = true;
      ctx.audit.touch('identity', from, to);
      return { identityId: to };
    } catch (error) {
      // Already alone in its identity: the state the sender asked for holds, so a resent A37 is not an error.
      if (error instanceof ConflictError && error.code === 'ONLY_RECORD') {
        ctx.audit.touch('identity', found.link.identityId);
        return { identityId: found.link.identityId };
      }
      throw toPortError(error);
    }
  }

  async match(ctx: InteropContext, input: RecordInput, opts: MatchOptions): Promise<MatchCandidate[]> {
    requirePermission(ctx, 'match');
    const scored = await translated(() =>
      this.services.ingest.match(input, { count: opts.count ?? null, onlyCertain: opts.onlyCertain ?? null }),
    );
    const views = await this.views(
      ctx,
      scored.map((c) => c.identityId),
    );
    return scored.flatMap((c: ScoredCandidate, i) => {
      const identity = views[i];
      return identity ? [{ identity, probability: c.probability, grade: c.grade }] : [];
    });
  }

  async getIdentity(ctx: InteropContext, id: string): Promise<GoldenIdentityView | null> {
    requirePermission(ctx, 'getIdentity');
    return this.view(ctx, id);
  }

  async writePatient(ctx: InteropContext, write: PatientWrite): Promise<PatientWriteResult> {
    requirePermission(ctx, 'writePatient');
    return resources.writePatient(this.resourceDeps, ctx, write);
  }

  async maskedElements(ctx: InteropContext, ref: SourceRef, resource: Record<string, unknown>): Promise<string[]> {
    requirePermission(ctx, 'maskedElements');
    return resources.maskedElements(this.resourceDeps, ctx, ref, resource);
  }

  async readPatient(ctx: InteropContext, id: string, versionId?: number): Promise<PatientVersion | null> {
    requirePermission(ctx, 'readPatient');
    return resources.readPatient(this.resourceDeps, ctx, id, versionId);
  }

  async patientHistory(ctx: InteropContext, id: string): Promise<PatientVersion[]> {
    requirePermission(ctx, 'patientHistory');
    return resources.patientHistory(this.resourceDeps, ctx, id);
  }

  async patientIdOf(ctx: InteropContext, ref: SourceRef): Promise<string | null> {
    requirePermission(ctx, 'patientIdOf');
    return resources.patientIdOf(this.resourceDeps, ref);
  }

  async deletePatient(ctx: InteropContext, id: string, ifMatch?: number): Promise<PatientVersion> {
    requirePermission(ctx, 'deletePatient');
    return resources.deletePatient(this.resourceDeps, ctx, id, ifMatch);
  }

  async searchPatients(ctx: InteropContext, query: PatientQuery): Promise<PatientSearchResult> {
    requirePermission(ctx, 'searchPatients');
    return resources.searchPatients(this.resourceDeps, ctx, query);
  }

  async crossReference(ctx: InteropContext, ref: SourceRef): Promise<CrossReference | null> {
    requirePermission(ctx, 'crossReference');
    const row = await this.services.patientResources.identityViewOfRecord(ref.source, ref.localId);
    if (row?.status === 'ACTIVE') return { identity: await this.toView(ctx, row) };
    if (!row) return null;
    // Links name surviving identities; one that still names a merged identity is followed to its survivor.
    const identity = await this.services.ingest.resolve(ref.source, ref.localId);
    const view = identity ? await this.view(ctx, identity.id) : null;
    return view ? { identity: view } : null;
  }

  async createSubscription(ctx: InteropContext, input: SubscriptionInput): Promise<SubscriptionView> {
    requirePermission(ctx, 'createSubscription');
    const { baseUrl, reason, payload, headers, ...endpoint } = input;
    const { endpoint: row } = await translated(() =>
      this.services.events.webhooks.register(
        { ...endpoint, kind: 'FHIR_REST_HOOK', description: reason, fhir: { baseUrl, reason, payload, headers } },
        actorOf(ctx),
      ),
    );
    ctx.audit.touch('webhook', row.id);
    ctx.audit.wrote = true;
    return subscriptionView(row);
  }

  async readSubscription(ctx: InteropContext, id: string): Promise<SubscriptionView | null> {
    requirePermission(ctx, 'readSubscription');
    const row = await this.subscriptionRow(id);
    if (row) ctx.audit.touch('webhook', row.id);
    return row ? subscriptionView(row) : null;
  }

  async deleteSubscription(ctx: InteropContext, id: string): Promise<boolean> {
    requirePermission(ctx, 'deleteSubscription');
    const row = await this.subscriptionRow(id);
    if (!row) return false;
    await this.services.events.webhooks.remove(row.id);
    ctx.audit.touch('webhook', row.id);
    ctx.audit.wrote = true;
    return true;
  }

  /** The live FHIR_REST_HOOK endpoint with this id (a malformed id is simply not found). */
  private async subscriptionRow(id: string): Promise<WebhookEndpointRow | null> {
    if (!isUuid(id)) return null;
    const row = await this.services.events.webhooks.get(id).catch(() => null);
    return row && row.kind === 'FHIR_REST_HOOK' && row.status !== 'DELETED' ? row : null;
  }

  private get resourceDeps(): resources.ResourceDeps {
    return {
      services: this.services,
      actor: (ctx) => actor(ctx),
      translated,
      view: (ctx, id) => this.view(ctx, id),
      toView: (ctx, row) => this.toView(ctx, row),
      sourceForSystem: (ctx, system) => this.sourceForSystem(ctx, system),
    };
  }

  async sourceForSystem(ctx: InteropContext, system: string): Promise<string | null> {
    if (!ctx.principal) {
      ctx.denied = true;
      throw new PortError('UNAUTHENTICATED', 'credentials are required');
    }
    const age = this.systems ? this.now() - this.systems.loadedAt : Infinity;
    if (age > SYSTEM_CACHE_MS || (!this.systems?.map.has(system) && age > SYSTEM_MISS_RELOAD_MS)) {
      const rows = await this.services.catalog.listSources();
      this.systems = {
        map: new Map(rows.flatMap((s) => (s.system ? [[s.system, s.code] as [string, string]] : []))),
        loadedAt: this.now(),
      };
    }
    return this.systems?.map.get(system) ?? null;
  }

  /** The identity a source record belongs to now (after merges), or NOT_FOUND naming which side is missing. */
  private async currentIdentity(ref: SourceRef, side: 'survivor' | 'merged'): Promise<string> {
    const identity = await this.services.ingest.resolve(ref.source, ref.localId);
    if (!identity) throw new PortError('NOT_FOUND', `${side} source record not found`, side);
    return identity.id;
  }

  /** The identity as the protocol layer shows it, demographics masked for roles without full access. */
  private async view(ctx: InteropContext, id: string): Promise<GoldenIdentityView | null> {
    const [view] = await this.views(ctx, [id]);
    return view ?? null;
  }

  /** Several identities as `view` shows each (null for an unknown id), read together in one statement. */
  private async views(ctx: InteropContext, ids: string[]): Promise<Array<GoldenIdentityView | null>> {
    const rows = new Map((await this.services.patientResources.identityViews(ids)).map((row) => [row.id, row]));
    return Promise.all(ids.map((id) => (rows.has(id) ? this.toView(ctx, rows.get(id)!) : null)));
  }

  private async toView(ctx: InteropContext, row: IdentityViewRow): Promise<GoldenIdentityView> {
    // A merged identity names the survivor at the end of its chain (chains are kept one hop long; merged ones are rare).
    const survivor = row.status === 'MERGED' ? await this.services.identity.getIdentity(row.id) : null;
    ctx.audit.touch('identity', row.id);
    const golden: RecordInput = {};
    for (const field of PHI_FIELDS) {
      const value = row.golden[field] ?? null;
      if (value !== null) ctx.fields.add(field);
      golden[field] = presentPhi(ctx, field, value);
    }
    return {
      id: row.id,
      status: row.status,
      mergedInto: row.status === 'MERGED' ? (survivor?.id ?? row.merged_into) : null,
      replaces: row.replaces,
      golden,
      records: row.records.map((r) => ({ source: r.source, localId: r.localId, system: r.system, resourceId: r.resourceId })),
      updatedAt: new Date(row.updated_at).toISOString(),
      version: row.version,
    };
  }
}

/** What the FHIR layer shows of a FHIR_REST_HOOK endpoint: a failing one is in `error` until a delivery succeeds. */
function subscriptionView(row: WebhookEndpointRow): SubscriptionView {
  const fhir = (row.fhir ?? {}) as { reason?: string; payload?: SubscriptionPayload };
  const failing = row.headAttempts > 0 && row.lastError !== null;
  return {
    id: row.id,
    status: row.status === 'PAUSED' ? 'off' : failing ? 'error' : 'active',
    url: row.url,
    reason: fhir.reason ?? row.description ?? 'patient link changes',
    payload: fhir.payload ?? 'full-resource',
    demographicsRole: row.demographicsRole,
    error: failing ? row.lastError : null,
  };
}

/** The actor as identity events and audit entries name it, as the GraphQL API does (`api-key:feed-1`). */
function actorOf(ctx: InteropContext): string {
  return ctx.principal ? `${ctx.principal.kind}:${ctx.principal.name}` : 'anonymous';
}

function actor(ctx: InteropContext, reason?: string): { actor: string; reason: string | null; requestId: string } {
  return { actor: actorOf(ctx), reason: reason ?? null, requestId: ctx.requestId };
}

function interopEntry(
  ctx: InteropContext,
  trail: AuditTrail,
  action: string,
  outcome: AuditEntry['outcome'],
  details: Record<string, unknown>,
): AuditEntry {
  return {
    actor: actorOf(ctx),
    role: ctx.principal?.roles.join(',') ?? 'none',
    action,
    ...touchedObjects(trail),
    fields: [...ctx.fields].sort(),
    outcome,
    requestId: ctx.requestId,
    clientAddress: ctx.clientAddress,
    details,
  };
}

/**
 * The entry of a FHIR request or HL7 message that changes patient data, written last inside each transaction
 * that makes a change (run the request in `withBeforeCommit` with this hook): the change and its entry commit
 * together or not at all. A transaction that wrote nothing gets no entry. `writeInteropAudit` then adds an entry only for what this one did not cover.
 */
export function interopAuditInTransaction(ctx: InteropContext, action: string, details: Record<string, unknown> = {}): BeforeCommitHook {
  return async (tx, result) => {
    const written = new AuditTrail();
    touchResult(written, result);
    const trail = new AuditTrail();
    for (const [type, ids] of ctx.audit.objects) trail.touch(type, ...ids);
    // Records before identities, as the port touches them.
    for (const type of [...written.objects.keys()].sort((a, b) => Number(b === 'record') - Number(a === 'record')))
      trail.touch(type, ...written.objects.get(type)!);
    const entry = interopEntry(ctx, trail, action, 'SUCCESS', details);
    if (!(await appendAuditInTransaction(tx, entry, { onlyIfWritten: true }))) return;
    ctx.audit.wrote = true;
    ctx.audit.inTransaction = true;
    for (const id of entry.objectIds ?? []) ctx.audit.recorded.add(id);
  };
}

/**
 * Writes the one audit entry of a FHIR request or HL7 message that read or wrote patient data, or that was
 * refused; a request that touched nothing (metadata, a malformed body) leaves none, and neither does a change
 * already audited inside its own transaction that read nothing beyond it. `action` is
 * `<channel>:<operation>`, e.g. `fhir:ingest`, `hl7:merge`.
 */
export async function writeInteropAudit(
  services: Services,
  ctx: InteropContext,
  action: string,
  outcome: AuditEntry['outcome'],
  details: Record<string, unknown> = {},
): Promise<void> {
  if (!ctx.audit.touched && !ctx.audit.wrote && !ctx.audit.reachedPatientData && !ctx.denied) return;
  const objects = touchedObjects(ctx.audit);
  const unrecorded = (objects.objectIds ?? []).filter((id) => !ctx.audit.recorded.has(id));
  if (ctx.audit.inTransaction && unrecorded.length === 0 && outcome === 'SUCCESS' && !ctx.denied) return;
  await recordAudit(services, interopEntry(ctx, ctx.audit, action, ctx.denied ? 'DENIED' : outcome, details));
}

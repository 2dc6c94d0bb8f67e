import {
  Kind,
  defaultFieldResolver,
  getNamedType,
  isObjectType,
  visit,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { GraphQLResolveInfo } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuditEntry } from '../platform/audit.ts';
import type { AppendInTransaction } from '../platform/audit-service.ts';
import type { AuthenticationFailure } from './auth.ts';
import { AuditTrail, type RequestContext } from './context.ts';
import { actorOf } from './context.ts';
import { errorCodeOf } from './errors.ts';
import { seesFullPhi } from './masking.ts';
import type { Services } from './services.ts';
import { errorFields } from '../platform/logger.ts';
import { isUuid } from '../platform/ids.ts';

/**
 * Appends one entry to the tamper-evident audit trail. Every path that reads or changes patient data outside
 * GraphQL (FHIR, HL7 v2, batch jobs) calls this with what it did; GraphQL operations are audited by `useAudit`.
 * A failure to audit is logged (without the entry, which names patients' record ids) and rethrown: an access
 * that cannot be audited must not look successful.
 */
export async function recordAudit(services: Pick<Services, 'audit' | 'logger'>, entry: AuditEntry): Promise<void> {
  try {
    await services.audit.append(entry);
  } catch (error) {
    services.logger.error({ ...errorFields(error), action: entry.action, requestId: entry.requestId }, 'audit append failed');
    throw error;
  }
}

/** The objects a request touched, as stored: `identity:<id>`, `record:<id>`. */
export function touchedObjects(trail: AuditTrail): Pick<AuditEntry, 'objectType' | 'objectIds'> {
  const objects = [...trail.objects.entries()];
  return {
    objectType: objects.map(([type]) => type).join(',') || null,
    objectIds: objects.flatMap(([type, ids]) => [...ids].map((id) => `${type}:${id}`)),
  };
}

/** Object types that carry patient data or link a patient to an identity: a root field returning one is always audited. */
export const PATIENT_TYPES = new Set([
  'Identity',
  'SourceRecord',
  'MatchCandidate',
  'IngestResult',
  'ReviewItem',
  'IdentityEvent',
  'GoldenRecord',
]);

/** The type a root field returns, looking through lists and relay connections (`edges.node`). */
function returnedType(type: GraphQLNamedType): GraphQLNamedType {
  if (!isObjectType(type) || !type.name.endsWith('Connection')) return type;
  const edges = type.getFields().edges;
  const edge = edges ? getNamedType(edges.type) : null;
  const node = edge && isObjectType(edge) ? edge.getFields().node : undefined;
  return node ? getNamedType(node.type) : type;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Marks the identities and records in a resolver's result (rows, candidates, ingest results, connections). */
export function touchResult(trail: AuditTrail, value: unknown, depth = 0): void {
  if (!value || typeof value !== 'object' || depth > 3) return;
  if (Array.isArray(value)) {
    for (const v of value) touchResult(trail, v, depth + 1);
    return;
  }
  const o = value as Record<string, unknown>;
  if (Array.isArray(o.edges)) {
    for (const e of o.edges) touchResult(trail, (e as { node?: unknown } | null)?.node, depth + 1);
    return;
  }
  if (o.record && typeof o.record === 'object') {
    trail.touch('record', str((o.record as Record<string, unknown>).id));
    trail.touch('identity', str((o.link as Record<string, unknown> | null)?.identityId));
    return;
  }
  if ('golden' in o || 'mergedInto' in o) trail.touch('identity', str(o.id));
  trail.touch('identity', str(o.identityId), str(o.identityA), str(o.identityB), str(o.otherIdentityId));
  // An unlink's answer: the identity the record left and the one it joined.
  if ('from' in o && 'to' in o) trail.touch('identity', str(o.from), str(o.to));
  trail.touch('record', str(o.recordId));
}

/** A read that found nothing: `NOT_FOUND` for a lookup that returned null, `EMPTY` for an empty list or connection. */
function nothingIn(result: unknown): 'NOT_FOUND' | 'EMPTY' | null {
  if (result === null || result === undefined) return 'NOT_FOUND';
  if (Array.isArray(result)) return result.length === 0 ? 'EMPTY' : null;
  const edges = (result as { edges?: unknown }).edges;
  return Array.isArray(edges) && edges.length === 0 ? 'EMPTY' : null;
}

const audited = new WeakSet<GraphQLSchema>();

/**
 * Wraps every root field that returns patient data so its result's identities and records are marked on the
 * request's audit trail, whatever the client selected: resolving a record to an identity, or matching
 * demographics, discloses who the patient is even when no demographic field is selected.
 */
export function auditPatientRootFields(schema: GraphQLSchema): void {
  if (audited.has(schema)) return;
  audited.add(schema);
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      if (!PATIENT_TYPES.has(returnedType(getNamedType(field.type)).name)) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      const named = returnedType(getNamedType(field.type)).name;
      field.resolve = async (source, args: Record<string, unknown>, ctx: RequestContext, info) => {
        ctx.audit.reachedPatientData = true;
        // The id looked up is part of the attempt, found or not (only an id's shape: never free text).
        const asked = typeof args.id === 'string' && isUuid(args.id) ? args.id : null;
        if (named === 'Identity') ctx.audit.touch('identity', asked);
        if (named === 'SourceRecord') ctx.audit.touch('record', asked);
        const result: unknown = await resolve(source, args, ctx, info);
        touchResult(ctx.audit, result);
        if (info.operation.operation === 'query') {
          ctx.audit.patientReads += 1;
          const nothing = nothingIn(result);
          if (nothing) ctx.audit.nothingFound.set(info.fieldName, nothing);
        }
        return result;
      };
    }
  }
}

/** Mutation arguments that name an identity or a record, by argument name (`markNotDuplicate(a:, b:)` included). */
const ARGUMENT_OBJECTS: Record<string, string> = {
  survivorId: 'identity',
  mergedId: 'identity',
  toIdentityId: 'identity',
  identityId: 'identity',
  a: 'identity',
  b: 'identity',
  recordId: 'record',
};

function argumentObjects(trail: AuditTrail, args: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(args)) {
    const type = ARGUMENT_OBJECTS[name];
    if (type) trail.touch(type, str(value));
  }
}

const transactional = new WeakSet<GraphQLSchema>();

/**
 * Runs every mutation so that each transaction it commits a change in also holds its audit entry (written last,
 * before the commit: see platform/db/before-commit.ts). The change and its entry commit together or not at all,
 * whichever service made the change; the entry names the identities and records in the mutation's arguments and
 * in what the transaction returned.
 */
export function auditMutationsInTransaction(schema: GraphQLSchema): void {
  if (transactional.has(schema)) return;
  transactional.add(schema);
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args: Record<string, unknown>, ctx: RequestContext, info) =>
      ctx.services.audit.withAuditedChanges(
        async (result, append) => {
          const trail = new AuditTrail();
          argumentObjects(trail, args);
          touchResult(trail, result);
          await auditInTransaction(ctx, info, () =>
            [...trail.objects.entries()].flatMap(([type, ids]) => [...ids].map((id): [string, string] => [type, id])),
          )(append);
        },
        () => Promise.resolve(resolve(source, args, ctx, info)),
      );
  }
}

/** Selected field names per document: parsed documents are cached and reused, so each is visited once. */
const selectedCache = new WeakMap<DocumentNode | OperationDefinitionNode, readonly string[]>();

/** Every field name selected by the operation: which fields of patient data were returned. */
function selectedFields(document: DocumentNode | OperationDefinitionNode): string[] {
  let names = selectedCache.get(document);
  if (!names) {
    const found = new Set<string>();
    visit(document, {
      Field: (node) => {
        if (!node.name.value.startsWith('__')) found.add(node.name.value);
      },
    });
    names = [...found].sort();
    selectedCache.set(document, names);
  }
  // A copy: the entry is the request's own.
  return [...names];
}

function rootFields(operation: OperationDefinitionNode | undefined): string[] {
  if (!operation) return [];
  return operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
}

/** Records a refused credential: who it claimed to be is unknown, so the entry names the client and the reason. */
export async function auditAuthenticationFailure(
  ctx: Pick<RequestContext, 'services' | 'requestId' | 'clientAddress'>,
  failure: AuthenticationFailure,
): Promise<void> {
  await recordAudit(ctx.services, {
    actor: 'anonymous',
    role: 'none',
    action: 'authenticate',
    outcome: 'DENIED',
    requestId: ctx.requestId,
    clientAddress: ctx.clientAddress,
    details: { errorCodes: [failure.code], reason: failure.reason },
  });
}

function entryFor(
  ctx: RequestContext,
  operation: OperationDefinitionNode | undefined,
  document: DocumentNode | OperationDefinitionNode,
  objects: Pick<AuditEntry, 'objectType' | 'objectIds'>,
  codes: string[],
  hadErrors: boolean,
): AuditEntry {
  const denied = codes.some((c) => c === 'FORBIDDEN' || c === 'UNAUTHENTICATED');
  const details: Record<string, unknown> = { wrote: ctx.audit.wrote, phiMasked: !seesFullPhi(ctx.principal) };
  if (operation?.name) details.operationName = operation.name.value;
  if (codes.length > 0) details.errorCodes = [...new Set(codes)];
  const { nothingFound, patientReads } = ctx.audit;
  if (nothingFound.size > 0) details.nothingFound = Object.fromEntries(nothingFound);
  // Every patient read of the operation found nothing: the attempt is recorded as such.
  const found =
    nothingFound.size === 0 || nothingFound.size < patientReads
      ? 'SUCCESS'
      : [...nothingFound.values()].includes('NOT_FOUND')
        ? 'NOT_FOUND'
        : 'EMPTY';
  return {
    actor: actorOf(ctx),
    role: ctx.principal?.roles.join(',') || 'none',
    action: `${operation?.operation ?? 'query'}:${rootFields(operation).join(',')}`,
    ...objects,
    fields: selectedFields(document),
    outcome: denied ? 'DENIED' : hadErrors ? 'ERROR' : found,
    requestId: ctx.requestId,
    clientAddress: ctx.clientAddress,
    details,
  };
}

/**
 * For a write: an audit hook the service runs last inside the write's transaction, so the change and its entry
 * commit together; a transaction that wrote nothing gets no entry. The objects it names count as audited; the end-of-operation entry then covers only the rest.
 */
export function auditInTransaction(
  ctx: RequestContext,
  info: GraphQLResolveInfo,
  objectsOf: () => Array<[string, string]>,
): (append: AppendInTransaction) => Promise<void> {
  return async (append) => {
    const trail = new AuditTrailView();
    for (const [type, id] of objectsOf()) trail.add(type, id);
    const entry = entryFor(ctx, info.operation, info.operation, trail.objects(), [], false);
    // The entry says the operation wrote (details.wrote); a transaction that wrote nothing gets none.
    entry.details = { ...entry.details, wrote: true };
    if (!(await append(entry))) return;
    ctx.audit.wrote = true;
    for (const key of trail.keys()) ctx.audit.recorded.add(key);
    ctx.audit.inTransaction = true;
  };
}

/** A small collector of `type:id` keys, in the stored form. */
class AuditTrailView {
  private readonly byType = new Map<string, Set<string>>();
  add(type: string, id: string): void {
    let set = this.byType.get(type);
    if (!set) this.byType.set(type, (set = new Set()));
    set.add(id);
  }
  keys(): string[] {
    return [...this.byType.entries()].flatMap(([type, ids]) => [...ids].map((id) => `${type}:${id}`));
  }
  objects(): Pick<AuditEntry, 'objectType' | 'objectIds'> {
    return { objectType: [...this.byType.keys()].join(',') || null, objectIds: this.keys() };
  }
}

/**
 * Writes one audit entry for every operation that read or changed patient data (resolvers mark what they
 * touched on `ctx.audit`), and for every denied or failed attempt at one.
 */
export function useAudit(): Plugin<RequestContext> {
  return {
    onExecute({ args }) {
      return {
        async onExecuteDone({ result }) {
          const ctx = args.contextValue;
          const errors = 'errors' in result && Array.isArray(result.errors) ? result.errors : [];
          const codes = [...errors.map(errorCodeOf), ...ctx.audit.failures];
          const denied = codes.some((c) => c === 'FORBIDDEN' || c === 'UNAUTHENTICATED');
          if (!ctx.audit.touched && !ctx.audit.wrote && !ctx.audit.reachedPatientData && !denied) return;
          const objects = touchedObjects(ctx.audit);
          const unrecorded = (objects.objectIds ?? []).filter((id) => !ctx.audit.recorded.has(id));
          // A write audited inside its own transaction, with nothing read beyond what that entry names: done.
          if (ctx.audit.inTransaction && unrecorded.length === 0 && codes.length === 0) return;
          const operation = args.document.definitions.find(
            (d: { kind: string }): d is OperationDefinitionNode =>
              d.kind === Kind.OPERATION_DEFINITION &&
              (!args.operationName || (d as OperationDefinitionNode).name?.value === args.operationName),
          );
          await recordAudit(ctx.services, entryFor(ctx, operation, args.document, objects, codes, codes.length > 0));
        },
      };
    },
  };
}

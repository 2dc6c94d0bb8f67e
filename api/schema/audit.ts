import { resolveCursorConnection } from '@pothos/plugin-relay';
import { AUDIT_OUTCOMES, type AuditFilter, type AuditRow } from '../../platform/audit.ts';
import { ValidationError } from '../../platform/errors.ts';
import { auditEventBundle } from '../audit-fhir.ts';
import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
import { checkPageSize, namedConnection } from './paging.ts';

const MAX_PAGE = 500;

const AuditOutcomeEnum = builder.enumType('AuditOutcome', {
  description:
    'How a request ended; NOT_FOUND (a lookup of an unknown id) and EMPTY (a search or match without results) are reads that found nothing.',
  values: AUDIT_OUTCOMES,
});

const AuditEntryRef = builder.objectRef<AuditRow>('AuditEntry').implement({
  description:
    'One request that read or changed patient data, or was refused: who, what, when and how it ended. Holds ids and field names, never patient values.',
  fields: (t) => ({
    id: t.id({ resolve: (r) => String(r.id) }),
    at: t.expose('at', { type: 'DateTime' }),
    actor: t.exposeString('actor', {
      description: 'kind:name of the caller, e.g. api-key:ehr-feed, jwt:<subject>, local:local-admin, anonymous.',
    }),
    role: t.exposeString('role'),
    action: t.exposeString('action', {
      description: 'operation type and root fields, e.g. mutation:ingestRecord; fhir:Patient.read; authenticate.',
    }),
    objectIds: t.exposeStringList('objectIds', { description: 'What was touched: identity:<id>, record:<id>.' }),
    fields: t.exposeStringList('fields', { description: 'Fields the request selected (returned).' }),
    outcome: t.field({ type: AuditOutcomeEnum, resolve: (r) => r.outcome as (typeof AUDIT_OUTCOMES)[number] }),
    requestId: t.exposeString('requestId', { nullable: true }),
    clientAddress: t.exposeString('clientAddress', { nullable: true }),
    details: t.field({ type: 'JSON', resolve: (r) => r.details }),
    hash: t.exposeString('hash', { description: 'SHA-256 over this entry and the previous hash (the tamper-evident chain).' }),
  }),
});

const AuditFilterInput = builder.inputType('AuditFilter', {
  fields: (t) => ({
    actor: t.string({ required: false, description: 'Exact actor, e.g. api-key:ehr-feed.' }),
    action: t.string({ required: false, description: 'Exact action, or a prefix ending in *, e.g. mutation:*.' }),
    objectId: t.string({ required: false, description: 'identity:<id>, record:<id>, or a bare id of either.' }),
    outcome: t.field({ type: AuditOutcomeEnum, required: false }),
    from: t.field({ type: 'DateTime', required: false }),
    to: t.field({ type: 'DateTime', required: false }),
  }),
});

type FilterArgs = AuditFilter | null | undefined;

function parseCursor(cursor: string | null | undefined, field: string): number | null {
  if (cursor == null) return null;
  if (!/^\d{1,15}$/.test(cursor)) throw ValidationError.of(field, 'INVALID_CURSOR', 'must be a cursor returned by auditLog');
  return Number(cursor);
}

function toFilter(filter: FilterArgs): AuditFilter {
  if (filter?.from && filter.to && filter.from > filter.to)
    throw ValidationError.of('filter.from', 'INVALID_RANGE', 'must not be after filter.to');
  return { ...filter };
}

/** Reading the trail is itself recorded (who looked at whose access history). */
function markAuditRead(ctx: RequestContext, filter: AuditFilter): void {
  ctx.audit.touch('audit_log');
  if (filter.objectId) ctx.audit.touch('audit_log', filter.objectId);
}

builder.queryFields((t) => ({
  auditLog: t.connection(
    {
      type: AuditEntryRef,
      description: `The audit trail, newest first (at most ${MAX_PAGE} per page).`,
      authScopes: { readAudit: true },
      args: { filter: t.arg({ type: AuditFilterInput, required: false }) },
      resolve: (_root, args, ctx) => {
        const filter = toFilter(args.filter);
        markAuditRead(ctx, filter);
        checkPageSize(args, MAX_PAGE);
        return resolveCursorConnection<Promise<AuditRow[]>>(
          { args, toCursor: (row) => String(row.id), defaultSize: 50, maxSize: MAX_PAGE },
          ({ before, after, limit, inverted }) =>
            ctx.services.audit.list(filter, {
              before: parseCursor(before, 'before'),
              after: parseCursor(after, 'after'),
              limit,
              oldestFirst: inverted,
            }),
        );
      },
    },
    namedConnection(AuditEntryRef, 'AuditEntry'),
  ),
  auditEvents: t.field({
    type: 'JSON',
    description: `The audit trail as a FHIR R4 searchset Bundle of AuditEvent resources, newest first. Page with \`after\` (an AuditEvent id); at most ${MAX_PAGE}.`,
    authScopes: { readAudit: true },
    args: {
      filter: t.arg({ type: AuditFilterInput, required: false }),
      first: t.arg.int({ required: false, defaultValue: 100 }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 100;
      if (first < 1 || first > MAX_PAGE) throw ValidationError.of('first', 'OUT_OF_RANGE', `must be between 1 and ${MAX_PAGE}`);
      const filter = toFilter(args.filter);
      markAuditRead(ctx, filter);
      const rows = await ctx.services.audit.list(filter, { after: parseCursor(args.after, 'after'), limit: first });
      // Yoga's initial context carries the request: the Bundle's fullUrls are absolute on this server's FHIR base.
      const url = (ctx as typeof ctx & { request?: Request }).request?.url ?? 'http://localhost';
      return auditEventBundle(rows, `${new URL(url).origin}/fhir`);
    },
  }),
}));

import type { ArgBuilder } from '@pothos/core';
import {
  CHANGE_EVENT_TYPE_NAMES,
  CHANGE_EVENT_TYPES,
  type ChangeEvent,
  type ChangeEventType,
  type EventFilter,
} from '../../events/index.ts';
import { ValidationError } from '../../platform/errors.ts';
import { requireUuid } from '../../platform/ids.ts';
import { recordAudit } from '../audit-plugin.ts';
import { builder, type ApiTypes } from '../builder.ts';
import { actorOf, type RequestContext } from '../context.ts';
import { Identity } from './identity-types.ts';

const MAX_PAGE = 1000;

export const ChangeEventTypeEnum = builder.enumType('ChangeEventType', {
  description: 'What changed, in the past tense.',
  values: Object.fromEntries(CHANGE_EVENT_TYPE_NAMES.map((t) => [t, { description: CHANGE_EVENT_TYPES[t].description }])) as Record<
    ChangeEventType,
    { description: string }
  >,
});

/** Positions are 64-bit: GraphQL Int is 32-bit, so they travel as decimal strings. */
function parsePosition(value: string | null | undefined, field: string): number {
  if (value === null || value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) throw ValidationError.of(field, 'INVALID_POSITION', 'must be a decimal position, 0 or more');
  return Number(value);
}

const ChangeEventRef = builder.objectRef<ChangeEvent>('ChangeEvent').implement({
  description:
    "One change, as every channel delivers it. Ids and versions only; `identity` gives demographics, masked for the caller's role.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Unique (UUID v7): consumers de-duplicate redeliveries by it.' }),
    position: t.string({ description: 'Global order; resume or replay after it.', resolve: (e) => String(e.position) }),
    type: t.field({ type: ChangeEventTypeEnum, resolve: (e) => e.type }),
    occurredAt: t.field({ type: 'DateTime', resolve: (e) => e.occurredAt }),
    actor: t.exposeString('actor'),
    identityId: t.exposeID('identityId', { nullable: true }),
    recordId: t.exposeID('recordId', { nullable: true }),
    source: t.exposeString('source', { nullable: true }),
    localId: t.exposeString('localId', { nullable: true }),
    data: t.field({
      type: 'JSON',
      description: 'Type-specific ids: retiredId/survivingId, fromIdentityId/toIdentityId, fields, reviewItemId, ...',
      resolve: (e) => e.data,
    }),
    versions: t.field({ type: 'JSON', description: 'identity (after the change), model, policy.', resolve: (e) => e.versions }),
    identity: t.field({
      type: Identity,
      nullable: true,
      description: 'The identity now (a merged id gives its survivor); its demographics are masked by role as everywhere.',
      resolve: (e, _a, ctx) => {
        if (!e.identityId) return null;
        ctx.audit.touch('identity', e.identityId);
        return ctx.loaders.identity.load(e.identityId);
      },
    }),
  }),
});

async function auditEvents(ctx: RequestContext, action: string, details: Record<string, unknown>): Promise<void> {
  await recordAudit(ctx.services, {
    actor: actorOf(ctx),
    role: ctx.principal?.roles.join(',') || 'none',
    action,
    outcome: 'SUCCESS',
    requestId: ctx.requestId,
    clientAddress: ctx.clientAddress,
    details,
  });
}

const ChangeEventFilter = builder.inputType('ChangeEventFilter', {
  description: 'Which change events to deliver; every given criterion must hold.',
  fields: (t) => ({
    types: t.field({ type: [ChangeEventTypeEnum], required: false, description: 'Only events of these types.' }),
    source: t.string({ required: false, description: "Only events of this source's records (a source code)." }),
    identityId: t.id({ required: false, description: 'Only events of this identity.' }),
  }),
});

type ChangeEventCriteria = { types?: Array<ChangeEventType> | null; source?: string | null; identityId?: string | number | null };

/** The criteria of `filter`, or of the deprecated flat arguments when no filter is given. */
function eventFilter(args: ChangeEventCriteria & { filter?: ChangeEventCriteria | null }): EventFilter {
  const given = args.filter ?? args;
  const field = args.filter ? 'filter.identityId' : 'identityId';
  return {
    types: given.types ?? null,
    source: given.source ?? null,
    identityId: given.identityId ? requireUuid(String(given.identityId), field, 'an identity id') : null,
  };
}

/** The flat arguments `filter` replaces; they still work. */
const deprecatedCriteria = (arg: ArgBuilder<ApiTypes>) => ({
  types: arg({ type: [ChangeEventTypeEnum], required: false, deprecationReason: 'Use filter: { types }.' }),
  source: arg.string({ required: false, deprecationReason: 'Use filter: { source }.' }),
  identityId: arg.id({ required: false, deprecationReason: 'Use filter: { identityId }.' }),
});

builder.queryFields((t) => ({
  changeEvents: t.field({
    type: [ChangeEventRef],
    description: 'Replay: published events after `after` (a position), oldest first, optionally filtered.',
    authScopes: { readChangeEvents: true },
    args: {
      after: t.arg.string({ required: false }),
      first: t.arg.int({ required: false, defaultValue: 100 }),
      filter: t.arg({ type: ChangeEventFilter, required: false }),
      ...deprecatedCriteria(t.arg),
    },
    resolve: async (_r, args, ctx) => {
      const first = args.first ?? 100;
      if (first < 1 || first > MAX_PAGE) throw ValidationError.of('first', 'OUT_OF_RANGE', `must be between 1 and ${MAX_PAGE}`);
      const events = await ctx.services.events.dispatcher.read(parsePosition(args.after, 'after'), eventFilter(args), first);
      ctx.audit.touch('event-stream', 'replay');
      return events;
    },
  }),
}));

builder.subscriptionType({});
builder.subscriptionFields((t) => ({
  changeEvents: t.field({
    type: ChangeEventRef,
    description:
      'Events as they are published (server-sent events or graphql-ws), after `from` when given: resume from the last position seen.',
    authScopes: { readChangeEvents: true },
    args: {
      from: t.arg.string({ required: false, description: 'Replay from after this position first; default: only new events.' }),
      filter: t.arg({ type: ChangeEventFilter, required: false }),
      ...deprecatedCriteria(t.arg),
    },
    // Not a generator: the iterator `follow` returns ends a pending wait as soon as the subscriber leaves.
    subscribe: async (_r, args, ctx) => {
      const dispatcher = ctx.services.events.dispatcher;
      const from = args.from === null || args.from === undefined ? dispatcher.headPosition : parsePosition(args.from, 'from');
      const filter = eventFilter(args);
      await auditEvents(ctx, 'subscription:changeEvents', {
        from,
        types: filter.types,
        source: filter.source,
        identityId: filter.identityId,
      });
      return dispatcher.follow(filter, from);
    },
    resolve: (event) => event,
  }),
}));

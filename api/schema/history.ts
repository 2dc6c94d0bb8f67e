import { isUuid, type IdentityEventRow } from '../../identity/index.ts';
import { ValidationError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
import { Identity, IdentityEvent } from './identity-types.ts';
import { keysetConnection, namedConnection, type PageArgs } from './paging.ts';
import { EventTypeEnum } from './review.ts';

/** An identity's history, paged: `Identity.events` and `identityEvents(identityId:)`. */

export const MAX_HISTORY_PAGE = 200;

const IdentityEventFilter = builder.inputType('IdentityEventFilter', {
  description: 'Which events to list; every given criterion must hold.',
  fields: (t) => ({ types: t.field({ type: [EventTypeEnum], required: false, description: 'Only events of these types.' }) }),
});

const IdentityEventConnection = namedConnection(IdentityEvent, 'IdentityEvent', { counted: true });

const isEventKey = (key: unknown[]): key is [number] => key.length === 1 && Number.isSafeInteger(key[0]);

type EventFilterArg = { types?: Array<IdentityEventRow['type']> | null } | null | undefined;

function eventsPage(ctx: RequestContext, identityId: string, args: PageArgs & { filter?: EventFilterArg }) {
  ctx.audit.touch('identity', identityId);
  const filter = { types: args.filter?.types ?? null };
  return keysetConnection<IdentityEventRow, number>({
    list: 'identityEvents',
    args,
    defaultSize: 50,
    maxSize: MAX_HISTORY_PAGE,
    keyOf: (e) => [e.id],
    parseKey: isEventKey,
    toKey: ([id]) => id as number,
    load: (page) => ctx.services.identity.historyPage(identityId, filter, page),
    count: () => ctx.services.identity.countHistory(identityId, filter),
  });
}

const DESCRIPTION = `Events of an identity in the order they were recorded, oldest first, paged by keyset (at most ${MAX_HISTORY_PAGE} per page).`;

builder.objectField(Identity, 'events', (t) =>
  t.connection(
    {
      type: IdentityEvent,
      description: DESCRIPTION,
      authScopes: { searchIdentities: true },
      args: { filter: t.arg({ type: IdentityEventFilter, required: false }) },
      resolve: (identity, args, ctx) => eventsPage(ctx, identity.id, args),
    },
    IdentityEventConnection,
  ),
);

builder.queryFields((t) => ({
  identityEvents: t.connection(
    {
      type: IdentityEvent,
      description: `${DESCRIPTION} The identity's own events: a merged identity's events stay under its own id.`,
      authScopes: { searchIdentities: true },
      args: { identityId: t.arg.id({ required: true }), filter: t.arg({ type: IdentityEventFilter, required: false }) },
      resolve: (_r, args, ctx) => {
        if (!isUuid(String(args.identityId))) throw ValidationError.of('identityId', 'INVALID_ID', 'is not an identity id');
        return eventsPage(ctx, String(args.identityId), args);
      },
    },
    IdentityEventConnection,
  ),
}));

import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors.ts';
import { roleScopes } from '../platform/roles.ts';
import type { RequestContext, Role } from './context.ts';

type Scopes = Record<Role | 'authenticated', boolean>;

/** The one Pothos builder. It defines no types: each domain module under api/schema adds its own. */
export const builder = new SchemaBuilder<{
  Context: RequestContext;
  AuthScopes: Scopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  relay: { clientMutationId: 'omit', cursorType: 'String' },
  scopeAuth: {
    authScopes: (ctx) => {
      return { authenticated: ctx.principal !== null, ...roleScopes(ctx.principal?.roles ?? []) };
    },
    unauthorizedError: (_parent, ctx) =>
      ctx.principal ? new ForbiddenError() : new UnauthenticatedError(),
  },
});

builder.queryType({});
builder.mutationType({});

import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors.ts';
import { permissionScopes, type Permission } from '../platform/roles.ts';
import type { RequestContext } from './context.ts';

/**
 * A field's scope is a permission of the one table in platform/roles.ts (`authScopes: { ingest: true }`), or
 * `authenticated` for what any caller may see about itself. Roles are never written as scopes: which roles hold a
 * permission is the table's to say.
 */
type Scopes = Record<Permission | 'authenticated', boolean>;

/** The one Pothos builder. It defines no types: each domain module under api/schema adds its own. */
export const builder = new SchemaBuilder<{
  Context: RequestContext;
  AuthScopes: Scopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    /** A calendar date, kept as its ISO text (YYYY-MM-DD): the domain stores and compares dates as text. */
    Date: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  // Errors first: it wraps the others, so a refused scope check stays a GraphQL error, never a result type.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  relay: { clientMutationId: 'omit', cursorType: 'String' },
  errors: { defaultTypes: [] },
  scopeAuth: {
    // A subscription is refused when it is opened, not event by event while it stays open.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      return { authenticated: ctx.principal !== null, ...permissionScopes(ctx.principal?.roles ?? []) };
    },
    unauthorizedError: (_parent, ctx) => (ctx.principal ? new ForbiddenError() : new UnauthenticatedError()),
  },
});

builder.queryType({});
builder.mutationType({});

/** The builder's type parameters, for helpers that take Pothos' field builders. */
export type ApiTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

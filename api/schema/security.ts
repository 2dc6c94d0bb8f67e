import type { ApiKeyRow } from '../../platform/api-keys.ts';
import { builder } from '../builder.ts';
import { ROLES, type Role } from '../context.ts';

const ROLE_DESCRIPTIONS: Record<Role, string> = {
  pipeline: 'Ingests, deletes, resolves and matches records; reads identities and records with demographics masked.',
  steward: 'Works the review queue, merges, unlinks and marks not-duplicates; reads history and lineage with full demographics.',
  governance: 'Catalog, data quality, lineage, ingest runs and survivorship policies; demographics masked.',
  auditor: 'Reads the audit trail.',
  admin: 'Everything, including keys, models and survivorship policy changes; full demographics.',
};

export const RoleEnum = builder.enumType('Role', {
  description:
    'What a caller may do (docs/security.md). Values are sent and shown in capitals; tokens and the CLI use the lower-case names.',
  values: Object.fromEntries(ROLES.map((role) => [role.toUpperCase(), { value: role, description: ROLE_DESCRIPTIONS[role] }])) as Record<
    Uppercase<Role>,
    { value: Role; description: string }
  >,
});

const ApiKey = builder.objectRef<ApiKeyRow>('ApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.exposeString('role', { description: 'The lower-case role name, e.g. steward.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; row: ApiKeyRow }>('CreatedApiKey').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The secret. Shown once; only its hash is stored.' }),
    apiKey: t.field({ type: ApiKey, resolve: (p) => p.row }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKey],
    authScopes: { manageApiKeys: true },
    resolve: (_root, _args, ctx) => ctx.services.apiKeys.list(),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { manageApiKeys: true },
    args: {
      name: t.arg.string({ required: true }),
      role: t.arg({ type: RoleEnum, required: true, description: 'What the key may do. Declare the variable `Role!`.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.apiKeys.create(args.name, args.role),
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    authScopes: { manageApiKeys: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.apiKeys.revoke(String(args.id)),
  }),
}));

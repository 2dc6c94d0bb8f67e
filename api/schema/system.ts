import { builder } from '../builder.ts';

interface PrincipalShape {
  name: string;
  kind: string;
  roles: string[];
}
interface ServerInfoShape {
  version: string;
  database: string;
  replica: string;
}

const Principal = builder.objectRef<PrincipalShape>('Principal').implement({
  description: 'The authenticated caller.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.exposeString('kind'),
    roles: t.exposeStringList('roles'),
  }),
});

const ServerInfo = builder.objectRef<ServerInfoShape>('ServerInfo').implement({
  fields: (t) => ({
    version: t.exposeString('version'),
    database: t.exposeString('database', { description: 'pglite (embedded) or postgres' }),
    replica: t.exposeString('replica', { description: 'The process that answered (MPI_REPLICA_ID): one of the replicas on this database' }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Principal,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => {
      const p = ctx.principal!;
      return { name: p.name, kind: p.kind, roles: [...p.roles] };
    },
  }),
  serverInfo: t.field({
    type: ServerInfo,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ({
      version: '0.1.0',
      database: ctx.services.database.kind,
      replica: ctx.services.config.MPI_REPLICA_ID,
    }),
  }),
}));

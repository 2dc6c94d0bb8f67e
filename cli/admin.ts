import type { AppConfig } from '../platform/config.ts';
import { readDataDirLock } from '../platform/db/data-dir-lock.ts';
import { isRole, ROLES } from '../platform/roles.ts';
import { CliError } from './errors.ts';
import { rolesFor, type ServerCommand } from './permissions.ts';

/** An API key as the admin commands show it (never its secret, except once at creation). */
export interface KeyView {
  id: string;
  name: string;
  role: string;
  prefix: string;
  revokedAt: string | null;
}

/**
 * Key administration, wherever the database is: through a running server's GraphQL API (always, when a server
 * holds the embedded data directory: a second process must not open its files), or on the database itself.
 */
export interface KeyAdmin {
  /** Where the commands went, for the user: `server http://…` or `database`. */
  readonly via: string;
  create(name: string, role: string): Promise<{ key: string; row: KeyView }>;
  list(): Promise<KeyView[]>;
  revoke(idOrName: string): Promise<KeyView>;
  close(): Promise<void>;
}

interface GraphqlAnswer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
}

/** The server to go through: an explicit `--url`, else the server holding the embedded data directory, else none. */
export function serverFor(
  config: AppConfig,
  options: { url?: string | undefined; key?: string | undefined },
): { url: string; key: string | undefined } | null {
  if (options.url) return { url: options.url, key: options.key };
  if (!config.DATABASE_URL && config.MPI_DATA_DIR !== 'memory://') {
    const holder = readDataDirLock(config.MPI_DATA_DIR);
    if (holder?.holder === 'server' && holder.url) return { url: `${holder.url}/graphql`, key: options.key ?? holder.adminToken };
  }
  return null;
}

/** Picks the path: an explicit `--url`, else the server holding the data directory, else the database. */
export async function openKeyAdmin(config: AppConfig, options: { url?: string | undefined; key?: string | undefined }): Promise<KeyAdmin> {
  const server = serverFor(config, options);
  return server ? apiKeyAdmin(server.url, server.key) : databaseKeyAdmin(config);
}

/**
 * A GraphQL caller for a running server: the `data` of an answer, or a CliError naming the server's error code
 * (with a hint naming the roles `command` needs when it was refused).
 */
export function graphqlCaller(url: string, key: string | undefined, command: ServerCommand) {
  return async (query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    } catch (error) {
      const cause = (error as Error).cause;
      throw new CliError(`cannot reach the server at ${url}: ${cause instanceof Error ? cause.message : (error as Error).message}`);
    }
    let body: GraphqlAnswer;
    try {
      body = (await response.json()) as GraphqlAnswer;
    } catch {
      throw new CliError(`the server at ${url} answered HTTP ${response.status} without a GraphQL response`);
    }
    const failure = body.errors?.[0];
    if (failure || !body.data) {
      const code = failure?.extensions?.code ?? 'ERROR';
      const hint =
        code === 'UNAUTHENTICATED' || code === 'FORBIDDEN'
          ? ` (pass --key or set MPI_API_KEY to a key with the ${rolesFor(command)} role)`
          : '';
      throw new CliError(`the server refused: ${code}: ${failure?.message ?? 'no data in the answer'}${hint}`);
    }
    return body.data;
  };
}

function apiKeyAdmin(url: string, key: string | undefined): KeyAdmin {
  const call = graphqlCaller(url, key, 'keys');
  const FIELDS = 'id name role prefix revokedAt';
  const list = async () => (await call(`{ apiKeys { ${FIELDS} } }`)).apiKeys as KeyView[];
  return {
    via: `server ${url}`,
    async create(name, role) {
      // The API takes a Role enum value (upper case); the command line keeps the lower-case names.
      if (!isRole(role.toLowerCase())) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
      const data = await call(
        `mutation ($name: String!, $role: Role!) { createApiKey(name: $name, role: $role) { key apiKey { ${FIELDS} } } }`,
        { name, role: role.toUpperCase() },
      );
      const created = data.createApiKey as { key: string; apiKey: KeyView };
      return { key: created.key, row: created.apiKey };
    },
    list,
    async revoke(idOrName) {
      const active = (await list()).filter((k) => !k.revokedAt && (k.id === idOrName || k.name === idOrName));
      if (active.length === 0) throw new CliError(`no active API key has the id or name "${idOrName}"`);
      if (active.length > 1) throw new CliError(`${active.length} active keys are named "${idOrName}": revoke them by id`);
      return (await call(`mutation ($id: ID!) { revokeApiKey(id: $id) { ${FIELDS} } }`, { id: active[0]!.id })).revokeApiKey as KeyView;
    },
    close: async () => undefined,
  };
}

async function databaseKeyAdmin(config: AppConfig): Promise<KeyAdmin> {
  const [{ openDatabase }, keys] = await Promise.all([import('../platform/db/client.ts'), import('../platform/api-keys.ts')]);
  const handle = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
  const view = (row: Awaited<ReturnType<typeof keys.listApiKeys>>[number]): KeyView => ({
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  });
  return {
    via: 'database',
    async create(name, role) {
      const { key, row } = await keys.createApiKey(handle.db, name, role);
      return { key, row: view(row) };
    },
    list: async () => (await keys.listApiKeys(handle.db)).map(view),
    revoke: async (idOrName) => view(await keys.revokeApiKey(handle.db, idOrName)),
    close: () => handle.close(),
  };
}

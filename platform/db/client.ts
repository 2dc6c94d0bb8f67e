import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.ts';
import { traceQuery } from '../telemetry.ts';
import { runBeforeCommitHooks } from './before-commit.ts';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { readReplicaOver, type ReadReplica } from './read-routing.ts';

export type Schema = typeof schema;
/** The drizzle database, the same type on PGlite and PostgreSQL. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** A database or an open transaction: stores accept either. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /**
   * PostgreSQL only: a small pool of its own (2 connections) for reads that run beside a transaction on its
   * behalf. Kept apart from `db`, so a transaction waiting for it can never find every connection taken by
   * transactions that wait for the first one.
   */
  reader?: Database;
  /**
   * Reads that tolerate replication lag: the read replica (DATABASE_READ_URL) inside `readFromReplica` while it
   * serves, the primary otherwise; `db` itself when no replica is configured.
   */
  reads: Database;
  /** The read replica, when DATABASE_READ_URL is set. */
  readReplica?: ReadReplica;
  /** Embedded database in a directory only: this process's hold on it (see data-dir-lock.ts). */
  dataDirLock?: DataDirLock;
  /** Runs `select 1`; throws when the database cannot answer. */
  ping(): Promise<void>;
  /**
   * LISTENs on a notification channel (PostgreSQL delivers a NOTIFY when its transaction commits); resolves to a
   * function that stops listening. On PostgreSQL one connection of its own listens, and listens again after a
   * reconnect.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory, or `memory://`. */
  dataDir?: string | undefined;
  poolSize?: number | undefined;
  /** Apply pending migrations after connecting (default true). */
  migrate?: boolean | undefined;
  /** PostgreSQL only: a streaming replica of `url` for reads that tolerate lag (see read-routing.ts). */
  readUrl?: string | undefined;
  /** Most replay lag (seconds) at which the replica still serves reads (default 10). */
  maxReadLagSeconds?: number | undefined;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Opens the configured database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const handle = options.url ? openPostgres(options.url, options.poolSize ?? 10) : await openPglite(options.dataDir ?? './data');
  if (options.migrate !== false) await migrateDatabase(handle);
  if (!options.readUrl) return handle;
  if (handle.kind !== 'postgres') throw new Error('DATABASE_READ_URL needs DATABASE_URL: the embedded database has no replicas');
  const replicaClient = preparedAndTraced(postgres(options.readUrl, { max: options.poolSize ?? 10, ...SESSION }));
  const readReplica = readReplicaOver(handle.db, drizzlePostgres(replicaClient, { schema }) as unknown as Database, {
    maxLagSeconds: options.maxReadLagSeconds ?? 10,
    close: () => replicaClient.end({ timeout: 5 }),
  });
  return {
    ...handle,
    reads: readReplica.routed,
    readReplica,
    close: async () => {
      await readReplica.close();
      await handle.close();
    },
  };
}

/** Applies the committed drizzle-kit migrations. */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.kind === 'pglite') {
    await migratePglite(handle.db as Parameters<typeof migratePglite>[0], { migrationsFolder: MIGRATIONS_FOLDER });
  } else {
    await migratePostgres(handle.db as Parameters<typeof migratePostgres>[0], { migrationsFolder: MIGRATIONS_FOLDER });
  }
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  const inMemory = dataDir === 'memory://';
  // A second process opening the same files would corrupt them: take the directory first, or fail naming its holder.
  const dataDirLock = inMemory ? undefined : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(inMemory ? undefined : dataDir);
  } catch (error) {
    dataDirLock?.release();
    throw error;
  }
  const query = client.query.bind(client);
  client.query = ((text: string, params?: unknown[], opts?: object) =>
    traceQuery('pglite', text, () => query(text, params, opts))) as typeof client.query;
  const db = runBeforeCommitHooks(drizzlePglite(client, { schema }) as unknown as Database);
  return {
    db,
    reads: db,
    kind: 'pglite',
    ...(dataDirLock ? { dataDirLock } : {}),
    ping: () => withTimeout(() => client.query('select 1')),
    listen: (channel, onNotify) => client.listen(channel, onNotify).then((stop) => () => stop()),
    close: async () => {
      if (!client.closed) await client.close();
      dataDirLock?.release();
    },
  };
}

/**
 * Options of every connection the service opens. JIT compilation is off: the service's statements are short and
 * set-based over array parameters, whose row estimates (10 per array, 151 per blocking key) put a batch's candidate
 * read far above `jit_above_cost`. With JIT on, a batch of 200 records spent 3.6 s of its candidate read compiling
 * it (inlining and optimisation) for an execution of 0.3 s, and a batch of 50 about 15 % more server CPU per record.
 */
const SESSION = { onnotice: () => undefined, connection: { jit: 'off' } } satisfies postgres.Options<Record<string, never>>;

function openPostgres(url: string, poolSize: number): DatabaseHandle {
  const client = preparedAndTraced(postgres(url, { max: poolSize, ...SESSION }));
  // The reader's statements are a large batch's candidate reads, thousands of keys at a time: planned for the
  // values they run with, as the batch's own transaction plans its statements (`planForBatch`). A generic plan,
  // cached while the index was small, scanned every link and record for each read as the index grew.
  const readerClient = preparedAndTraced(
    postgres(url, { max: 2, ...SESSION, connection: { ...SESSION.connection, plan_cache_mode: 'force_custom_plan' } }),
  );
  const db = runBeforeCommitHooks(drizzlePostgres(client, { schema }) as unknown as Database);
  return {
    db,
    reads: db,
    kind: 'postgres',
    reader: drizzlePostgres(readerClient, { schema }) as unknown as Database,
    ping: () => withTimeout(() => client`select 1`),
    listen: (channel, onNotify) => client.listen(channel, onNotify).then((request) => () => request.unlisten()),
    close: async () => {
      await Promise.all([client.end({ timeout: 5 }), readerClient.end({ timeout: 5 })]);
    },
  };
}

/**
 * Runs every statement as a named prepared statement, cached per connection, and traces it; transactions and
 * savepoints get the same client. Unprepared statements cost a parse, a plan and an extra round trip each time
 * (the driver asks for the parameter types first); prepared, a repeated statement is one bind and execute.
 * Connections are recycled by the driver (max_lifetime), which bounds the statements each one keeps.
 */
function preparedAndTraced(sql: postgres.Sql): postgres.Sql {
  const unsafe = sql.unsafe.bind(sql);
  sql.unsafe = ((text: string, params?: never[], opts?: postgres.UnsafeQueryOptions) => {
    const pending = unsafe(text, params, { ...opts, prepare: true });
    traceQuery('postgresql', text, () => Promise.resolve(pending)).catch(() => undefined);
    return pending;
  }) as typeof sql.unsafe;
  // `begin` and `savepoint` hand their callback a new client for the transaction's connection: wrap it too.
  const scopes = sql as unknown as Record<'begin' | 'savepoint', ((...args: unknown[]) => unknown) | undefined>;
  for (const name of ['begin', 'savepoint'] as const) {
    const open = scopes[name];
    if (!open) continue;
    scopes[name] = (...args: unknown[]) => {
      const work = args.pop() as (inner: postgres.Sql) => unknown;
      return open.call(sql, ...args, (inner: postgres.Sql) => work(preparedAndTraced(inner)));
    };
  }
  return sql;
}

export { isConnectionFailure } from './failures.ts';

/** How long a readiness probe waits for the database before it answers "not ready". */
export const PING_TIMEOUT_MS = 2000;

/** Runs `ping` but gives up after `PING_TIMEOUT_MS`, so a database that hangs reads as down, not as a hung probe. */
async function withTimeout(ping: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('database ping timed out')), PING_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs raw SQL and returns its rows, whichever driver is underneath. */
export async function queryRows<T extends Record<string, unknown>>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/**
 * Gives the rest of the transaction `size` of memory per sort or hash (e.g. '64MB'), for set-based work whose
 * sorts and aggregates would spill to disk under the 4 MB default. `size` is a constant of the caller's, never input.
 */
export async function useWorkMem(tx: Executor, size: `${number}MB`): Promise<void> {
  await tx.execute(sql.raw(`set local work_mem = '${size}'`));
}

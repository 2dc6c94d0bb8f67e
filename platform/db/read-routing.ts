import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import type { Logger } from '../logger.ts';
import { queryRows, type Database } from './client.ts';

/** What readyz reports of the read replica. */
export interface ReadReplicaStatus {
  /** Whether reads that tolerate lag go to it now (it answers, and lags less than the limit). */
  serving: boolean;
  /** Seconds of replay it lags behind the primary (0 when caught up); null when it does not answer. */
  lagSeconds: number | null;
  /** Whether it is a standby in recovery (streaming replication); false for a plain second database. */
  standby: boolean | null;
}

export interface ReadReplica {
  /** The replica's own connections (its pool); use `routed` to follow the routing rule instead. */
  db: Database;
  /**
   * A database handle that sends each read to the replica when the current call runs inside `readFromReplica`
   * and the replica is serving, and to the primary otherwise. Transactions and writes always go to the primary.
   */
  routed: Database;
  /** Measures the replica now (and updates `serving`). */
  status(): Promise<ReadReplicaStatus>;
  /** The primary's WAL position now: a caller who just wrote may read from the replica once it has replayed this. */
  primaryPosition(): Promise<string>;
  /** Whether the replica has replayed the primary's WAL up to `lsn`. */
  hasReplayed(lsn: string): Promise<boolean>;
  close(): Promise<void>;
}

const scope = new AsyncLocalStorage<boolean>();

/**
 * Runs `work` with its reads allowed on the read replica: what it reads may lag the primary by up to
 * DATABASE_READ_MAX_LAG_SECONDS. Only reads that tolerate that belong here (searches, matches, identity reads of
 * a caller who has not just written); the default everywhere else is the primary.
 */
export function readFromReplica<T>(work: () => T): T {
  return scope.run(true, work);
}

/** Methods of a drizzle database that only read; everything else (transactions, writes, raw `execute`) stays on the primary. */
const READ_METHODS = new Set(['select', 'selectDistinct', 'selectDistinctOn', '$count', 'query', 'execute', '$with', 'with']);

/** How often the replica's lag is measured in the background. */
const STATUS_EVERY_MS = 1_000;

/**
 * Opens the routing over a replica's handle. `maxLagSeconds` is the most replay lag tolerated before reads fall
 * back to the primary; a replica that stops answering is skipped the same way until it answers again.
 */
export function readReplicaOver(
  primary: Database,
  replica: Database,
  options: { maxLagSeconds: number; close: () => Promise<void>; logger?: Logger | undefined },
): ReadReplica {
  let serving = false;
  let measured: Promise<ReadReplicaStatus> | null = null;

  const measure = async (): Promise<ReadReplicaStatus> => {
    let status: ReadReplicaStatus;
    try {
      // Caught up (everything received is replayed) counts as no lag, however long ago the last write was.
      const [row] = await queryRows<{ standby: boolean; lag: number | null }>(
        replica,
        sql`select pg_is_in_recovery() as standby,
          case when not pg_is_in_recovery() then 0
               when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
               else extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 end as lag`,
      );
      const lag = row!.lag === null ? null : Math.max(0, Number(row!.lag));
      status = { serving: lag !== null && lag <= options.maxLagSeconds, lagSeconds: lag, standby: row!.standby };
    } catch {
      status = { serving: false, lagSeconds: null, standby: null };
    }
    if (status.serving !== serving) {
      options.logger?.info(
        { serving: status.serving, lagSeconds: status.lagSeconds },
        status.serving ? 'read replica serving' : 'read replica skipped',
      );
    }
    serving = status.serving;
    return status;
  };
  const status = () => {
    measured ??= measure().finally(() => {
      measured = null;
    });
    return measured;
  };
  void status();
  const timer = setInterval(() => void status(), STATUS_EVERY_MS);
  timer.unref();

  const routed = new Proxy(primary, {
    get(target, property, receiver) {
      const useReplica = serving && scope.getStore() === true && typeof property === 'string' && READ_METHODS.has(property);
      const source = useReplica ? replica : target;
      const value = Reflect.get(source, property, useReplica ? source : receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(source) : value;
    },
  });

  return {
    db: replica,
    routed,
    status,
    async primaryPosition() {
      const [row] = await queryRows<{ lsn: string }>(primary, sql`select pg_current_wal_lsn()::text as lsn`);
      return row!.lsn;
    },
    async hasReplayed(lsn) {
      try {
        const [row] = await queryRows<{ done: boolean | null }>(replica, sql`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as done`);
        return row?.done === true;
      } catch {
        return false;
      }
    },
    async close() {
      clearInterval(timer);
      await measured;
      await options.close();
    },
  };
}

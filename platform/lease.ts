import { and, eq, sql } from 'drizzle-orm';
import { queryRows, type Database, type Executor } from './db/client.ts';
import { eventLeases } from './db/schema/index.ts';
import { errorFields, type Logger } from './logger.ts';

/**
 * Takes or renews the named lease for `ttlMs`; true when `holder` holds it now. One atomic upsert: a lease is
 * taken over only once it has run out, so at most one replica holds it at a time (the database's clock decides).
 */
export async function acquireLease(db: Executor, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const rows = await queryRows<{ holder: string }>(
    db,
    sql`
    insert into event_leases (name, holder, expires_at) values (${name}, ${holder}, now() + make_interval(secs => ${ttlMs / 1000}::float8))
    on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
      where event_leases.holder = excluded.holder or event_leases.expires_at < now()
    returning holder`,
  );
  return rows.length === 1;
}

/** Gives the lease up at once (when `holder` has it), so another replica takes over without waiting for it to run out. */
export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.delete(eventLeases).where(and(eq(eventLeases.name, name), eq(eventLeases.holder, holder)));
}

/** Every lease and who holds it (expired ones included, marked so). */
export async function listLeases(db: Executor): Promise<Array<{ name: string; holder: string; expired: boolean }>> {
  return queryRows(db, sql`select name, holder, expires_at < now() as expired from event_leases order by name`);
}

export interface ElectedJobOptions {
  /** The lease's name: one per job, e.g. `quality-schedule`. */
  name: string;
  /** This replica (MPI_REPLICA_ID). */
  holder: string;
  /** How often the job runs on the leader. */
  everyMs: number;
  /** How long the lease lasts without renewal; it is renewed every third of it. */
  leaseMs: number;
  job: () => Promise<void>;
  logger: Logger;
}

export interface ElectedJob {
  readonly name: string;
  /** Whether this replica holds the job's lease now. */
  readonly isLeader: boolean;
  stop(): Promise<void>;
}

/**
 * Runs a periodic job on exactly one replica: every replica runs this loop, the one holding the named lease in
 * the database runs the job every `everyMs`, and the others stand by. A leader that dies stops renewing and
 * another takes over within `leaseMs`; the new leader waits a full period before its first run, so a failover
 * never runs the job twice in one period. A run still going when the lease is lost is allowed to finish.
 */
export function startElectedJob(db: Database, options: ElectedJobOptions): ElectedJob {
  const { name, holder, everyMs, leaseMs, job, logger } = options;
  const heartbeatMs = Math.max(10, Math.min(leaseMs / 3, everyMs));
  let leader = false;
  let lastRun = 0;
  let running: Promise<void> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;

  const runJob = async () => {
    try {
      await job();
    } catch (error) {
      logger.error({ job: name, ...errorFields(error) }, 'scheduled job failed');
    }
  };

  const tick = async () => {
    try {
      const held = await acquireLease(db, name, holder, leaseMs);
      if (held !== leader) {
        leader = held;
        lastRun = Date.now();
        logger.info({ job: name, leader: held }, held ? 'scheduled job leads' : 'scheduled job follows');
      }
    } catch (error) {
      // Without the database the lease cannot be proven: stand by until it answers again.
      if (leader) logger.warn({ job: name, ...errorFields(error) }, 'scheduled job lease lost');
      leader = false;
    }
    if (leader && !running && Date.now() - lastRun >= everyMs) {
      lastRun = Date.now();
      running = runJob().finally(() => {
        running = null;
      });
    }
    if (!stopped) {
      timer = setTimeout(() => {
        ticking = tick();
      }, heartbeatMs);
      timer.unref();
    }
  };
  ticking = tick();

  return {
    name,
    get isLeader() {
      return leader;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking;
      await running;
      if (leader) await releaseLease(db, name, holder).catch(() => undefined);
      leader = false;
    },
  };
}

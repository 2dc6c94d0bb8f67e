import type { Plugin } from 'graphql-yoga';
import type { Services } from './services.ts';

/** Orchestrator probes: never rate limited, never authenticated, and they carry no patient data. */
export const PROBE_PATHS = { live: '/healthz', ready: '/readyz' } as const;

function json(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

/** The leases this replica holds now: the event dispatcher's and the scheduled jobs'. */
function leasesHeld(services: Services): string[] {
  return [
    ...(services.events.dispatcher.isLeader ? ['dispatcher'] : []),
    ...services.jobs.filter((job) => job.isLeader).map((job) => job.name),
  ].sort();
}

/**
 * `GET /healthz`: the process is up, and which replica answered. `GET /readyz`: the database (and the read
 * replica, when one is configured) answers; 503 otherwise. Both name the replica (MPI_REPLICA_ID), so a request
 * through a load balancer tells which process it reached.
 */
export function useProbes(services: Services): Plugin {
  const replica = services.config.MPI_REPLICA_ID;
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === PROBE_PATHS.live) {
        endResponse(json(200, { status: 'ok', replica }));
        return;
      }
      if (url.pathname !== PROBE_PATHS.ready) return;
      const database = services.database.kind;
      try {
        await services.database.ping();
      } catch {
        endResponse(json(503, { status: 'unavailable', replica, database, failing: 'database' }));
        return;
      }
      const readReplica = services.database.readReplica ? await services.database.readReplica.status() : undefined;
      endResponse(json(200, { status: 'ready', replica, database, leases: leasesHeld(services), ...(readReplica ? { readReplica } : {}) }));
    },
  };
}

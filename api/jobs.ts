import type { ElectedJob } from '../platform/lease.ts';
import type { Services } from './services.ts';

/**
 * Starts the periodic jobs of this replica, each run by exactly one replica of the database (the holder of its
 * lease): quality measurement every MPI_QUALITY_SCHEDULE_MINUTES, the match model lifecycle's check every
 * MPI_MODEL_CHECK_SECONDS (when MPI_MODEL_TRAIN_AFTER is not 0), and the cleanup of idle rate-limit buckets kept
 * in PostgreSQL, and a signed audit checkpoint into MPI_AUDIT_CHECKPOINT_DIR every MPI_AUDIT_CHECKPOINT_MINUTES. Event delivery and event retention run under the dispatcher's own lease.
 */
export function startScheduledJobs(services: Services): ElectedJob[] {
  const { config, logger } = services;
  const election = { holder: config.MPI_REPLICA_ID, leaseMs: config.MPI_EVENTS_LEASE_MS };
  const jobs: ElectedJob[] = [];
  if (config.MPI_QUALITY_SCHEDULE_MINUTES > 0) {
    jobs.push(services.catalog.startQualitySchedule(config.MPI_QUALITY_SCHEDULE_MINUTES, logger, election));
  }
  if (config.MPI_MODEL_TRAIN_AFTER > 0) {
    const everyMs = config.MPI_MODEL_CHECK_SECONDS * 1000;
    jobs.push(services.schedule.modelLifecycle({ ...election, everyMs, logger }));
  }
  const cleanup = services.schedule.bucketCleanup({ ...election, logger });
  if (cleanup) jobs.push(cleanup);
  if (config.MPI_AUDIT_CHECKPOINT_DIR && config.MPI_AUDIT_CHECKPOINT_MINUTES > 0) {
    const everyMs = config.MPI_AUDIT_CHECKPOINT_MINUTES * 60_000;
    jobs.push(services.schedule.auditCheckpoints(config.MPI_AUDIT_CHECKPOINT_DIR, { ...election, everyMs, logger }));
  }
  return jobs;
}

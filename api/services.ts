import { ApiKeyService } from '../platform/api-keys.ts';
import { AuditChainService } from '../platform/audit-chain-service.ts';
import { AuditService } from '../platform/audit-service.ts';
import { resolveAuditKeyring, useAuditKeyring, type AuditKeyring } from '../platform/audit-keys.ts';
import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import type { ElectedJob } from '../platform/lease.ts';
import type { Logger } from '../platform/logger.ts';
import {
  leasedBuckets,
  memoryBuckets,
  postgresBuckets,
  redisBuckets,
  startBucketCleanup,
  withMemoryFallback,
  type RateBuckets,
} from '../platform/rate-buckets.ts';
import { startAuditCheckpoints } from '../platform/audit-checkpoint.ts';
import {
  IdentityReads,
  IdentityService,
  ModelLifecycle,
  ModelRegistry,
  ModelThread,
  startModelLifecycle,
  StewardService,
} from '../identity/index.ts';
import { CatalogService } from '../catalog/index.ts';
import { LineageService } from '../lineage/index.ts';
import { DeadLetterService, PatientResourceService } from '../interop/index.ts';
import { createEventsService, type DemographicsProvider, type EventsService } from '../events/index.ts';
import type { Role } from './context.ts';
import { maskPhi, PHI_FIELDS, seesFullPhi } from './masking.ts';

/** Long-lived services shared by every request; built once at start-up. */
export interface Services {
  config: AppConfig;
  database: DatabaseHandle;
  logger: Logger;
  models: ModelRegistry;
  /** Trains, evaluates and activates match models by itself (run by the `model-lifecycle` job). */
  lifecycle: ModelLifecycle;
  /** The keys of the audit chain (MPI_AUDIT_KEY and older ones): installed for every append of this process. */
  auditKeys: AuditKeyring;
  /** The audit trail: appends (on their own or inside the change's transaction) and the listing. */
  audit: AuditService;
  /** Signed checkpoints of the audit chain and its verification against them. */
  auditChain: AuditChainService;
  /** API keys: authentication, the key operations and the bootstrap key. */
  apiKeys: ApiKeyService;
  /** Ingest, resolution and matching. */
  ingest: IdentityService;
  steward: StewardService;
  identity: IdentityReads;
  /** Sources, datasets, PHI classification and data-quality metrics. */
  catalog: CatalogService;
  /** Provenance, time travel, survivorship policy and its recomputes, ingest runs. */
  lineage: LineageService;
  /** Change events: the outbox dispatcher and its channels (started by the server, not here). */
  events: EventsService;
  /** FHIR Patient resources of source records: versions, PDQm search, the version rules of a write. */
  patientResources: PatientResourceService;
  /** HL7 and FHIR messages that could not be processed: kept, listed, replayed, discarded. */
  deadLetters: DeadLetterService;
  /** Rate-limit buckets, shared by every replica unless the database is the embedded one. */
  rateBuckets: RateBuckets;
  /** Periodic jobs this replica takes part in (each runs on the replica holding its lease); filled at start-up. */
  jobs: ElectedJob[];
  /** Starts each periodic job over this database; api/jobs.ts decides from the configuration which to start. */
  schedule: ScheduledJobStarters;
}

/** Which replica asks for a job's lease, how long the lease lasts, and where the job logs. */
export type JobElection = { holder: string; leaseMs: number; logger: Logger };

export interface ScheduledJobStarters {
  modelLifecycle(options: JobElection & { everyMs: number }): ElectedJob;
  /** Only for buckets kept in PostgreSQL (Redis expires its own keys, memory buckets go with the process). */
  bucketCleanup(options: JobElection): ElectedJob | undefined;
  auditCheckpoints(dir: string, options: JobElection & { everyMs: number }): ElectedJob;
}

/**
 * Redis when configured, else the PostgreSQL database, drawn in leases (a store call per lease, not per request);
 * memory for the embedded database's single process.
 */
function rateBucketsFor(config: AppConfig, database: DatabaseHandle, logger: Logger): RateBuckets {
  if (config.MPI_RATE_LIMIT_REDIS_URL)
    return leasedBuckets(withMemoryFallback(redisBuckets(config.MPI_RATE_LIMIT_REDIS_URL, logger), logger));
  if (database.kind === 'postgres') return leasedBuckets(withMemoryFallback(postgresBuckets(database.db), logger));
  return memoryBuckets();
}

/** Golden demographics for event consumers that ask for them, masked for their role exactly as GraphQL masks them. */
function demographicsFor(reads: IdentityReads): DemographicsProvider {
  return async (ids, role) => {
    const full = seesFullPhi({ id: 'events', name: 'events', kind: 'local', roles: [role as Role] });
    const rows = await Promise.all(ids.map((id) => reads.getIdentity(id)));
    const present = (golden: Record<string, string | null>) =>
      Object.fromEntries(PHI_FIELDS.flatMap((f) => (f in golden ? [[f, full ? (golden[f] ?? null) : maskPhi(f, golden[f])]] : [])));
    // Keyed by the id asked for: a merged id gets its survivor's demographics.
    return new Map(ids.flatMap((id, i) => (rows[i] ? [[id, present(rows[i].golden)] as [string, Record<string, string | null>]] : [])));
  };
}

/** Wires the domain services over one database; `auditKeys` when the caller already resolved them from `config`. */
export function createServices(
  config: AppConfig,
  database: DatabaseHandle,
  logger: Logger,
  auditKeys: AuditKeyring = resolveAuditKeyring(config),
): Services {
  useAuditKeyring(auditKeys);
  // Training, evaluation and re-matching run in a worker thread: the event loop keeps serving requests meanwhile.
  const models = new ModelRegistry(database.db, new ModelThread());
  const ingest = new IdentityService(database.db, models, {
    autoRegisterSources: config.MPI_AUTO_REGISTER_SOURCES,
    reader: database.reader,
    reads: database.reads,
  });
  const catalog = new CatalogService(database.db, {
    autoRegister: config.MPI_AUTO_REGISTER_SOURCES,
    thresholds: config.MPI_QUALITY_THRESHOLDS,
  });
  const lineage = new LineageService(database.db, logger);
  // Identity reads and matches may come from the read replica (inside a query that allows it: see read-routing.ts).
  const identity = new IdentityReads(database.reads, models);
  const events = createEventsService(database.db, config, logger, {
    demographics: demographicsFor(identity),
    listen: (channel, onNotify) => database.listen(channel, onNotify),
  });
  const rateBuckets = rateBucketsFor(config, database, logger);
  const lifecycle = new ModelLifecycle(database.db, models, logger, {
    trainAfter: config.MPI_MODEL_TRAIN_AFTER,
    retrainMs: config.MPI_MODEL_RETRAIN_HOURS * 3_600_000,
    retrainGrowth: config.MPI_MODEL_RETRAIN_GROWTH,
    retrainQuietMs: config.MPI_MODEL_RETRAIN_QUIET_MINUTES * 60_000,
  });
  return {
    config,
    database,
    logger,
    models,
    lifecycle,
    auditKeys,
    audit: new AuditService(database.db),
    auditChain: new AuditChainService(database.db, auditKeys, config.MPI_AUDIT_CHECKPOINT_DIR),
    apiKeys: new ApiKeyService(database.db),
    ingest,
    steward: new StewardService(ingest),
    identity,
    catalog,
    lineage,
    events,
    patientResources: new PatientResourceService(database.db, database.reads),
    deadLetters: new DeadLetterService(database.db, { replayTimeoutMs: config.MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS }),
    rateBuckets,
    jobs: [],
    schedule: {
      modelLifecycle: (options) => startModelLifecycle(database.db, lifecycle, options),
      bucketCleanup: (options) => (rateBuckets.kind === 'postgres' ? startBucketCleanup(database.db, rateBuckets, options) : undefined),
      auditCheckpoints: (dir, options) => startAuditCheckpoints(database.db, dir, options),
    },
  };
}

import { resolveAuditKeyring } from '../platform/audit-keys.ts';
import { openDatabase } from '../platform/db/client.ts';
import type { AppConfig } from '../platform/config.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { observeDatabaseGauges } from '../platform/telemetry-metrics.ts';
import { createAuthenticator } from './auth.ts';
import { CONSOLE_DIST } from './console.ts';
import { guardHandler, requestGuardFor } from './hardening.ts';
import { createHttpHandler, type HttpHandler } from './http.ts';
import { createServices, type Services } from './services.ts';
import { startScheduledJobs } from './jobs.ts';
import { NatsIngestConsumer, natsIngestOptions } from './nats-ingest.ts';
import { traceHttp } from './telemetry-plugin.ts';
import { buildYoga, type MpiYoga } from './yoga.ts';

export interface App {
  yoga: MpiYoga;
  /** The whole HTTP API: FHIR under /fhir, everything else to Yoga. */
  http: HttpHandler;
  /** No API key or token issuer is configured and this is not production: anonymous callers act as a local admin. */
  localMode: boolean;
  services: Services;
  /** The JetStream ingest consumer, when MPI_NATS_INGEST is on. */
  natsIngest: NatsIngestConsumer | null;
  close(): Promise<void>;
}

/** Opens the database (migrating it), wires the services and builds the GraphQL server. */
export async function createApp(config: AppConfig, logger: Logger = createLogger(config.LOG_LEVEL)): Promise<App> {
  // Before the database opens: production refuses to start without MPI_AUDIT_KEY.
  const auditKeys = resolveAuditKeyring(config);
  if (auditKeys.source === 'generated-file') {
    logger.warn(
      { file: auditKeys.file },
      'MPI_AUDIT_KEY is not set: the audit chain is keyed with a key generated into the data directory. Set ' +
        'MPI_AUDIT_KEY to a secret kept apart from the data before holding real patient data.',
    );
  }
  const database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.MPI_DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    readUrl: config.DATABASE_READ_URL,
    maxReadLagSeconds: config.DATABASE_READ_MAX_LAG_SECONDS,
  });
  const services = createServices(config, database, logger, auditKeys);
  if (config.MPI_BOOTSTRAP_ADMIN_KEY) {
    await services.apiKeys.ensureBootstrapKey('bootstrap-admin', config.MPI_BOOTSTRAP_ADMIN_KEY);
  }
  const credentialsConfigured = (await services.apiKeys.anyActive()) || config.OIDC_ISSUER !== undefined;
  if (config.NODE_ENV === 'production' && !credentialsConfigured) {
    await database.close();
    throw new Error(
      'Refusing to start in production without API keys: set MPI_BOOTSTRAP_ADMIN_KEY, create one with ' +
        '`npx mpi keys create`, or configure OIDC_ISSUER',
    );
  }
  const localMode = config.NODE_ENV !== 'production' && !credentialsConfigured;
  // One guard for every route, so a key's rate limit counts its GraphQL and FHIR requests together.
  const guard = requestGuardFor(config, { localMode, buckets: services.rateBuckets });
  const localAdminToken = () => database.dataDirLock?.info.adminToken;
  const yoga = buildYoga(services, { localMode, guard, localAdminToken });
  const routes = createHttpHandler({
    yoga,
    services,
    authenticate: createAuthenticator(services, { localMode, localAdminToken }),
    console: { distDir: CONSOLE_DIST, graphiql: config.NODE_ENV !== 'production' },
  });
  const http = traceHttp(guardHandler(routes, guard, config.NODE_ENV === 'production'));
  const stopGauges = observeDatabaseGauges(database.db);
  services.events.start();
  services.jobs.push(...startScheduledJobs(services));
  // Every replica consumes the JetStream ingest work queue when asked to (MPI_NATS_INGEST).
  const natsIngest = config.MPI_NATS_INGEST && config.MPI_NATS_URL ? new NatsIngestConsumer(services, natsIngestOptions(config)) : null;
  natsIngest?.start();
  return {
    yoga,
    http,
    localMode,
    services,
    natsIngest,
    close: async () => {
      stopGauges();
      await natsIngest?.stop();
      await Promise.all(services.jobs.map((job) => job.stop()));
      await services.events.stop();
      await services.rateBuckets.close();
      await database.close();
    },
  };
}

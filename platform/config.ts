import { hostname } from 'node:os';
import { z } from 'zod';

function list(text: string): string[] {
  return text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** Service configuration, read from the environment once and validated. Nothing else reads process.env. */
const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    HOST: z.string().optional(),
    /** Unset: embedded PGlite in MPI_DATA_DIR. Set: PostgreSQL. */
    DATABASE_URL: z.string().url().optional(),
    /**
     * A streaming replica of DATABASE_URL for reads that tolerate replication lag (searches, matches, identity
     * reads); writes, and reads of a caller who has just written, stay on the primary. PostgreSQL only.
     */
    DATABASE_READ_URL: z.string().url().optional(),
    /** How far behind the primary (seconds of replay) the read replica may be before reads go to the primary. */
    DATABASE_READ_MAX_LAG_SECONDS: z.coerce.number().min(0).default(10),
    /** Names this process in health output, logs and leases; default `<host name>-<pid>`. */
    MPI_REPLICA_ID: z
      .string()
      .regex(/^[\w.:-]{1,128}$/, 'letters, digits, dot, colon, dash or underscore')
      .default(`${hostname()}-${process.pid}`),
    /** PGlite data directory; `memory://` keeps everything in memory. */
    MPI_DATA_DIR: z.string().default('./data'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `auto`: readable lines on a terminal, JSON lines otherwise (files, pipes, containers). */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** Seeds an admin API key at start-up. */
    MPI_BOOTSTRAP_ADMIN_KEY: z.string().min(24, 'MPI_BOOTSTRAP_ADMIN_KEY must be at least 24 characters').optional(),
    /**
     * The secret that keys the audit hash chain (HMAC-SHA256) and signs its checkpoints; at least 32 characters,
     * e.g. `openssl rand -base64 32`. Kept outside the database, so write access to the database alone cannot
     * rewrite the trail. Required in production; elsewhere a key is generated into MPI_DATA_DIR/audit.key.
     */
    MPI_AUDIT_KEY: z.string().min(32, 'MPI_AUDIT_KEY must be at least 32 characters').optional(),
    /** Keys used before MPI_AUDIT_KEY (comma-separated), so entries and checkpoints they signed still verify. */
    MPI_AUDIT_PREVIOUS_KEYS: z
      .string()
      .default('')
      .transform(list)
      .pipe(z.array(z.string().min(32, 'each previous audit key must be at least 32 characters'))),
    /** Where signed audit checkpoints are written (on demand and on a schedule) and read back to verify against. */
    MPI_AUDIT_CHECKPOINT_DIR: z.string().optional(),
    /** Minutes between scheduled checkpoints into MPI_AUDIT_CHECKPOINT_DIR (0: on demand only). One replica writes them. */
    MPI_AUDIT_CHECKPOINT_MINUTES: z.coerce.number().min(0).default(60),
    /** Ingest from an unknown source registers it instead of failing. */
    MPI_AUTO_REGISTER_SOURCES: z.stringbool().default(false),
    /** Largest request body accepted (413 above it). */
    MPI_MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 * 1024),
    /** Browser origins allowed to call the API cross-origin, comma-separated; unset: CORS off (no cross-origin reads). */
    MPI_CORS_ORIGINS: z
      .string()
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o !== ''),
      )
      .pipe(z.array(z.string().url('each origin must be a URL such as https://console.example.org'))),
    /** Requests per minute per API key (or per client address when anonymous); 0 turns the limit off. */
    MPI_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000),
    /**
     * Where the rate-limit buckets live, shared by every replica: Redis at this URL (e.g. `redis://127.0.0.1:6379`)
     * when set; otherwise the PostgreSQL database, or memory on the embedded database (one process).
     */
    MPI_RATE_LIMIT_REDIS_URL: z.string().url().optional(),
    /** GraphQL limits: selection depth, estimated cost, aliases, tokens, and operations in one batched request. */
    MPI_MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(12),
    MPI_MAX_QUERY_COST: z.coerce.number().int().min(10).default(5000),
    MPI_MAX_ALIASES: z.coerce.number().int().min(1).default(30),
    MPI_MAX_TOKENS: z.coerce.number().int().min(100).default(5000),
    MPI_MAX_BATCH_OPERATIONS: z.coerce.number().int().min(1).default(10),
    /** HL7 v2 MLLP listener port; unset: no listener. MLLP has no authentication: expose it only to trusted feeds. */
    MPI_MLLP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    MPI_MLLP_HOST: z.string().default('127.0.0.1'),
    /** The pipeline principal HL7 messages act as (recorded as `local:<name>` on events and audit entries). */
    MPI_MLLP_ACTOR: z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'letters, digits, dot, dash or underscore')
      .default('hl7-listener'),
    /** ADT trigger events acknowledged but not processed, comma-separated (e.g. `A02,A03`); others unsupported are dead-lettered. */
    MPI_HL7_IGNORE_EVENTS: z
      .string()
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((e) => e.trim().toUpperCase())
          .filter((e) => e !== ''),
      )
      .pipe(z.array(z.string().regex(/^A\d\d$/, 'ADT trigger events such as A02'))),
    /** Minutes between scheduled quality measurements (0: off); fractions allowed. One replica runs them (a lease). */
    MPI_QUALITY_SCHEDULE_MINUTES: z.coerce.number().min(0).default(0),
    /**
     * The self-running model lifecycle: train a candidate model once this many records are stored (0: off), then
     * again every MPI_MODEL_RETRAIN_HOURS (0: not on a schedule) and whenever the stored records reach
     * MPI_MODEL_RETRAIN_GROWTH times those of the last training (0: not on growth), and once no record has come
     * in for MPI_MODEL_RETRAIN_QUIET_MINUTES after the index grew by a tenth since the last training (an initial
     * load finished; 0: not on a quiet feed); activate it only when it is not worse than the active model.
     * Checked every MPI_MODEL_CHECK_SECONDS by one replica (a lease).
     */
    MPI_MODEL_TRAIN_AFTER: z.coerce.number().int().min(0).default(1000),
    MPI_MODEL_RETRAIN_HOURS: z.coerce.number().min(0).default(24),
    MPI_MODEL_RETRAIN_GROWTH: z.coerce
      .number()
      .refine((g) => g === 0 || g > 1, 'must be 0 (off) or above 1')
      .default(2),
    MPI_MODEL_RETRAIN_QUIET_MINUTES: z.coerce.number().min(0).default(10),
    MPI_MODEL_CHECK_SECONDS: z.coerce.number().min(0.01).default(60),
    /**
     * Quality threshold rules added to the defaults, as JSON, e.g.
     * `[{"metric":"duplicate_rate","threshold":0.02},{"metric":"freshness_hours","source":"BATCH1","threshold":null}]`.
     */
    MPI_QUALITY_THRESHOLDS: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined || text.trim() === '') return [];
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON array of threshold rules' });
          return z.NEVER;
        }
      })
      .pipe(
        z.array(
          z
            .object({
              metric: z.string(),
              scopeKind: z.enum(['INDEX', 'SOURCE', 'FIELD']).optional(),
              source: z.string().optional(),
              field: z.string().optional(),
              threshold: z.number().nullable(),
            })
            .strict(),
        ),
      ),
    /** Accept JWTs from this OpenID Connect issuer (its `iss`), besides API keys. */
    OIDC_ISSUER: z.string().url().optional(),
    /** Required `aud` of accepted JWTs; required when OIDC_ISSUER is set. */
    OIDC_AUDIENCE: z.string().optional(),
    /** Claim holding the caller's roles (an array or a space-separated string); dots walk nested claims. */
    OIDC_ROLES_CLAIM: z.string().default('roles'),
    /** Where the issuer's signing keys are; default `<OIDC_ISSUER>/.well-known/jwks.json`. */
    OIDC_JWKS_URL: z.string().url().optional(),
    /**
     * The console's client id at the issuer (a public client: authorization code with PKCE, redirect URI
     * `<console origin>/oidc-callback`); set, the console's sign-in offers the identity provider's own sign-in.
     */
    OIDC_CONSOLE_CLIENT_ID: z.string().min(1).optional(),
    /** Scopes the console asks the issuer for; the access token must still carry OIDC_AUDIENCE and the roles claim. */
    OIDC_CONSOLE_SCOPE: z.string().min(1).default('openid profile'),
    /**
     * How long a dead-letter replay holds its claim (REPLAYING): after it, a letter whose server stopped in the
     * middle of a replay can be replayed or discarded again.
     */
    MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS: z.coerce.number().int().min(1000).default(300_000),
    /** Change events: how often the outbox is polled, the dispatcher lease, and how long events are kept (0: for ever). */
    MPI_EVENTS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(100),
    MPI_EVENTS_LEASE_MS: z.coerce.number().int().min(1000).default(15_000),
    MPI_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
    /** Webhook delivery: tries before the dead letter, backoff (doubling, with jitter), request timeout. */
    MPI_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    MPI_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(1000),
    MPI_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(300_000),
    MPI_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
    /**
     * Events one delivery round reads and sends to an endpoint (different identities' events in parallel, at most
     * 32 requests out); the endpoint's position is saved once per round.
     */
    MPI_WEBHOOK_ROUND_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    /** Requests out at once to one endpoint at most (the connections kept per address). */
    MPI_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
    /**
     * Where webhook requests are sent from: a worker thread of their own (`thread`), so that a burst of events
     * does not wait for the service's thread between ingest work, or the service's thread (`inline`).
     */
    MPI_WEBHOOK_SENDER: z.enum(['thread', 'inline']).default('thread'),
    /** Host names webhook URLs may use (comma-separated, `*.example.org` for sub-domains); unset: any. */
    MPI_WEBHOOK_ALLOWED_HOSTS: z.string().default('').transform(list),
    /**
     * Networks (CIDRs) webhooks may reach although loopback or link-local, e.g. `127.0.0.0/8` for a receiver on
     * the same host; such receivers may use plain http.
     */
    MPI_WEBHOOK_ALLOWED_NETWORKS: z
      .string()
      .default('')
      .transform(list)
      .pipe(z.array(z.string().regex(/^[\d.:a-fA-F]+(\/\d{1,3})?$/, 'CIDRs such as 127.0.0.0/8'))),
    /** Publish change events to NATS JetStream at this URL (e.g. `nats://127.0.0.1:4222`). */
    MPI_NATS_URL: z.string().optional(),
    /**
     * First token of the NATS subjects (`mpi.identity.identities_merged`) and, upper-cased, of the stream names
     * (`MPI_IDENTITY`); lets several deployments share one NATS server.
     */
    MPI_NATS_SUBJECT_PREFIX: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _, starting with a letter')
      .default('mpi'),
    /** Consume records to ingest from the JetStream subjects `<prefix>.ingest.<source>` (needs MPI_NATS_URL). */
    MPI_NATS_INGEST: z.stringbool().default(false),
    /** Records ingested per transaction by the JetStream consumer, at most 1000. */
    MPI_NATS_INGEST_BATCH: z.coerce.number().int().min(1).max(1000).default(200),
    /**
     * Records per transaction while the JetStream consumer gives way to online ingest (it saw another session at the
     * ingest lock within the last 5 s); 0 never gives way (the backlog drains at full speed, online calls wait).
     */
    MPI_NATS_INGEST_GIVE_WAY_BATCH: z.coerce.number().int().min(0).max(1000).default(12),
    /** Deliveries of one message before it goes to the dead-letter subject. */
    MPI_NATS_INGEST_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
    /** The pipeline principal JetStream records act as (recorded as `local:<name>` on events and audit entries). */
    MPI_NATS_INGEST_ACTOR: z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'letters, digits, dot, dash or underscore')
      .default('nats-ingest'),
    OTEL_TRACES_EXPORTER: z.string().optional(),
    OTEL_METRICS_EXPORTER: z.string().optional(),
  })
  .refine((c) => !c.OIDC_ISSUER || c.OIDC_AUDIENCE, { path: ['OIDC_AUDIENCE'], message: 'required when OIDC_ISSUER is set' })
  .refine((c) => !c.OIDC_CONSOLE_CLIENT_ID || c.OIDC_ISSUER, { path: ['OIDC_CONSOLE_CLIENT_ID'], message: 'needs OIDC_ISSUER' })
  .refine((c) => !c.DATABASE_READ_URL || c.DATABASE_URL, { path: ['DATABASE_READ_URL'], message: 'needs DATABASE_URL (the primary)' })
  .refine((c) => !c.MPI_NATS_INGEST || c.MPI_NATS_URL, { path: ['MPI_NATS_INGEST'], message: 'needs MPI_NATS_URL' });

export type AppConfig = z.infer<typeof ConfigSchema>;

/** Parses configuration from an environment map; throws one error listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

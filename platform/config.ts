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
    /** PGlite data directory; `memory://` keeps everything in memory. */
    MPI_DATA_DIR: z.string().default('./data'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `auto`: readable lines on a terminal, JSON lines otherwise (files, pipes, containers). */
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** Seeds an admin API key at start-up. */
    MPI_BOOTSTRAP_ADMIN_KEY: z.string().min(24, 'MPI_BOOTSTRAP_ADMIN_KEY must be at least 24 characters').optional(),
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
    MPI_QUALITY_SCHEDULE_MINUTES: z.coerce.number().int().min(0).default(0),
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
    /** Change events: how often the outbox is polled, the dispatcher lease, and how long events are kept (0: for ever). */
    MPI_EVENTS_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(100),
    MPI_EVENTS_LEASE_MS: z.coerce.number().int().min(1000).default(15_000),
    MPI_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
    /** Webhook delivery: tries before the dead letter, backoff (doubling, with jitter), request timeout. */
    MPI_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    MPI_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(1000),
    MPI_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(300_000),
    MPI_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
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
    OTEL_TRACES_EXPORTER: z.string().optional(),
    OTEL_METRICS_EXPORTER: z.string().optional(),
  })
  .refine((c) => !c.OIDC_ISSUER || c.OIDC_AUDIENCE, { path: ['OIDC_AUDIENCE'], message: 'required when OIDC_ISSUER is set' });

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

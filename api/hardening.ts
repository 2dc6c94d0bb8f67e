import { createHash } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionResult, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppConfig } from '../platform/config.ts';
import { isConnectionFailure } from '../platform/db/failures.ts';
import { memoryBuckets, type BucketState, type RateBuckets } from '../platform/rate-buckets.ts';
import { instruments } from '../platform/telemetry.ts';

/** Header a browser client must send on "simple" requests (GET, form posts), which skip CORS preflight. */
export const CSRF_HEADER = 'x-mpi-csrf';

/** Response headers for an API that returns patient data: never cached, never framed, never sniffed. */
export function securityHeaders(production: boolean, isHtml: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  };
  // GraphiQL (development only) loads its page scripts; every other response is data and may load nothing.
  if (!isHtml) headers['content-security-policy'] = "default-src 'none'; frame-ancestors 'none'";
  if (production) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  return headers;
}

function problem(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...securityHeaders(false, false), ...headers },
  });
}

/** Reads a body stream, giving up as soon as it passes `limit` bytes. */
async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Buffer | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Paths never limited: orchestrators probe them. */
const UNLIMITED_PATHS = new Set(['/healthz', '/readyz']);

/**
 * The credential of a request as the authenticator reads it (`Bearer <credential>`, any case and spacing), hashed
 * so it is never kept in clear; null without a well-formed one. Respelling the header gives the same key.
 */
function credentialKey(request: Request): string | null {
  const credential = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '')?.[1];
  return credential ? `key:${createHash('sha256').update(credential).digest('base64url')}` : null;
}

/** The bucket a request draws from: its credential, or its client address only when it sends none. */
function rateKey(request: Request, clientAddress: string | undefined): string {
  return credentialKey(request) ?? `addr:${clientAddress ?? 'unknown'}`;
}

/** Credentials remembered as accepted (hashed), so failures of others at their address never refuse them. */
const MAX_ACCEPTED = 10_000;

/** Admits or refuses requests before anything parses them; one per server, shared by every route. */
export interface RequestGuard {
  /**
   * Applies the per-key rate limit and the body size limit: a refusal (429, 413), or the request to serve
   * (re-buffered when its body came without a Content-Length). A request already admitted passes straight through.
   */
  admit(request: Request, clientAddress?: string): Promise<Response | Request>;
  /** Notes a response; a 401 counts against the client address's allowance of failed sign-ins. */
  observe(request: Request, response: Response, clientAddress?: string): Promise<void>;
}

/**
 * Refused credentials allowed per client address per minute. Each guessed key would otherwise get a fresh
 * per-key bucket, so guessing (and the audit entries it causes) is limited by address instead.
 */
export const AUTH_FAILURES_PER_MINUTE = 30;

export interface RequestGuardOptions {
  /** Requests per minute per API key (or anonymous client address); 0 turns the limit off. */
  perMinute: number;
  maxBodyBytes: number;
  /** Where the buckets are kept (default: this process's memory); shared stores make the limit one for all replicas. */
  buckets?: RateBuckets;
  now?: () => number;
}

/**
 * Limits each API key (or anonymous client address) to `perMinute` requests a minute with a token bucket
 * (429 with Retry-After beyond it), and refuses bodies over `maxBodyBytes` with 413: at once from Content-Length,
 * or by counting bytes of a streamed body. The buckets are kept in `options.buckets`: PostgreSQL or Redis make
 * them one limit for every replica; memory limits each process on its own.
 */
export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  const { perMinute, maxBodyBytes, now = Date.now } = options;
  const buckets = options.buckets ?? memoryBuckets(now);
  const requests = tokenBuckets(buckets, 'req', perMinute);
  const failures = tokenBuckets(buckets, 'fail', AUTH_FAILURES_PER_MINUTE);
  const admitted = new WeakSet<Request>();
  const observed = new WeakSet<Request>();

  function refusal(waitSeconds: number, message: string): Response {
    instruments().rateLimited.add(1);
    return problem(429, 'RATE_LIMITED', message, { 'retry-after': String(waitSeconds) });
  }

  // A credential that was accepted before is never refused for other credentials' failures at its address
  // (behind a proxy every client shares one address); only unproven credentials count against the address.
  const accepted = new Set<string>();
  async function rateLimited(request: Request, clientAddress: string | undefined): Promise<Response | null> {
    if (perMinute <= 0 || UNLIMITED_PATHS.has(new URL(request.url).pathname)) return null;
    const address = `addr:${clientAddress ?? 'unknown'}`;
    const credential = credentialKey(request);
    if (request.headers.has('authorization') && !(credential && accepted.has(credential))) {
      const state = await failures.take(address, 0);
      if (!state.granted) return refusal(failures.wait(state), 'Too many refused credentials from this address; retry later');
    }
    const state = await requests.take(rateKey(request, clientAddress), 1);
    return state.granted ? null : refusal(requests.wait(state), 'Too many requests for this API key; retry later');
  }

  async function bodyLimited(request: Request): Promise<Response | Request> {
    if (!request.body) return request;
    const tooLarge = () => problem(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBodyBytes} bytes`);
    const declared = request.headers.get('content-length');
    if (declared !== null) return !/^\d+$/.test(declared) || Number(declared) > maxBodyBytes ? tooLarge() : request;
    const bytes = await readLimited(request.body, maxBodyBytes);
    if (!bytes) return tooLarge();
    return new Request(request.url, { method: request.method, headers: request.headers, body: new Uint8Array(bytes) });
  }

  return {
    async admit(request, clientAddress) {
      if (admitted.has(request)) return request;
      const refused = await rateLimited(request, clientAddress);
      if (refused) return refused;
      const result = await bodyLimited(request);
      if (result instanceof Request) admitted.add(result);
      return result;
    },
    async observe(request, response, clientAddress) {
      if (observed.has(request)) return;
      observed.add(request);
      if (perMinute <= 0 || !request.headers.has('authorization')) return; // anonymous 401s are no failed sign-ins
      const credential = credentialKey(request);
      if (response.status === 401) {
        if (credential) accepted.delete(credential);
        await failures.take(`addr:${clientAddress ?? 'unknown'}`, 1);
      } else if (credential && !accepted.has(credential)) {
        if (accepted.size >= MAX_ACCEPTED) accepted.delete(accepted.values().next().value!);
        accepted.add(credential);
      }
    },
  };
}

/** One kind of bucket (requests, refused credentials) in the shared store, `capacity` a minute per key. */
function tokenBuckets(store: RateBuckets, kind: string, capacity: number) {
  const refillPerMs = capacity / 60_000;
  return {
    take: (key: string, cost: 0 | 1) => store.take(`${kind}:${key}`, capacity, cost),
    /** Seconds until the bucket holds a token again. */
    wait: (state: BucketState): number => Math.max(1, Math.ceil((1 - state.tokens) / refillPerMs / 1000)),
  };
}

/** Runs the guard for every request Yoga receives (a request the HTTP handler already admitted passes through). */
export function useRequestGuard(guard: RequestGuard): Plugin<object, { clientAddress?: string; admitted?: boolean }> {
  return {
    async onRequest({ request, serverContext, setRequest, endResponse }) {
      if (serverContext.admitted) return; // the HTTP handler already took this request's token
      const result = await guard.admit(request, serverContext.clientAddress);
      if (result instanceof Response) endResponse(result);
      else if (result !== request) setRequest(result);
    },
    async onResponse({ request, response, serverContext }) {
      if (serverContext.admitted) return;
      await guard.observe(request, response, serverContext.clientAddress);
    },
  };
}

/** Wraps a fetch handler (the whole HTTP API, FHIR included) with the guard and the security headers. */
export function guardHandler<C extends { clientAddress?: string }>(
  handler: (request: Request, context?: C) => Promise<Response>,
  guard: RequestGuard,
  production: boolean,
): (request: Request, context?: C) => Promise<Response> {
  return async (request, context) => {
    const result = await guard.admit(request, context?.clientAddress);
    const response = result instanceof Response ? result : await handler(result, { ...context, admitted: true } as unknown as C);
    if (!(result instanceof Response)) await guard.observe(result, response, context?.clientAddress);
    const isHtml = response.headers.get('content-type')?.startsWith('text/html') ?? false;
    for (const [name, value] of Object.entries(securityHeaders(production, isHtml))) {
      if (!response.headers.has(name)) response.headers.set(name, value);
    }
    return response;
  };
}

/** Adds the security headers to every response. */
export function useSecurityHeaders(production: boolean): Plugin {
  return {
    onResponse({ response }) {
      const isHtml = response.headers.get('content-type')?.startsWith('text/html') ?? false;
      for (const [name, value] of Object.entries(securityHeaders(production, isHtml))) {
        if (!response.headers.has(name)) response.headers.set(name, value);
      }
    },
  };
}

/**
 * Runs a read-only operation (a query) once more when it failed because its database connection was lost: a
 * read is idempotent, and the pool hands the retry a fresh connection. Mutations are never retried here (their
 * transactions retry deadlocks and serialisation failures themselves).
 */
export function useReadRetry(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      setExecuteFn(async (executeArgs) => {
        const first = (await executeFn(executeArgs)) as ExecutionResult;
        return first.errors?.some((e) => isConnectionFailure(e)) ? executeFn(executeArgs) : first;
      });
    },
  };
}

/** Rejects `__schema` and `__type` queries (production: the schema is published as schema.graphql instead). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** The request guard configured by MPI_RATE_LIMIT_PER_MINUTE and MPI_MAX_BODY_BYTES. */
export function requestGuardFor(config: AppConfig, options: { localMode?: boolean; buckets?: RateBuckets } = {}): RequestGuard {
  // Local mode has no keys to tell callers apart and one trusted user on loopback: only the body limit applies.
  const perMinute = options.localMode ? 0 : config.MPI_RATE_LIMIT_PER_MINUTE;
  return createRequestGuard({
    perMinute,
    maxBodyBytes: config.MPI_MAX_BODY_BYTES,
    ...(options.buckets ? { buckets: options.buckets } : {}),
  });
}

/**
 * Reports a query over a limit as a typed `QUERY_TOO_COMPLEX` error (HTTP 400) naming the limit, instead of the
 * untyped "Syntax Error" the limit plugins throw by default.
 */
const rejectAsTooComplex = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      const typed = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
        extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
      });
      if (!context) throw typed; // token counting runs while parsing, before there is a validation context
      context.reportError(typed);
    },
  ],
};

/**
 * A query nested deeper than the parser's recursion reaches (a list literal of about 2,000 brackets, well under
 * the token limit) overflows the stack while it is parsed: reported as `QUERY_TOO_COMPLEX` (HTTP 400) like the
 * other limits, not as an internal error.
 */
function useParseDepthGuard(): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          throw new GraphQLError('the query is nested too deeply to parse', {
            extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
          });
        }
      });
    },
  };
}

/**
 * The request-hardening plugins, in order: rate limit and body limit before any parsing, CSRF prevention,
 * GraphQL cost limits (depth, estimated cost, aliases, tokens, directives), introspection off in production,
 * and security headers on every response.
 */
export function hardeningPlugins(config: AppConfig, guard: RequestGuard): Plugin[] {
  const production = config.NODE_ENV === 'production';
  const plugins: Plugin[] = [
    useRequestGuard(guard) as Plugin,
    useCSRFPrevention({ requestHeaders: [CSRF_HEADER, 'x-graphql-yoga-csrf'] }),
    EnvelopArmorPlugin({
      maxDepth: { n: config.MPI_MAX_QUERY_DEPTH, flattenFragments: true, ...rejectAsTooComplex },
      costLimit: { maxCost: config.MPI_MAX_QUERY_COST, ...rejectAsTooComplex },
      maxAliases: { n: config.MPI_MAX_ALIASES, ...rejectAsTooComplex },
      maxTokens: { n: config.MPI_MAX_TOKENS, ...rejectAsTooComplex },
      maxDirectives: { n: 50, ...rejectAsTooComplex },
      // "Did you mean …?" hints help probing the schema; keep them only where introspection is on anyway.
      blockFieldSuggestion: { enabled: production },
    }) as Plugin,
    useParseDepthGuard(),
    useSecurityHeaders(production),
    useReadRetry(),
  ];
  if (production) plugins.push(useNoIntrospection());
  return plugins;
}

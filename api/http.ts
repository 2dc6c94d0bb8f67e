import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServerAdapter } from '@whatwg-node/server';
import {
  createFhirHandler,
  databaseUnavailable,
  errorIssue,
  FHIR_JSON,
  operationOutcome,
  type OperationOutcomeIssue,
} from '../interop/index.ts';
import { isConnectionFailure } from '../platform/db/failures.ts';
import { auditAuthenticationFailure } from './audit-plugin.ts';
import { createConsoleHandler, isConsoleRequest, type ConsoleOptions } from './console.ts';
import { createOidcSignIn } from './console-sign-in.ts';
import { AuthenticationFailure, type Authenticate } from './auth.ts';
import type { Principal } from './context.ts';
import { fhirRestHookRenderer } from './fhir-notifications.ts';
import { securityHeaders } from './hardening.ts';
import { interopAuditInTransaction, interopContext, ServiceInteropPort, writeInteropAudit } from './interop-port.ts';
import type { AuditOutcome } from '../platform/audit.ts';
import { withBeforeCommit } from '../platform/db/before-commit.ts';
import type { Services } from './services.ts';
import type { MpiYoga } from './yoga.ts';

/** Path prefix of the FHIR R4 endpoints. */
export const FHIR_BASE_PATH = '/fhir';

export interface HttpServerContext {
  clientAddress?: string;
  /** Set by the request guard once it counted this request, so GraphQL does not count it again. */
  admitted?: boolean;
}

export interface HttpHandlerOptions {
  yoga: MpiYoga;
  services: Services;
  /** The authenticator the GraphQL API uses (same Bearer API keys and tokens). */
  authenticate: Authenticate;
  /** Serve the console's build at `/` (and the offline GraphiQL page); omitted, only the API answers. */
  console?: ConsoleOptions;
}

/** One fetch handler for the whole HTTP API. */
export type HttpHandler = (request: Request, serverContext?: HttpServerContext) => Promise<Response>;

/** A caller's `x-request-id` is kept only when it is a plain token, as for GraphQL, so the audit trail holds no free text. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Audit operation per FHIR route. */
const FHIR_OPERATION: Record<string, string> = {
  'POST Patient': 'ingest',
  'PUT Patient': 'ingest',
  'PUT Patient/{id}': 'ingest',
  'DELETE Patient/{id}': 'delete',
  'GET Patient/{id}': 'read',
  'GET Patient/{id}/_history': 'read',
  'GET Patient/{id}/_history/{vid}': 'read',
  'GET Patient': 'search',
  'POST Patient/_search': 'search',
  'GET Patient/$ihe-pix': 'search',
  'POST Patient/$match': 'match',
  'POST Subscription': 'subscribe',
  'GET Subscription/{id}': 'subscription-read',
  'DELETE Subscription/{id}': 'unsubscribe',
};

/**
 * Composes the HTTP API: browser GETs outside the API's paths get the console (`opts.console`) and `/auth/oidc/*` its
 * OIDC sign-in, `/fhir/*` goes to the FHIR R4 handler (authenticated with the same Bearer credentials
 * as GraphQL, PHI masked by role, one audit entry per request that touched patient data), everything else to
 * Yoga. The CapabilityStatement (`GET /fhir/metadata`) is public, as FHIR clients read it before they log in.
 */
export function createHttpHandler(opts: HttpHandlerOptions): HttpHandler {
  const { services, yoga } = opts;
  const headers = securityHeaders(services.config.NODE_ENV === 'production', false);
  const port = new ServiceInteropPort(services);
  // FHIR Subscriptions are delivered by the webhook machinery with their own notification bodies.
  services.events.renderers.set('FHIR_REST_HOOK', fhirRestHookRenderer(services, port));
  const fhir = createFhirHandler(port, {
    basePath: FHIR_BASE_PATH,
    software: { name: 'mpi' },
    onError: (error, info) => services.logger.error({ ...info, error: errorName(error) }, 'FHIR request failed'),
  });

  async function serveFhir(request: Request, url: URL, requestId: string, clientAddress: string | null): Promise<Response> {
    const route = routeName(url.pathname);
    if (route === 'metadata') return fhir(request, interopContext('fhir', null, requestId, clientAddress));
    let principal: Principal | null;
    try {
      principal = await opts.authenticate(request);
    } catch (error) {
      if (!(error instanceof AuthenticationFailure)) throw error;
      await auditAuthenticationFailure({ services, requestId, clientAddress }, error);
      return fhirError(401, errorIssue('login', error.message), { 'www-authenticate': 'Bearer' });
    }
    const ctx = interopContext('fhir', principal, requestId, clientAddress);
    const action = `fhir:${FHIR_OPERATION[`${request.method} ${route}`] ?? 'request'}`;
    if (!principal) {
      ctx.denied = true;
      await writeInteropAudit(services, ctx, action, 'DENIED', { route });
      return fhirError(401, errorIssue('login', 'authentication required: send Authorization: Bearer <key>'), {
        'www-authenticate': 'Bearer',
      });
    }
    // A read of patient data is audited whatever it finds; an unknown id or an empty search says so.
    if (PATIENT_READS.has(action)) ctx.audit.reachedPatientData = true;
    // A change (create, update, delete) commits with its audit entry, inside its own transaction.
    const response = await withBeforeCommit(interopAuditInTransaction(ctx, action, { route }), () => fhir(request, ctx));
    // An unknown id asked for is named (a FHIR id's shape only), so probes for ids can be found in the trail.
    const asked = url.pathname.split('/')[3];
    if (response.status === 404 && route.startsWith('Patient/{id}') && asked && FHIR_ID.test(asked)) ctx.audit.touch('patient', asked);
    await writeInteropAudit(services, ctx, action, readOutcome(action, response.status, ctx.audit.touched), {
      route,
      status: response.status,
    });
    return response;
  }

  const consoleHandler = opts.console ? createConsoleHandler(opts.console) : null;
  const oidcSignIn = opts.console ? createOidcSignIn(services.config) : null;

  return async (request, serverContext = {}) => {
    const url = new URL(request.url);
    const signIn = oidcSignIn?.(request, url);
    if (signIn) return signIn;
    if (consoleHandler && opts.console && isConsoleRequest(request, url, opts.console)) return consoleHandler(request, url);
    if (url.pathname !== FHIR_BASE_PATH && !url.pathname.startsWith(`${FHIR_BASE_PATH}/`)) {
      return yoga.fetch(request, serverContext);
    }
    const given = request.headers.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    let response: Response;
    try {
      response = await serveFhir(request, url, requestId, serverContext.clientAddress ?? null);
    } catch (error) {
      // Most often the audit entry could not be written: patient data is never handed out unaudited.
      services.logger.error({ requestId, error: errorName(error) }, 'FHIR request failed');
      response = isConnectionFailure(error)
        ? databaseUnavailable()
        : fhirError(500, { severity: 'fatal', code: 'exception', diagnostics: 'internal error' });
    }
    for (const [name, value] of Object.entries(headers)) {
      if (!response.headers.has(name)) response.headers.set(name, value);
    }
    response.headers.set('x-request-id', requestId);
    return response;
  };
}

/** Serves a fetch handler on node:http, passing the client's address on. */
export function toNodeListener(handler: HttpHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const adapter = createServerAdapter<HttpServerContext>((request, context) => handler(request, { clientAddress: context.clientAddress }));
  return (req, res) => void adapter(req, res, { clientAddress: req.socket.remoteAddress });
}

/** FHIR operations that read patient data: each attempt is audited, including those that find nothing. */
/** A FHIR resource id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const PATIENT_READS = new Set(['fhir:read', 'fhir:search', 'fhir:match']);

/** The outcome of a FHIR request for its audit entry: NOT_FOUND for an unknown id, EMPTY for a read that returned no one. */
function readOutcome(action: string, status: number, touched: boolean): AuditOutcome {
  if (PATIENT_READS.has(action) && status === 404) return 'NOT_FOUND';
  if (status >= 400) return 'ERROR';
  return PATIENT_READS.has(action) && !touched ? 'EMPTY' : 'SUCCESS';
}

/** The FHIR route without ids, as the audit names it: `Patient/{id}`, `Patient/$match`, `Patient`, `metadata`... */
function routeName(pathname: string): string {
  const parts = pathname
    .slice(FHIR_BASE_PATH.length + 1)
    .split('/')
    .filter((p) => p !== '');
  if (parts.length === 1 && (parts[0] === 'Patient' || parts[0] === 'metadata' || parts[0] === 'Subscription')) return parts[0];
  if (parts[0] === 'Subscription') return parts.length === 2 ? 'Subscription/{id}' : 'other';
  if (parts[0] !== 'Patient') return 'other';
  if (parts.length === 2) return ['$match', '$ihe-pix', '_search'].includes(parts[1]!) ? `Patient/${parts[1]}` : 'Patient/{id}';
  if (parts.length === 3 && parts[2] === '_history') return 'Patient/{id}/_history';
  if (parts.length === 4 && parts[2] === '_history') return 'Patient/{id}/_history/{vid}';
  return 'other';
}

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.name} ${code}` : error.name;
}

function fhirError(status: number, issue: OperationOutcomeIssue, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(operationOutcome([issue])), { status, headers: { 'content-type': FHIR_JSON, ...extra } });
}

import { isConnectionFailure } from '../../platform/db/failures.ts';
import { isPortError, problemsOf, type InteropPort, type PortErrorCode } from '../ports.ts';
import { capabilityStatement } from './capability.ts';
import { DEFAULT_IDENTITY_SYSTEMS, type IdentitySystems } from './identity-to-patient.ts';
import { fhirJson, readText } from './http-io.ts';
import { errorIssue, FhirError, operationOutcome } from './operation-outcome.ts';
import { patientRest } from './patient-rest.ts';
import { patientQueries } from './patient-search.ts';
import { subscriptionRest } from './subscription-rest.ts';
import type { IssueType } from './types.ts';
import { r4DefinitionsLoading, stringProblem } from './validate.ts';

export { FHIR_JSON } from './http-io.ts';

export interface FhirHandlerOptions {
  /** Path prefix the handler is mounted on. Default `/fhir`. */
  basePath?: string;
  /** Absolute base for `fullUrl` and `Location`; default the request's origin plus `basePath`. */
  baseUrl?: string;
  systems?: IdentitySystems;
  /** Largest accepted request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** $match `count` when the client gives none. Default 10. */
  defaultMatchCount?: number;
  /** Upper bound on $match `count`. Default 100. */
  maxMatchCount?: number;
  /** CapabilityStatement.date; default the time the handler was created. */
  capabilityDate?: string;
  software?: { name: string; version?: string };
  /** Called with every unexpected error (answered as a masked 500). Log ids and codes only: no PHI. */
  onError?: (error: unknown, info: { method: string; route: string }) => void;
}

/** A WHATWG fetch handler; `context` (actor, request id...) is passed unchanged to every port call. */
export type FhirHandler<C> = (request: Request, context: C) => Promise<Response>;

/** What the route handlers share: the port, the options and the request's absolute base URL. */
export interface FhirEnv<C> {
  port: InteropPort<C>;
  systems: IdentitySystems;
  maxBodyBytes: number;
  opts: FhirHandlerOptions;
}

type Route =
  | 'metadata'
  | 'patient'
  | 'patient-search'
  | 'patient-instance'
  | 'patient-history'
  | 'patient-version'
  | 'match'
  | 'pix'
  | 'subscription'
  | 'subscription-instance'
  | 'unknown';

const ALLOWED: Record<Exclude<Route, 'unknown'>, string[]> = {
  metadata: ['GET'],
  patient: ['GET', 'POST', 'PUT'],
  'patient-search': ['POST'],
  'patient-instance': ['GET', 'PUT', 'DELETE'],
  'patient-history': ['GET'],
  'patient-version': ['GET'],
  match: ['POST'],
  pix: ['GET'],
  subscription: ['POST'],
  'subscription-instance': ['GET', 'DELETE'],
};

/** The media types we answer with; anything else asked for in `Accept` or `_format` is a 406. */
const JSON_TYPES = /^(application\/(fhir\+json|json\+fhir|json|\*)|\*\/\*|json)$/i;

/**
 * HTTP handler for the FHIR R4 endpoints: the CapabilityStatement, the Patient resource (create, read, vread,
 * history, update, conditional create and update, delete, PDQm search), the operations `$match` and
 * `$ihe-pix`, and topic-based Subscriptions (create, read, delete). Authentication and audit belong to the caller.
 */
export function createFhirHandler<C>(port: InteropPort<C>, opts: FhirHandlerOptions = {}): FhirHandler<C> {
  const basePath = (opts.basePath ?? '/fhir').replace(/\/+$/, '');
  const env: FhirEnv<C> = { port, systems: opts.systems ?? DEFAULT_IDENTITY_SYSTEMS, maxBodyBytes: opts.maxBodyBytes ?? 1024 * 1024, opts };
  const capability = capabilityStatement({
    date: opts.capabilityDate ?? new Date().toISOString(),
    ...(opts.software ? { software: opts.software } : {}),
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
  });
  const rest = patientRest(env);
  const queries = patientQueries(env);
  const subscriptions = subscriptionRest(env);

  return async (request, context) => {
    const url = new URL(request.url);
    const { route, id, versionId } = routeOf(url.pathname, basePath);
    const baseUrl = opts.baseUrl ?? `${url.origin}${basePath}`;
    try {
      if (route === 'unknown') throw new FhirError(404, [errorIssue('not-found', 'no such FHIR endpoint')]);
      if (!ALLOWED[route].includes(request.method)) return methodNotAllowed(ALLOWED[route]);
      checkAcceptable(request, url);
      checkParameters(url.searchParams);
      if (request.method === 'POST' || request.method === 'PUT') await r4DefinitionsLoading();
      switch (route) {
        case 'metadata':
          return fhirJson(200, capability);
        case 'match':
          return await queries.match(request, context, baseUrl);
        case 'pix':
          return await queries.pix(url.searchParams, context, baseUrl);
        case 'patient-search':
          return await queries.search(
            checkParameters(new URLSearchParams(await readText(request, env.maxBodyBytes, 'form'))),
            context,
            baseUrl,
          );
        case 'patient':
          if (request.method === 'GET') return await queries.search(url.searchParams, context, baseUrl);
          if (request.method === 'PUT') return await rest.conditionalUpdate(request, url.searchParams, context, baseUrl);
          return await rest.create(request, context, baseUrl);
        case 'patient-instance':
          if (request.method === 'GET') return await rest.read(id as string, context, baseUrl);
          if (request.method === 'DELETE') return await rest.remove(request, id as string, context);
          return await rest.update(request, id as string, context, baseUrl);
        case 'patient-history':
          return await rest.history(id as string, context, baseUrl);
        case 'patient-version':
          return await rest.vread(id as string, versionId as string, context, baseUrl);
        case 'subscription':
          return await subscriptions.create(request, context, baseUrl);
        case 'subscription-instance':
          if (request.method === 'GET') return await subscriptions.read(id as string, context);
          return await subscriptions.remove(id as string, context);
      }
    } catch (error) {
      return errorResponse(error, (e) => opts.onError?.(e, { method: request.method, route }));
    }
  };
}

function routeOf(pathname: string, basePath: string): { route: Route; id?: string; versionId?: string } {
  if (!pathname.startsWith(`${basePath}/`)) return { route: 'unknown' };
  let parts: string[];
  try {
    parts = pathname
      .slice(basePath.length + 1)
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
  } catch {
    return { route: 'unknown' };
  }
  if (parts.length === 1 && parts[0] === 'metadata') return { route: 'metadata' };
  if (parts[0] === 'Subscription' && parts.length <= 2) {
    return parts.length === 1 ? { route: 'subscription' } : { route: 'subscription-instance', id: parts[1] as string };
  }
  if (parts[0] !== 'Patient') return { route: 'unknown' };
  const [, id, history, versionId] = parts as [string, string?, string?, string?];
  if (id === undefined) return { route: 'patient' };
  if (parts.length === 2 && id === '$match') return { route: 'match' };
  if (parts.length === 2 && id === '$ihe-pix') return { route: 'pix' };
  if (parts.length === 2 && id === '_search') return { route: 'patient-search' };
  if (parts.length === 2) return { route: 'patient-instance', id };
  if (history !== '_history') return { route: 'unknown' };
  if (parts.length === 3) return { route: 'patient-history', id };
  if (parts.length === 4) return { route: 'patient-version', id, versionId: versionId as string };
  return { route: 'unknown' };
}

/** 406 when the client asks only for formats we do not serve (XML, Turtle...). */
function checkAcceptable(request: Request, url: URL): void {
  const format = url.searchParams.get('_format');
  const wanted =
    format !== null
      ? [format]
      : (request.headers.get('accept') ?? '')
          .split(',')
          .map((t) => t.split(';')[0]!.trim())
          .filter((t) => t !== '');
  if (wanted.length > 0 && !wanted.some((t) => JSON_TYPES.test(t))) {
    throw new FhirError(406, [errorIssue('not-supported', 'only application/fhir+json is served')]);
  }
}

const PORT_ERROR_STATUS: Record<PortErrorCode, { status: number; code: IssueType }> = {
  UNKNOWN_SOURCE: { status: 422, code: 'business-rule' },
  NOT_FOUND: { status: 404, code: 'not-found' },
  VALIDATION_FAILED: { status: 422, code: 'value' },
  CONFLICT: { status: 409, code: 'conflict' },
  FORBIDDEN: { status: 403, code: 'forbidden' },
  UNAUTHENTICATED: { status: 401, code: 'security' },
  PRECONDITION_FAILED: { status: 412, code: 'conflict' },
  GONE: { status: 410, code: 'deleted' },
};

/** Canonical field -> the Patient element it came from, to point port validation errors at FHIR paths. */
const FIELD_PATH: Record<string, string> = {
  givenName: 'Patient.name.given',
  middleName: 'Patient.name.given',
  familyName: 'Patient.name.family',
  suffix: 'Patient.name.suffix',
  sex: 'Patient.gender',
  birthDate: 'Patient.birthDate',
  ssn: 'Patient.identifier',
  phone: 'Patient.telecom',
  email: 'Patient.telecom',
  addressLine1: 'Patient.address.line',
  addressLine2: 'Patient.address.line',
  city: 'Patient.address.city',
  state: 'Patient.address.state',
  postalCode: 'Patient.address.postalCode',
  source: 'Patient.identifier',
  localId: 'Patient.identifier',
  id: 'Patient.id',
};

/** Query (or `_search` form) parameters whose characters cannot be searched for are the client's error: 400. */
function checkParameters(params: URLSearchParams): URLSearchParams {
  for (const [name, value] of params) {
    const problem = stringProblem(name) ?? stringProblem(value);
    if (problem) throw new FhirError(400, [errorIssue('value', `search parameter ${problem}`, stringProblem(name) ? undefined : name)]);
  }
  return params;
}

function errorResponse(error: unknown, report: (error: unknown) => void): Response {
  if (error instanceof FhirError) return fhirJson(error.status, error.toOperationOutcome());
  // The database went away mid-request (restart, failover, a terminated session): retryable, not the server's bug.
  if (isConnectionFailure(error)) return databaseUnavailable();
  if (isPortError(error)) {
    const { status, code } = PORT_ERROR_STATUS[error.code];
    const problems = problemsOf(error);
    const issues =
      problems.length === 0 || error.code === 'PRECONDITION_FAILED'
        ? [errorIssue(code, error.message)]
        : problems.map((p) => errorIssue(code, p.message, FIELD_PATH[p.field] ?? `Patient.${p.field}`));
    return fhirJson(status, operationOutcome(issues));
  }
  report(error);
  return fhirJson(500, operationOutcome([{ severity: 'fatal', code: 'exception', diagnostics: 'internal error' }]));
}

/** 503 with Retry-After: the request changed nothing it reports; the client may send it again shortly. */
export function databaseUnavailable(): Response {
  const issue = errorIssue('transient', 'the database is unavailable; retry shortly');
  return fhirJson(503, operationOutcome([issue]), { 'Retry-After': '1' });
}

function methodNotAllowed(allowed: string[]): Response {
  const outcome = operationOutcome([errorIssue('not-supported', `method not allowed; use ${allowed.join(', ')}`)]);
  return fhirJson(405, outcome, { Allow: allowed.join(', ') });
}

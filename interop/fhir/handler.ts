import { isPortError, problemsOf, type InteropPort, type PortErrorCode } from '../ports.ts';
import { capabilityStatement } from './capability.ts';
import { DEFAULT_IDENTITY_SYSTEMS, identityToPatient, type IdentitySystems } from './identity-to-patient.ts';
import { matchBundle, parseMatchParameters } from './match.ts';
import { errorIssue, FhirError, operationOutcome } from './operation-outcome.ts';
import { parsePatient } from './patient-schema.ts';
import { patientToRecord, resolveSourceIdentifier } from './patient-to-record.ts';
import type { IssueType, OperationOutcomeIssue } from './types.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

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

type Route = 'metadata' | 'patient' | 'patient-instance' | 'match' | 'unknown';

const ALLOWED: Record<Exclude<Route, 'unknown'>, string[]> = {
  metadata: ['GET'],
  patient: ['POST'],
  'patient-instance': ['GET', 'PUT'],
  match: ['POST'],
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * HTTP handler for the FHIR R4 endpoints: `GET metadata`, `POST Patient`, `PUT Patient/{id}`,
 * `GET Patient/{id}` and `POST Patient/$match`. Authentication and audit belong to the caller.
 */
export function createFhirHandler<C>(port: InteropPort<C>, opts: FhirHandlerOptions = {}): FhirHandler<C> {
  const basePath = (opts.basePath ?? '/fhir').replace(/\/+$/, '');
  const systems = opts.systems ?? DEFAULT_IDENTITY_SYSTEMS;
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const capability = capabilityStatement({
    date: opts.capabilityDate ?? new Date().toISOString(),
    ...(opts.software ? { software: opts.software } : {}),
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
  });

  return async (request, context) => {
    const url = new URL(request.url);
    const { route, id } = routeOf(url.pathname, basePath);
    const baseUrl = opts.baseUrl ?? `${url.origin}${basePath}`;
    try {
      if (route === 'unknown') throw new FhirError(404, [errorIssue('not-found', 'no such FHIR endpoint')]);
      if (!ALLOWED[route].includes(request.method)) return methodNotAllowed(ALLOWED[route]);
      switch (route) {
        case 'metadata':
          return fhirJson(200, capability);
        case 'match':
          return await runMatch(await readJson(request, maxBodyBytes), context, baseUrl);
        case 'patient':
          return await ingestPatient(request, context, baseUrl, undefined);
        case 'patient-instance':
          return request.method === 'GET' ? await readPatient(id as string, context) : await ingestPatient(request, context, baseUrl, id);
      }
    } catch (error) {
      return errorResponse(error, (e) => opts.onError?.(e, { method: request.method, route }));
    }
  };

  async function ingestPatient(request: Request, context: C, baseUrl: string, pathId: string | undefined): Promise<Response> {
    if (pathId !== undefined && !FHIR_ID.test(pathId)) throw new FhirError(400, [errorIssue('value', 'not a valid resource id', 'Patient.id')]);
    const body = await readJson(request, maxBodyBytes);
    const parsed = parsePatient(body);
    if (!parsed.ok) throw new FhirError(400, parsed.issues);
    const patient = parsed.value;
    if (pathId !== undefined && patient.id !== undefined && patient.id !== pathId) {
      throw new FhirError(400, [errorIssue('invalid', 'resource id must match the id in the URL', 'Patient.id')]);
    }
    const { record, issues } = patientToRecord(patient);
    const source = await resolveSourceIdentifier(patient, (system) => port.sourceForSystem(context, system), {
      ...(pathId !== undefined ? { localId: pathId } : {}),
    });
    if (!source.ok) throw new FhirError(source.status, [...source.issues, ...issues]);
    if (issues.length > 0) throw new FhirError(422, issues);

    const result = await port.ingest(context, { ...record, ...source.ref });
    const location = `${baseUrl}/Patient/${result.identityId}`;
    const headers = { Location: location, 'X-Mpi-Ingest-Outcome': result.outcome, 'X-Mpi-Record-Id': result.recordId };
    const status = result.outcome === 'CREATED' ? 201 : 200;
    const prefer = request.headers.get('prefer') ?? '';
    if (/return=minimal/.test(prefer)) return new Response(null, { status, headers });
    if (/return=OperationOutcome/i.test(prefer)) {
      const info: OperationOutcomeIssue = { severity: 'information', code: 'informational', diagnostics: `ingest outcome ${result.outcome}` };
      return fhirJson(status, operationOutcome([info]), headers);
    }
    const view = await port.getIdentity(context, result.identityId);
    if (!view) throw new Error('identity returned by ingest could not be read');
    return fhirJson(status, identityToPatient(view, systems), headers);
  }

  async function readPatient(id: string, context: C): Promise<Response> {
    if (!FHIR_ID.test(id)) throw new FhirError(400, [errorIssue('value', 'not a valid resource id', 'Patient.id')]);
    const view = await port.getIdentity(context, id);
    if (!view) throw new FhirError(404, [errorIssue('not-found', 'no Patient with this id')]);
    return fhirJson(200, identityToPatient(view, systems), { 'Last-Modified': new Date(view.updatedAt).toUTCString() });
  }

  async function runMatch(body: unknown, context: C, baseUrl: string): Promise<Response> {
    const parsed = parseMatchParameters(body);
    if (!parsed.ok) throw new FhirError(400, parsed.issues);
    const { record, onlyCertainMatches } = parsed.value;
    const count = Math.min(parsed.value.count ?? opts.defaultMatchCount ?? 10, opts.maxMatchCount ?? 100);
    const candidates = await port.match(context, record, { count, onlyCertain: onlyCertainMatches });
    return fhirJson(200, matchBundle(candidates, { onlyCertainMatches, count }, { baseUrl, systems }));
  }
}

function routeOf(pathname: string, basePath: string): { route: Route; id?: string } {
  if (!pathname.startsWith(`${basePath}/`)) return { route: 'unknown' };
  let parts: string[];
  try {
    parts = pathname.slice(basePath.length + 1).split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  } catch {
    return { route: 'unknown' };
  }
  if (parts.length === 1 && parts[0] === 'metadata') return { route: 'metadata' };
  if (parts[0] !== 'Patient') return { route: 'unknown' };
  if (parts.length === 1) return { route: 'patient' };
  if (parts.length === 2 && parts[1] === '$match') return { route: 'match' };
  if (parts.length === 2) return { route: 'patient-instance', id: parts[1] as string };
  return { route: 'unknown' };
}

/** Reads a JSON body of at most `maxBytes`, without ever quoting it back. */
async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type');
  if (type !== null && !/^application\/(fhir\+)?json\b/i.test(type)) {
    throw new FhirError(415, [errorIssue('not-supported', 'content type must be application/fhir+json')]);
  }
  const tooLarge = () => new FhirError(413, [errorIssue('too-long', `request body exceeds ${maxBytes} bytes`)]);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      total += next.value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(next.value);
    }
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  try {
    return JSON.parse(text);
  } catch {
    throw new FhirError(400, [errorIssue('structure', 'request body is not valid JSON')]);
  }
}

const PORT_ERROR_STATUS: Record<PortErrorCode, { status: number; code: IssueType }> = {
  UNKNOWN_SOURCE: { status: 422, code: 'business-rule' },
  NOT_FOUND: { status: 404, code: 'not-found' },
  VALIDATION_FAILED: { status: 422, code: 'value' },
  CONFLICT: { status: 409, code: 'conflict' },
  FORBIDDEN: { status: 403, code: 'forbidden' },
  UNAUTHENTICATED: { status: 401, code: 'security' },
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
};

function errorResponse(error: unknown, report: (error: unknown) => void): Response {
  if (error instanceof FhirError) return fhirJson(error.status, error.toOperationOutcome());
  if (isPortError(error)) {
    const { status, code } = PORT_ERROR_STATUS[error.code];
    const problems = problemsOf(error);
    const issues = problems.length === 0
      ? [errorIssue(code, error.message)]
      : problems.map((p) => errorIssue(code, p.message, FIELD_PATH[p.field] ?? `Patient.${p.field}`));
    return fhirJson(status, operationOutcome(issues));
  }
  report(error);
  return fhirJson(500, operationOutcome([{ severity: 'fatal', code: 'exception', diagnostics: 'internal error' }]));
}

function methodNotAllowed(allowed: string[]): Response {
  const outcome = operationOutcome([errorIssue('not-supported', `method not allowed; use ${allowed.join(', ')}`)]);
  return fhirJson(405, outcome, { Allow: allowed.join(', ') });
}

function fhirJson(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': FHIR_JSON, ...headers } });
}

import type { PatientVersion, PatientWriteResult, SourceRef } from '../ports.ts';
import type { FhirEnv } from './handler.ts';
import { fhirJson, readJson } from './http-io.ts';
import { identityToPatient } from './identity-to-patient.ts';
import { errorIssue, FhirError, operationOutcome } from './operation-outcome.ts';
import { parsePatient, type FhirPatientInput } from './patient-schema.ts';
import { patientToRecord, resolveSourceIdentifier } from './patient-to-record.ts';
import { parseTokenParam } from './patient-search.ts';
import { REDACTED, sourcePatient, withoutServerElements } from './source-patient.ts';
import type { OperationOutcomeIssue } from './types.ts';
import { validateR4 } from './validate.ts';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The RESTful interactions on Patient (hl7.org/fhir/R4/http.html): create (with `If-None-Exist`), read, vread,
 * history, update (with `If-Match`, update-as-create), conditional update by identifier, and delete. A source
 * record's Patient is stored as sent and versioned; a golden identity is read-only.
 */
export function patientRest<C>(env: FhirEnv<C>) {
  const { port, systems } = env;

  /** Validates the body, maps it to canonical fields and finds its source identifier. */
  async function parseWrite(request: Request, context: C, hint: string | undefined) {
    const body = await readJson(request, env.maxBodyBytes);
    if ((body as { resourceType?: unknown } | null)?.resourceType !== 'Patient') {
      throw new FhirError(400, [errorIssue('invalid', 'resourceType must be Patient', 'Patient.resourceType')]);
    }
    const structural = validateR4(body);
    if (structural.length > 0) throw new FhirError(400, structural);
    if (isRedacted(body)) {
      throw new FhirError(422, [
        errorIssue(
          'business-rule',
          'this Patient was read with its demographics masked (security label REDACTED) and cannot be written back; send the real values without the label',
          'Patient.meta.security',
        ),
      ]);
    }
    const parsed = parsePatient(body);
    if (!parsed.ok) throw new FhirError(400, parsed.issues);
    const patient = parsed.value;
    const { record, issues, warnings } = patientToRecord(patient);
    const lookup = (system: string) => port.sourceForSystem(context, system);
    let source = hint !== undefined ? await resolveSourceIdentifier(patient, lookup, { localId: hint }) : null;
    if (!source?.ok) source = await resolveSourceIdentifier(patient, lookup);
    if (!source.ok) throw new FhirError(source.status, [...source.issues, ...issues]);
    const resource = withoutServerElements(body as Record<string, unknown>);
    const masked = (await port.maskedElements?.(context, source.ref, resource)) ?? [];
    if (masked.length > 0) {
      const says = 'holds the masked form of the stored value (this role reads demographics masked); send the real value';
      throw new FhirError(
        422,
        masked.map((path) => errorIssue('business-rule', says, `Patient.${path}`)),
      );
    }
    if (issues.length > 0) throw new FhirError(422, issues);
    return { patient, record, ref: source.ref, resource, warnings };
  }

  async function write(
    request: Request,
    context: C,
    baseUrl: string,
    id: string | undefined,
    parsed?: Awaited<ReturnType<typeof parseWrite>>,
  ) {
    const input = parsed ?? (await parseWrite(request, context, id));
    const ifMatch = parseIfMatch(request.headers.get('if-match'));
    const result = await port.writePatient(context, {
      ref: input.ref,
      record: input.record,
      resource: input.resource,
      ...(id !== undefined ? { id } : {}),
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    return writeResponse(request, result, baseUrl, input.warnings);
  }

  function writeResponse(request: Request, result: PatientWriteResult, baseUrl: string, warnings: OperationOutcomeIssue[]): Response {
    const { version } = result;
    const headers: Record<string, string> = {
      ...versionHeaders(version, baseUrl),
      'X-Mpi-Ingest-Outcome': result.outcome,
      'X-Mpi-Record-Id': result.recordId,
      'X-Mpi-Identity-Id': result.identityId,
    };
    // Values kept out of matching: in the OperationOutcome (Prefer: return=OperationOutcome) and, for any
    // representation, in a header naming each element and problem (never the value).
    if (warnings.length > 0) headers['X-Mpi-Warning'] = warnings.map((w) => `${w.expression?.join(', ')}: ${w.diagnostics}`).join('; ');
    const status = result.created ? 201 : 200;
    return preferred(request, status, sourcePatient(version, systems), headers, `ingest outcome ${result.outcome}`, warnings);
  }

  return {
    /** POST /Patient, with `If-None-Exist: identifier=system|value` for a conditional create. */
    async create(request: Request, context: C, baseUrl: string): Promise<Response> {
      const condition = request.headers.get('if-none-exist');
      if (condition === null) return write(request, context, baseUrl, undefined);
      const ref = await conditionRef(new URLSearchParams(condition), context, 'If-None-Exist');
      const existing = ref ? await port.patientIdOf(context, ref) : null;
      if (existing === null) return write(request, context, baseUrl, undefined);
      const version = await port.readPatient(context, existing);
      if (!version?.resource) return write(request, context, baseUrl, undefined);
      return preferred(
        request,
        200,
        sourcePatient(version, systems),
        versionHeaders(version, baseUrl),
        'a Patient with this identifier exists',
      );
    },

    /** PUT /Patient/{id}: a new version of that resource, or update-as-create with the client's id. */
    async update(request: Request, id: string, context: C, baseUrl: string): Promise<Response> {
      checkId(id);
      const input = await parseWrite(request, context, id);
      if (input.patient.id === undefined)
        throw new FhirError(400, [errorIssue('required', 'an update needs the resource id in the body', 'Patient.id')]);
      if (input.patient.id !== id)
        throw new FhirError(400, [errorIssue('invalid', 'resource id must match the id in the URL', 'Patient.id')]);
      if (await isGolden(context, id)) throw goldenIsReadOnly();
      return write(request, context, baseUrl, id, input);
    },

    /** PUT /Patient?identifier=system|value: updates the Patient of that source identifier, or creates it. */
    async conditionalUpdate(request: Request, params: URLSearchParams, context: C, baseUrl: string): Promise<Response> {
      const ref = await conditionRef(params, context, 'identifier');
      const input = await parseWrite(request, context, ref?.localId);
      if (!ref || ref.source !== input.ref.source || ref.localId !== input.ref.localId) {
        throw new FhirError(400, [errorIssue('invalid', 'the body must carry the identifier given in the URL', 'Patient.identifier')]);
      }
      const existing = await port.patientIdOf(context, ref);
      const id = existing ?? input.patient.id;
      if (input.patient.id !== undefined && existing !== null && input.patient.id !== existing) {
        throw new FhirError(400, [errorIssue('invalid', 'resource id does not match the Patient found by identifier', 'Patient.id')]);
      }
      return write(request, context, baseUrl, id, input);
    },

    async read(id: string, context: C, baseUrl: string): Promise<Response> {
      checkId(id);
      const version = await port.readPatient(context, id);
      if (version) return versionResponse(version, baseUrl);
      const view = await port.getIdentity(context, id);
      if (!view) throw new FhirError(404, [errorIssue('not-found', 'no Patient with this id')]);
      const golden = identityToPatient(view, systems);
      return fhirJson(200, golden, goldenHeaders(golden));
    },

    async vread(id: string, versionId: string, context: C, baseUrl: string): Promise<Response> {
      checkId(id);
      const vid = parseVersion(versionId);
      const version = await port.readPatient(context, id, vid);
      if (version) return versionResponse(version, baseUrl);
      const view = await port.getIdentity(context, id);
      // The golden record keeps its change history as identity events, not as resource versions: only the current one reads.
      if (!view || view.version !== vid) throw new FhirError(404, [errorIssue('not-found', 'no such version of this Patient')]);
      const golden = identityToPatient(view, systems);
      return fhirJson(200, golden, goldenHeaders(golden));
    },

    async history(id: string, context: C, baseUrl: string): Promise<Response> {
      checkId(id);
      const versions = await port.patientHistory(context, id);
      if (versions.length > 0) return fhirJson(200, historyBundle(versions, baseUrl));
      const view = await port.getIdentity(context, id);
      if (!view) throw new FhirError(404, [errorIssue('not-found', 'no Patient with this id')]);
      const golden = identityToPatient(view, systems);
      return fhirJson(200, {
        resourceType: 'Bundle',
        type: 'history',
        total: 1,
        entry: [
          {
            fullUrl: `${baseUrl}/Patient/${id}`,
            resource: golden,
            request: { method: 'PUT', url: `Patient/${id}` },
            response: { status: '200', lastModified: view.updatedAt },
          },
        ],
      });
    },

    async remove(request: Request, id: string, context: C): Promise<Response> {
      checkId(id);
      if (await isGolden(context, id)) throw goldenIsReadOnly();
      const ifMatch = parseIfMatch(request.headers.get('if-match'));
      const version = await port.deletePatient(context, id, ifMatch);
      const info: OperationOutcomeIssue = {
        severity: 'information',
        code: 'informational',
        diagnostics: 'the Patient and its source record are deleted',
      };
      return fhirJson(200, operationOutcome([info]), { ETag: `W/"${version.versionId}"` });
    },
  };

  async function isGolden(context: C, id: string): Promise<boolean> {
    if ((await port.readPatient(context, id)) !== null) return false;
    return (await port.getIdentity(context, id)) !== null;
  }

  /** The source record named by `identifier=system|value` in a condition, or null when the system is unknown. */
  async function conditionRef(params: URLSearchParams, context: C, where: string): Promise<SourceRef | null> {
    const names = [...new Set(params.keys())];
    const raw = params.getAll('identifier');
    if (raw.length !== 1 || names.length !== 1) {
      throw new FhirError(400, [errorIssue('not-supported', `${where} supports exactly one identifier=system|value`)]);
    }
    const token = parseTokenParam(raw[0]!, 'identifier');
    if (!token.system) throw new FhirError(400, [errorIssue('required', 'identifier needs a system: system|value')]);
    const source = await port.sourceForSystem(context, token.system);
    return source ? { source, localId: token.value } : null;
  }
}

function versionResponse(version: PatientVersion, baseUrl: string): Response {
  const patient = sourcePatient(version);
  if (!patient) throw new FhirError(410, [errorIssue('deleted', 'this Patient was deleted')]);
  return fhirJson(200, patient, versionHeaders(version, baseUrl));
}

function versionHeaders(version: PatientVersion, baseUrl: string): Record<string, string> {
  return {
    Location: `${baseUrl}/Patient/${version.id}/_history/${version.versionId}`,
    ETag: `W/"${version.versionId}"`,
    'Last-Modified': new Date(version.lastUpdated).toUTCString(),
  };
}

function goldenHeaders(golden: ReturnType<typeof identityToPatient>): Record<string, string> {
  return {
    ...(golden.meta?.versionId ? { ETag: `W/"${golden.meta.versionId}"` } : {}),
    ...(golden.meta?.lastUpdated ? { 'Last-Modified': new Date(golden.meta.lastUpdated).toUTCString() } : {}),
  };
}

/** A `history` Bundle (newest first): deleted versions carry no resource, as R4 requires. */
function historyBundle(versions: PatientVersion[], baseUrl: string) {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((v, i) => {
      const resource = sourcePatient(v);
      const method = resource === null ? 'DELETE' : i === versions.length - 1 ? 'POST' : 'PUT';
      return {
        fullUrl: `${baseUrl}/Patient/${v.id}`,
        ...(resource ? { resource } : {}),
        request: { method, url: method === 'POST' ? 'Patient' : `Patient/${v.id}` },
        response: {
          status: resource === null ? '204' : method === 'POST' ? '201' : '200',
          etag: `W/"${v.versionId}"`,
          lastModified: v.lastUpdated,
        },
      };
    }),
  };
}

/** Honours `Prefer: return=minimal | representation | OperationOutcome`. */
function preferred(
  request: Request,
  status: number,
  body: unknown,
  headers: Record<string, string>,
  info: string,
  warnings: OperationOutcomeIssue[] = [],
): Response {
  const prefer = request.headers.get('prefer') ?? '';
  if (/return=minimal/.test(prefer)) return new Response(null, { status, headers });
  if (/return=OperationOutcome/i.test(prefer)) {
    return fhirJson(
      status,
      operationOutcome([{ severity: 'information', code: 'informational', diagnostics: info }, ...warnings]),
      headers,
    );
  }
  return fhirJson(status, body, headers);
}

/** Whether a body carries the label this server puts on masked reads (`meta.security` REDACTED). */
export function isRedacted(body: unknown): boolean {
  const security = (body as { meta?: { security?: unknown } }).meta?.security;
  return Array.isArray(security) && security.some((c) => c?.system === REDACTED.system && c?.code === REDACTED.code);
}

function checkId(id: string): void {
  if (!FHIR_ID.test(id)) throw new FhirError(400, [errorIssue('value', 'not a valid resource id', 'Patient.id')]);
}

function parseVersion(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new FhirError(400, [errorIssue('value', 'not a valid version id')]);
  return Number(value);
}

/** `If-Match: W/"3"` (or `"3"`, `3`) -> 3; absent -> undefined. */
function parseIfMatch(header: string | null): number | undefined {
  if (header === null) return undefined;
  const m = /^\s*(?:W\/)?"?([1-9][0-9]{0,8})"?\s*$/.exec(header);
  if (!m) throw new FhirError(400, [errorIssue('value', 'If-Match must be a version ETag such as W/"1"')]);
  return Number(m[1]);
}

function goldenIsReadOnly(): FhirError {
  return new FhirError(405, [
    errorIssue('not-supported', 'a golden Patient is maintained by the index; write its source Patients instead'),
  ]);
}

export type { FhirPatientInput };

import { isUuid, type SourceRecordInput as ServiceRecordInput } from '../identity/index.ts';
import {
  checkIfMatch,
  PortError,
  type GoldenIdentityView,
  type IdentityViewRow,
  type PatientQuery,
  type PatientSearchResult,
  type PatientVersion,
  type PatientVersionRow,
  type PatientWrite,
  type PatientWriteResult,
  type RecordCriteria,
  type RecordInput,
  type RecordResourceRow,
  type SourceRef,
  US_SSN_SYSTEM,
} from '../interop/index.ts';
import type { InteropContext } from './interop-port.ts';
import { maskedPlaceholders, maskPatientResource } from './fhir-masking.ts';
import { PHI_FIELDS, presentPhi, seesFullPhi } from './masking.ts';
import type { Services } from './services.ts';

/** What the FHIR resource operations need from the port around them. */
export interface ResourceDeps {
  services: Services;
  actor: (ctx: InteropContext) => { actor: string; reason: string | null; requestId: string };
  translated: <T>(run: () => Promise<T>) => Promise<T>;
  view: (ctx: InteropContext, id: string) => Promise<GoldenIdentityView | null>;
  /** An identity read by `identityViews` as the port shows it (masked for the caller's role, noted for audit). */
  toView: (ctx: InteropContext, row: IdentityViewRow) => Promise<GoldenIdentityView>;
  sourceForSystem: (ctx: InteropContext, system: string) => Promise<string | null>;
}

/**
 * Ingests a source record and stores its Patient resource as a new version in the same transaction. The
 * version check of `If-Match` runs inside it, after the record's lock, so two writers cannot both pass it.
 */
export async function writePatient(deps: ResourceDeps, ctx: InteropContext, write: PatientWrite): Promise<PatientWriteResult> {
  const { services } = deps;
  let stored: { row: PatientVersionRow; created: boolean } | null = null;
  const input = { ...write.record, ...write.ref } as ServiceRecordInput;
  // Named before the write, so the entry written inside its transaction lists the fields it wrote.
  for (const f of PHI_FIELDS) if (write.record[f]) ctx.fields.add(f);
  const result = await deps.translated(() =>
    services.ingest.ingest(input, deps.actor(ctx), {
      // Sent with the record write, under the record's lock: one round trip fewer than a step of its own.
      withRecords: async (tx, [record]) => {
        stored = await services.patientResources.storeVersion(tx, write, record!.recordId, record!.existed);
      },
    }),
  );
  const { row, created } = stored as unknown as { row: PatientVersionRow; created: boolean };
  ctx.audit.wrote = true;
  ctx.audit.touch('record', result.recordId);
  ctx.audit.touch('identity', result.identityId);
  const version = toVersion(ctx, row, result.identityId);
  return { version, created, outcome: result.outcome, recordId: result.recordId, identityId: result.identityId };
}

/** Elements of `resource` holding masked forms of the stored values of `ref`, for a caller that reads them masked. */
export async function maskedElements(
  deps: ResourceDeps,
  ctx: InteropContext,
  ref: SourceRef,
  resource: Record<string, unknown>,
): Promise<string[]> {
  if (seesFullPhi(ctx.principal)) return [];
  const stored = await deps.services.patientResources.recordByRef(ref.source, ref.localId);
  return maskedPlaceholders(resource, stored ? { resource: stored.resource, fields: stored.fields } : null);
}

/** The current version of a source record's Patient, or one version of it. */
export async function readPatient(deps: ResourceDeps, ctx: InteropContext, id: string, versionId?: number): Promise<PatientVersion | null> {
  const resources = deps.services.patientResources;
  const row = await resources.record(id);
  if (!row) return null;
  noteRead(ctx, row);
  if (versionId === undefined) return rowToVersion(ctx, row, id);
  if (row.resource_id === null) return versionId === 1 ? rowToVersion(ctx, row, id) : null;
  const stored = await resources.version(row.resource_id, versionId);
  return stored ? toVersion(ctx, stored, row.identity_id) : null;
}

/** Every version, newest first. */
export async function patientHistory(deps: ResourceDeps, ctx: InteropContext, id: string): Promise<PatientVersion[]> {
  const resources = deps.services.patientResources;
  const row = await resources.record(id);
  if (!row) return [];
  noteRead(ctx, row);
  if (row.resource_id === null) return [rowToVersion(ctx, row, id)];
  const versions = (await resources.history(row.resource_id)).map((v) => toVersion(ctx, v, row.identity_id));
  // A record deleted by HL7 after its last FHIR write still reads as deleted.
  if (row.deleted && versions[0]?.resource) versions[0] = { ...versions[0], resource: null };
  return versions;
}

export async function patientIdOf(deps: ResourceDeps, ref: SourceRef): Promise<string | null> {
  const row = await deps.services.patientResources.recordByRef(ref.source, ref.localId);
  return row ? (row.resource_id ?? row.record_id) : null;
}

/** Soft-deletes the record and appends a deletion version, in one transaction. */
export async function deletePatient(deps: ResourceDeps, ctx: InteropContext, id: string, ifMatch?: number): Promise<PatientVersion> {
  const resources = deps.services.patientResources;
  const row = await resources.record(id);
  if (!row) throw new PortError('NOT_FOUND', 'no Patient with this id', 'id');
  ctx.audit.touch('record', row.record_id);
  const current = row.version_id ?? 1;
  if (row.deleted) return rowToVersion(ctx, row, id);
  checkIfMatch(ifMatch, current);
  let stored: PatientVersionRow | null = null;
  const done = await deps.translated(() =>
    deps.services.ingest.deleteRecord(row.source_code, row.local_id, deps.actor(ctx), {
      beforeCommit: async (tx, { recordId }) => {
        stored = await resources.appendDeletion(tx, { id: row.resource_id ?? row.record_id, recordId, current });
      },
    }),
  );
  ctx.audit.wrote = true;
  if (done.identityId) ctx.audit.touch('identity', done.identityId);
  return toVersion(ctx, stored as unknown as PatientVersionRow, done.identityId);
}

/**
 * PDQm search, one statement per page. Source Patients match on their record's canonical fields; a golden
 * Patient matches when any of its records does. With both kinds, the source Patients come first, then the golden ones.
 */
export async function searchPatients(deps: ResourceDeps, ctx: InteropContext, query: PatientQuery): Promise<PatientSearchResult> {
  const criteria = await toCriteria(deps, ctx, query);
  if (criteria === null) return { hits: [], more: false };
  const page = await deps.services.patientResources.searchPage(criteria, query.kind, query.count, query.offset);
  const hits: PatientSearchResult['hits'] = [];
  for (const row of page.records) {
    noteRead(ctx, row);
    hits.push({ kind: 'source', version: rowToVersion(ctx, row, row.resource_id ?? row.record_id) });
  }
  for (const row of page.identities) {
    const identity = await deps.toView(ctx, row);
    if (query.active === undefined || (identity.status === 'ACTIVE') === query.active) hits.push({ kind: 'golden', identity });
  }
  return { hits, more: page.more };
}

/** Turns PDQm parameters into record criteria; null when they cannot match anything (an unknown system). */
async function toCriteria(deps: ResourceDeps, ctx: InteropContext, q: PatientQuery): Promise<RecordCriteria | null> {
  const c: RecordCriteria = {};
  // A caller who sees demographics masked may look a patient up by whole values (audited, rate-limited), but not
  // spell out what the mask hides: no name, postal code or phone prefixes, and no birth month without the day.
  if (!seesFullPhi(ctx.principal)) {
    c.wholeValuesOnly = true;
    if (q.birthDate?.length === 7) {
      throw new PortError('FORBIDDEN', 'birthdate: this role sees birth dates masked; search by a full date or a year', 'birthdate');
    }
  }
  if (q.family) c.family = q.family;
  if (q.given) c.given = q.given;
  if (q.name) c.name = q.name;
  if (q.birthDate) c.birthDate = q.birthDate;
  if (q.sex) c.sex = q.sex;
  if (q.postalCode) c.postalCode = q.postalCode;
  if (q.telecom) {
    if (q.telecom.includes('@')) c.email = q.telecom;
    else c.phoneDigits = q.telecom.replace(/\D/g, '');
  }
  if (q.identifier) {
    const { system, value } = q.identifier;
    if (system === US_SSN_SYSTEM) c.ssn = value.replace(/\D/g, '');
    else {
      if (system) {
        const source = await deps.sourceForSystem(ctx, system);
        if (!source) return null;
        c.source = source;
      }
      c.localId = value;
    }
  }
  // Identity ids are UUIDs: any other value names no identity (and must not reach the uuid column as a query).
  if (q.identityId) {
    if (!isUuid(q.identityId)) return null;
    c.identityIds = [q.identityId];
  }
  if (q.active === false && q.kind === 'source') return null;
  if (q.id) {
    const row = await deps.services.patientResources.record(q.id);
    if (q.kind === 'source') c.recordIds = row ? [row.record_id] : [];
    else if (row && q.kind !== 'golden') c.recordIds = [row.record_id];
    else if (!isUuid(q.id)) return null;
    else if (q.kind === 'golden') c.identityIds = [q.id];
    else c.identityIds = [...(c.identityIds ?? []), q.id];
  }
  return c;
}

function noteRead(ctx: InteropContext, row: RecordResourceRow): void {
  ctx.audit.touch('record', row.record_id);
  for (const f of PHI_FIELDS) if (row.fields[f]) ctx.fields.add(f);
}

/** A record row as a version: the latest stored resource, else its canonical fields as version 1. */
function rowToVersion(ctx: InteropContext, row: RecordResourceRow, id: string): PatientVersion {
  const identityId = row.identity_id;
  if (row.resource_id !== null && row.version_id !== null) {
    const version = toVersion(
      ctx,
      {
        id: row.resource_id,
        versionId: row.version_id,
        recordId: row.record_id,
        resource: row.resource,
        recordedAt: new Date(row.recorded_at ?? row.updated_at),
      },
      identityId,
    );
    return row.deleted ? { ...version, resource: null } : version;
  }
  const record: RecordInput = {};
  for (const field of PHI_FIELDS) record[field] = presentPhi(ctx, field, row.fields[field] ?? null);
  return {
    id,
    versionId: 1,
    lastUpdated: new Date(row.updated_at).toISOString(),
    identityId,
    resource: row.deleted ? null : {},
    canonical: { ref: { source: row.source_code, localId: row.local_id, system: row.source_system }, record },
    ...(seesFullPhi(ctx.principal) ? {} : { masked: true }),
  };
}

function toVersion(ctx: InteropContext, row: PatientVersionRow, identityId: string | null): PatientVersion {
  const full = seesFullPhi(ctx.principal);
  const resource = row.resource === null ? null : full ? row.resource : maskPatientResource(row.resource);
  return {
    id: row.id,
    versionId: row.versionId,
    lastUpdated: new Date(row.recordedAt).toISOString(),
    resource,
    identityId,
    ...(full ? {} : { masked: true }),
  };
}

import type { AuditRow } from '../platform/audit.ts';

/** Code systems used by FHIR R4 AuditEvent (hl7.org/fhir/R4/auditevent.html). */
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** Identifier systems for our own ids. */
export const SOURCE_RECORD_SYSTEM = 'urn:mpi:source-record';
export const REQUEST_ID_SYSTEM = 'urn:mpi:request-id';
export const AUDIT_HASH_EXTENSION = 'urn:mpi:audit-hash';

export type FhirResource = Record<string, unknown> & { resourceType: string };

/** AuditEvent.action: C create, R read, U update, D delete, E execute (from `kind:operation`, e.g. fhir:read). */
function actionCode(action: string): 'C' | 'R' | 'U' | 'D' | 'E' {
  const [kind, operation = ''] = action.split(':');
  if (kind === 'authenticate') return 'E';
  if (/^(ingest|create|register)/i.test(operation)) return 'C';
  if (/^delete/i.test(operation)) return 'D';
  if (kind === 'query' || /^(read|search)/i.test(operation)) return 'R';
  if (kind === 'mutation' || /^(merge|unlink|update)/i.test(operation)) return 'U';
  return 'E';
}

/** AuditEvent.outcome: 0 success (an empty search too), 4 minor failure (refused, or an unknown id), 8 serious failure. */
function outcomeCode(outcome: string): '0' | '4' | '8' {
  if (outcome === 'SUCCESS' || outcome === 'EMPTY') return '0';
  return outcome === 'DENIED' || outcome === 'NOT_FOUND' ? '4' : '8';
}

/** The event type: DICOM "Patient Record" for patient data, "User Authentication" for a refused credential. */
function eventType(action: string): Record<string, string> {
  if (action === 'authenticate') return { system: DCM, code: '110114', display: 'User Authentication' };
  return { system: DCM, code: '110110', display: 'Patient Record' };
}

/** One touched object: an identity is the FHIR Patient of the same id; a source record is identified by its id. */
function entity(objectId: string): Record<string, unknown> {
  const separator = objectId.indexOf(':');
  const type = objectId.slice(0, separator);
  const id = objectId.slice(separator + 1);
  if (type === 'identity') {
    return {
      what: { reference: `Patient/${id}` },
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    };
  }
  return {
    what: { identifier: { system: type === 'record' ? SOURCE_RECORD_SYSTEM : `urn:mpi:${type}`, value: id } },
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
  };
}

/**
 * An audit entry as a FHIR R4 AuditEvent: who (agent with role and network address), what (the operation,
 * the identities as Patient references, the record ids), when, the outcome, and the fields returned. The entry's
 * chain hash travels along so an exported copy can be checked against the trail.
 */
export function toFhirAuditEvent(row: AuditRow): FhirResource {
  const [kind = 'query'] = row.action.split(':');
  return {
    resourceType: 'AuditEvent',
    id: String(row.id),
    extension: [{ url: AUDIT_HASH_EXTENSION, valueString: row.hash }],
    type: kind === 'authenticate' ? eventType(row.action) : { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'urn:mpi:operation', code: row.action }, eventType(row.action)],
    action: actionCode(row.action),
    recorded: row.at.toISOString(),
    outcome: outcomeCode(row.outcome),
    ...(row.outcome === 'SUCCESS' || row.outcome === 'EMPTY'
      ? {}
      : { outcomeDesc: [row.outcome, ...((row.details.errorCodes as string[] | undefined) ?? [])].join(' ') }),
    agent: [
      {
        type: { coding: [{ system: PARTICIPATION_TYPE, code: 'IRCP', display: 'information recipient' }] },
        who: { display: row.actor },
        role: row.role
          .split(',')
          .filter((r) => r !== 'none')
          .map((r) => ({ coding: [{ system: 'urn:mpi:role', code: r }] })),
        requestor: true,
        ...(row.clientAddress ? { network: { address: row.clientAddress, type: '2' } } : {}),
      },
    ],
    source: {
      observer: { display: 'mpi' },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity: [
      ...row.objectIds.map(entity),
      ...(row.requestId
        ? [
            {
              what: { identifier: { system: REQUEST_ID_SYSTEM, value: row.requestId } },
              type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
            },
          ]
        : []),
      ...(row.fields.length > 0 ? [{ name: 'fields', detail: [{ type: 'fields', valueString: row.fields.join(',') }] }] : []),
    ],
  };
}

/**
 * A FHIR `searchset` Bundle of AuditEvents. `fullUrl` must be absolute (R4 Bundle rule bdl-8): `baseUrl` is the
 * server's FHIR base, e.g. `https://mpi.example.org/fhir`. No rows means no `entry` (empty arrays are invalid).
 */
export function auditEventBundle(rows: AuditRow[], baseUrl: string): FhirResource {
  const entry = rows.map((row) => ({ fullUrl: `${baseUrl}/AuditEvent/${row.id}`, resource: toFhirAuditEvent(row) }));
  return { resourceType: 'Bundle', type: 'searchset', ...(entry.length > 0 ? { entry } : {}) };
}

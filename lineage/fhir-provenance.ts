import type { FieldProvenanceRow } from './store.ts';
import type { GoldenField } from './survivorship.ts';

/**
 * A golden field's provenance as a FHIR R4 Provenance resource (https://hl7.org/fhir/R4/provenance.html):
 * target is the golden Patient narrowed to the element by the targetPath extension, the winning source record
 * is the `source` entity, the source system is the author and the index the assembler, `recorded` is when the
 * value took effect, and `policy` names the survivorship policy version and rule.
 */

/** FHIRPath of each golden field in the Patient resource the index serves for an identity. */
export const FHIR_PATIENT_PATHS: Record<GoldenField, string> = {
  givenName: 'Patient.name.given[0]',
  middleName: 'Patient.name.given[1]',
  familyName: 'Patient.name.family',
  suffix: 'Patient.name.suffix',
  sex: 'Patient.gender',
  birthDate: 'Patient.birthDate',
  ssn: "Patient.identifier.where(system='http://hl7.org/fhir/sid/us-ssn').value",
  phone: "Patient.telecom.where(system='phone').value",
  email: "Patient.telecom.where(system='email').value",
  addressLine1: 'Patient.address.line[0]',
  addressLine2: 'Patient.address.line[1]',
  city: 'Patient.address.city',
  state: 'Patient.address.state',
  postalCode: 'Patient.address.postalCode',
};

const TARGET_PATH_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/targetPath';
const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';
/**
 * Source records are named by the index's record id, not the source's local id: a local id is often a medical
 * record number, which is PHI, and this resource is meant for governance, where PHI is masked.
 */
const RECORD_SYSTEM = 'urn:mpi:record';
const SOURCE_SYSTEM = 'urn:mpi:source';

export interface FhirProvenanceContext {
  /** The winning record's source; null for a steward override or a field without a value. */
  source: { code: string; name: string } | null;
  /** Whether an earlier row of the same field preceded this one (UPDATE rather than CREATE). */
  hasPredecessor: boolean;
}

interface Coding {
  system: string;
  code: string;
  display?: string;
}

function operation(row: FieldProvenanceRow, hasPredecessor: boolean): Coding {
  if (row.value === null) return { system: DATA_OPERATION, code: 'DELETE', display: 'delete' };
  return hasPredecessor
    ? { system: DATA_OPERATION, code: 'UPDATE', display: 'revise' }
    : { system: DATA_OPERATION, code: 'CREATE', display: 'create' };
}

/** The FHIR R4 Provenance resource of one provenance row of a golden field. */
export function fhirProvenance(row: FieldProvenanceRow, ctx: FhirProvenanceContext): Record<string, unknown> {
  const path = FHIR_PATIENT_PATHS[row.field as GoldenField] ?? `Patient.${row.field}`;
  const source = row.recordId ? ctx.source : null;
  const agents: Array<Record<string, unknown>> = [];
  if (source) {
    agents.push({
      type: { coding: [{ system: PARTICIPANT_TYPE, code: 'author', display: 'Author' }] },
      who: { identifier: { system: SOURCE_SYSTEM, value: source.code }, display: source.name },
    });
  }
  agents.push({
    type: { coding: [{ system: PARTICIPANT_TYPE, code: 'assembler', display: 'Assembler' }] },
    who: { display: 'master patient index survivorship' },
  });
  return {
    resourceType: 'Provenance',
    id: `golden-field-${row.id}`,
    target: [{ reference: `Patient/${row.identityId}`, extension: [{ url: TARGET_PATH_EXTENSION, valueString: path }] }],
    occurredPeriod: { start: row.validFrom.toISOString(), ...(row.validTo ? { end: row.validTo.toISOString() } : {}) },
    recorded: row.validFrom.toISOString(),
    policy: [`urn:mpi:survivorship-policy:${row.policyVersion}#${row.field}.${row.rule}`],
    activity: { coding: [operation(row, ctx.hasPredecessor)] },
    reason: [{ text: `survivorship rule ${row.rule} (policy version ${row.policyVersion})` }],
    agent: agents,
    ...(row.recordId && source
      ? {
          entity: [
            {
              role: 'source',
              what: {
                type: 'Patient',
                identifier: { system: RECORD_SYSTEM, value: row.recordId },
                display: `record from source ${source.code}`,
              },
            },
          ],
        }
      : {}),
  };
}

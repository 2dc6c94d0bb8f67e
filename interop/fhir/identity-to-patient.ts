import type { GoldenIdentityView, RecordInput } from '../ports.ts';
import { US_SSN_SYSTEM } from './patient-to-record.ts';
import type { AdministrativeGender, ContactPoint, Identifier, Patient } from './types.ts';

export interface IdentitySystems {
  /** Identifier system of the enterprise (golden identity) ID. */
  enterpriseIdSystem: string;
  /** Prefix of the fallback identifier system for a source that has no registered system: prefix + code. */
  sourceSystemPrefix: string;
}

export const DEFAULT_IDENTITY_SYSTEMS: IdentitySystems = {
  enterpriseIdSystem: 'urn:mpi:identity',
  sourceSystemPrefix: 'urn:mpi:source:',
};

const GENDER_BY_SEX: Record<string, AdministrativeGender> = { M: 'male', F: 'female', O: 'other' };

/**
 * The tag that tells golden Patients from source Patients (meta.tag, searchable with `_tag`), as MDM servers
 * such as HAPI's mark their golden records.
 */
export const RECORD_STATUS_SYSTEM = 'urn:mpi:record-status';
export const GOLDEN_TAG = { system: RECORD_STATUS_SYSTEM, code: 'golden', display: 'Golden record' } as const;
export const SOURCE_TAG = { system: RECORD_STATUS_SYSTEM, code: 'source', display: 'Source record' } as const;

/**
 * The golden identity as a Patient tagged golden: enterprise ID and every source identifier, golden
 * demographics, and `link` entries (R4 Patient.link): `seealso` to each source record's own Patient,
 * `replaced-by` on a merged identity, `replaces` on the survivor.
 */
export function identityToPatient(view: GoldenIdentityView, systems: IdentitySystems = DEFAULT_IDENTITY_SYSTEMS): Patient {
  const patient: Patient = {
    resourceType: 'Patient',
    id: view.id,
    meta: {
      ...(view.version !== undefined ? { versionId: String(view.version) } : {}),
      lastUpdated: view.updatedAt,
      tag: [{ ...GOLDEN_TAG }],
    },
    identifier: identifiers(view, systems),
    active: view.status === 'ACTIVE',
    ...demographics(view.golden),
  };
  const links: NonNullable<Patient['link']> = [];
  if (view.status === 'MERGED' && view.mergedInto) {
    links.push({ other: { reference: `Patient/${view.mergedInto}` }, type: 'replaced-by' });
  }
  for (const old of view.replaces) links.push({ other: { reference: `Patient/${old}` }, type: 'replaces' });
  for (const record of view.records)
    if (record.resourceId) links.push({ other: { reference: `Patient/${record.resourceId}` }, type: 'seealso' });
  if (links.length > 0) patient.link = links;
  return patient;
}

/** Canonical fields as Patient elements (name, telecom, gender, birthDate, address); absent fields are left out. */
export function demographics(g: RecordInput): Pick<Patient, 'name' | 'telecom' | 'gender' | 'birthDate' | 'address'> {
  const patient: Pick<Patient, 'name' | 'telecom' | 'gender' | 'birthDate' | 'address'> = {};

  const given = [g.givenName, g.middleName].filter(present);
  if (g.familyName || given.length > 0 || g.suffix) {
    patient.name = [
      {
        use: 'official',
        ...(g.familyName ? { family: g.familyName } : {}),
        ...(given.length > 0 ? { given } : {}),
        ...(g.suffix ? { suffix: [g.suffix] } : {}),
      },
    ];
  }
  const telecom: ContactPoint[] = [];
  if (g.phone) telecom.push({ system: 'phone', value: g.phone });
  if (g.email) telecom.push({ system: 'email', value: g.email });
  if (telecom.length > 0) patient.telecom = telecom;
  const gender = g.sex ? GENDER_BY_SEX[g.sex.toUpperCase()] : undefined;
  if (gender) patient.gender = gender;
  if (g.birthDate) patient.birthDate = g.birthDate;

  const line = [g.addressLine1, g.addressLine2].filter(present);
  if (line.length > 0 || g.city || g.state || g.postalCode) {
    patient.address = [
      {
        use: 'home',
        ...(line.length > 0 ? { line } : {}),
        ...(g.city ? { city: g.city } : {}),
        ...(g.state ? { state: g.state } : {}),
        ...(g.postalCode ? { postalCode: g.postalCode } : {}),
      },
    ];
  }
  return patient;
}

function identifiers(view: GoldenIdentityView, systems: IdentitySystems): Identifier[] {
  const result: Identifier[] = [{ use: 'official', system: systems.enterpriseIdSystem, value: view.id }];
  for (const record of view.records) {
    result.push({
      use: 'usual',
      system: record.system ?? `${systems.sourceSystemPrefix}${record.source}`,
      value: record.localId,
    });
  }
  if (view.golden.ssn) result.push({ system: US_SSN_SYSTEM, value: view.golden.ssn });
  return result;
}

function present(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.length > 0;
}

import { ISO_DATE_REQUIRED } from '../../matching/index.ts';
import type { RecordInput, SourceRef } from '../ports.ts';
import { cleanText as clean, ssnProblem } from '../values.ts';
import { errorIssue, warningIssue } from './operation-outcome.ts';
import type {
  FhirAddressInput,
  FhirContactPointInput,
  FhirHumanNameInput,
  FhirIdentifierInput,
  FhirPatientInput,
} from './patient-schema.ts';
import type { OperationOutcomeIssue } from './types.ts';

/** The US Social Security Number identifier system (hl7.org/fhir/R4/identifier-registry.html). */
export const US_SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * R4 AdministrativeGender -> canonical sex. `unknown` carries no evidence, so it maps to missing. A Map, so a
 * value such as `constructor` (a search parameter is any text) is no code at all.
 */
export const SEX_BY_GENDER: ReadonlyMap<string, string | null> = new Map(
  Object.entries({ male: 'M', female: 'F', other: 'O', unknown: null } satisfies Record<
    NonNullable<FhirPatientInput['gender']>,
    string | null
  >),
);

export interface MappedRecord {
  record: RecordInput;
  /** Problems that make the Patient unusable for us although it is valid FHIR (e.g. a partial birth date). */
  issues: OperationOutcomeIssue[];
  /** Values accepted but kept out of matching (a bad SSN), as every channel does: said, never refused. */
  warnings: OperationOutcomeIssue[];
}

/** Maps a validated Patient's demographics to canonical record fields. */
export function patientToRecord(patient: FhirPatientInput, root = 'Patient'): MappedRecord {
  const issues: OperationOutcomeIssue[] = [];
  const name = pickName(patient.name ?? []);
  const given = name?.given ?? [];
  const address = pickAddress(patient.address ?? []);
  const lines = address?.line ?? [];

  let birthDate: string | null = patient.birthDate ?? null;
  if (birthDate !== null && !FULL_DATE.test(birthDate)) {
    // A partial R4 date (YYYY, YYYY-MM) is no birth date the index can match on: refused in GraphQL's words.
    issues.push(errorIssue('value', ISO_DATE_REQUIRED, `${root}.birthDate`));
    birthDate = null;
  }

  const warnings: OperationOutcomeIssue[] = [];
  let ssn: string | null = null;
  const ssnIndex = (patient.identifier ?? []).findIndex((i) => i.system === US_SSN_SYSTEM && i.value);
  if (ssnIndex >= 0) {
    // Sent on as given: the service keeps a bad SSN out of matching by the normaliser's rule, as for GraphQL.
    ssn = clean(patient.identifier?.[ssnIndex]?.value);
    const problem = ssn === null ? null : ssnProblem(ssn);
    if (problem) warnings.push(warningIssue('value', problem.message, `${root}.identifier[${ssnIndex}].value`));
  }

  const record: RecordInput = {
    givenName: clean(given[0]),
    middleName: clean(given.slice(1).join(' ')),
    familyName: clean(name?.family),
    suffix: clean(name?.suffix?.join(' ')),
    sex: patient.gender ? (SEX_BY_GENDER.get(patient.gender) ?? null) : null,
    birthDate,
    ssn,
    phone: clean(pickContact(patient.telecom ?? [], 'phone')?.value),
    email: clean(pickContact(patient.telecom ?? [], 'email')?.value),
    addressLine1: clean(lines[0]),
    addressLine2: clean(lines.slice(1).join(', ')),
    city: clean(address?.city),
    state: clean(address?.state),
    postalCode: clean(address?.postalCode),
  };
  return { record, issues, warnings };
}

export type SourceResolution = { ok: true; ref: SourceRef; index: number } | { ok: false; status: number; issues: OperationOutcomeIssue[] };

/**
 * Finds the identifier that names this Patient in a registered source: the first one (not the SSN, not `old`)
 * whose system the service maps to a source. With `localId` (PUT /Patient/{id}) only identifiers with that
 * value qualify.
 */
export async function resolveSourceIdentifier(
  patient: FhirPatientInput,
  sourceForSystem: (system: string) => Promise<string | null>,
  opts: { localId?: string; root?: string } = {},
): Promise<SourceResolution> {
  const root = opts.root ?? 'Patient';
  const candidates = (patient.identifier ?? [])
    .map((identifier, index) => ({ identifier, index }))
    .filter(({ identifier }) => isSourceCandidate(identifier))
    .filter(({ identifier }) => opts.localId === undefined || identifier.value?.trim() === opts.localId);
  if (candidates.length === 0) {
    const diagnostics =
      opts.localId === undefined
        ? 'an identifier with both system and value is required'
        : 'no identifier with a system has the id given in the URL as its value';
    return { ok: false, status: 400, issues: [errorIssue('required', diagnostics, `${root}.identifier`)] };
  }
  for (const { identifier, index } of candidates) {
    const source = await sourceForSystem(identifier.system as string);
    if (source !== null) return { ok: true, ref: { source, localId: (identifier.value as string).trim() }, index };
  }
  const issue = errorIssue('business-rule', 'no identifier system is registered as a source', `${root}.identifier`);
  return { ok: false, status: 422, issues: [issue] };
}

/** An identifier that may name the Patient's record: a system and a value, not the SSN, not `old`. */
export function isSourceCandidate(identifier: FhirIdentifierInput): boolean {
  return Boolean(identifier.system && identifier.value?.trim()) && identifier.system !== US_SSN_SYSTEM && identifier.use !== 'old';
}

const NAME_PREFERENCE: Array<FhirHumanNameInput['use']> = ['official', 'usual', undefined, 'temp'];

/** The official name, else the usual one, else one without a use; never old, maiden, nickname or anonymous. */
function pickName(names: FhirHumanNameInput[]): FhirHumanNameInput | undefined {
  for (const use of NAME_PREFERENCE) {
    const found = names.find((n) => n.use === use);
    if (found) return found;
  }
  return undefined;
}

/** The first home address, else the first address without a use. */
function pickAddress(addresses: FhirAddressInput[]): FhirAddressInput | undefined {
  return addresses.find((a) => a.use === 'home') ?? addresses.find((a) => a.use === undefined);
}

const CONTACT_USE_ORDER: Array<FhirContactPointInput['use']> = ['home', 'mobile', undefined, 'work', 'temp'];

/** The preferred current contact of a kind: lowest `rank` first, then home, mobile, unspecified, work, temp. */
function pickContact(points: FhirContactPointInput[], system: 'phone' | 'email'): FhirContactPointInput | undefined {
  const usable = points.filter((p) => p.system === system && p.use !== 'old' && p.value);
  const order = (p: FhirContactPointInput) => [p.rank ?? Number.MAX_SAFE_INTEGER, CONTACT_USE_ORDER.indexOf(p.use)];
  return usable.sort((a, b) => {
    const [ra, ua] = order(a) as [number, number];
    const [rb, ub] = order(b) as [number, number];
    return ra - rb || ua - ub;
  })[0];
}

import type { phiClass } from '../platform/db/schema/index.ts';

export type PhiClass = (typeof phiClass.enumValues)[number];

/** The validity rules of the quality rule library (see `validity-rules.ts`). */
export type ValidityRule = 'birthDate' | 'ssn' | 'phone' | 'email' | 'sex' | 'state' | 'postalCode';

/** How one canonical field of a source record is catalogued and measured. */
export interface CanonicalFieldSpec {
  /** camelCase name, as in the API and the golden record. */
  name: string;
  /** The `source_records` column holding it. */
  column: string;
  dataType: 'string' | 'date' | 'code';
  phiClass: PhiClass;
  /** The golden-record field a source value survives into. */
  goldenField: string;
  glossaryTerms: string[];
  description: string;
  /** Counted in a source's overall completeness: the fields patient matching leans on. */
  core: boolean;
  validity: ValidityRule | null;
}

/** The dataset every source gets on registration: the patient demographics it feeds. */
export const DEFAULT_DATASET = {
  name: 'patients',
  description: 'Patient demographics as this source sends them.',
  tags: ['demographics'],
} as const;

const field = (
  name: string, column: string, phi: PhiClass, terms: string[], description: string,
  options: { dataType?: CanonicalFieldSpec['dataType']; core?: boolean; validity?: ValidityRule } = {},
): CanonicalFieldSpec => ({
  name, column, phiClass: phi, goldenField: name, glossaryTerms: terms, description,
  dataType: options.dataType ?? 'string', core: options.core ?? false, validity: options.validity ?? null,
});

/**
 * The canonical demographic fields. PHI classes follow the HIPAA Safe Harbor identifiers (45 CFR
 * 164.514(b)(2)): names, street address, phone, email and SSN identify a person on their own; birth date, sex,
 * city, state and ZIP code identify in combination (Sweeney: ZIP, birth date and sex single out most people).
 */
export const CANONICAL_FIELD_SPECS: readonly CanonicalFieldSpec[] = [
  field('givenName', 'given_name', 'DIRECT_IDENTIFIER', ['patient name'], 'First given name.', { core: true }),
  field('middleName', 'middle_name', 'DIRECT_IDENTIFIER', ['patient name'], 'Middle name or initial.'),
  field('familyName', 'family_name', 'DIRECT_IDENTIFIER', ['patient name'], 'Family name (surname).', { core: true }),
  field('suffix', 'suffix', 'DIRECT_IDENTIFIER', ['patient name'], 'Generational suffix such as Jr or III.'),
  field('sex', 'sex', 'QUASI_IDENTIFIER', ['administrative sex'], 'Administrative sex code.', { dataType: 'code', core: true, validity: 'sex' }),
  field('birthDate', 'birth_date', 'QUASI_IDENTIFIER', ['date of birth'], 'Date of birth, ISO 8601 (partial dates allowed).', { dataType: 'date', core: true, validity: 'birthDate' }),
  field('ssn', 'ssn', 'DIRECT_IDENTIFIER', ['social security number'], 'US Social Security number.', { validity: 'ssn' }),
  field('phone', 'phone', 'DIRECT_IDENTIFIER', ['telephone number'], 'Primary telephone number.', { core: true, validity: 'phone' }),
  field('email', 'email', 'DIRECT_IDENTIFIER', ['email address'], 'Email address.', { validity: 'email' }),
  field('addressLine1', 'address_line1', 'DIRECT_IDENTIFIER', ['postal address'], 'Street address, first line.', { core: true }),
  field('addressLine2', 'address_line2', 'DIRECT_IDENTIFIER', ['postal address'], 'Street address, second line (unit, suite).'),
  field('city', 'city', 'QUASI_IDENTIFIER', ['postal address'], 'City or locality.'),
  field('state', 'state', 'QUASI_IDENTIFIER', ['postal address'], 'State or territory, USPS code.', { dataType: 'code', validity: 'state' }),
  field('postalCode', 'postal_code', 'QUASI_IDENTIFIER', ['postal address'], 'ZIP code.', { core: true, validity: 'postalCode' }),
];

/** The glossary seeded with the catalog: the business terms the canonical fields map to. */
export const DEFAULT_GLOSSARY: ReadonlyArray<{ term: string; definition: string }> = [
  { term: 'patient name', definition: 'The name a patient is registered under: given, middle and family names and suffix.' },
  { term: 'administrative sex', definition: 'Sex recorded for administrative purposes (HL7 table 0001, FHIR AdministrativeGender).' },
  { term: 'date of birth', definition: 'The calendar date on which the patient was born.' },
  { term: 'social security number', definition: 'The nine-digit number the US Social Security Administration assigns to a person.' },
  { term: 'telephone number', definition: 'A number the patient can be reached on.' },
  { term: 'email address', definition: 'An electronic mail address the patient can be reached at.' },
  { term: 'postal address', definition: 'Where the patient lives: street lines, city, state and ZIP code.' },
  { term: 'enterprise identifier', definition: 'The identity the index assigns to one person across all sources (golden record).' },
  { term: 'duplicate record', definition: 'Two or more identities in the index that belong to the same person (AHIMA).' },
  { term: 'overlay', definition: 'One identity that holds the records of two or more different people (AHIMA).' },
];

/** The canonical field spec by name, or undefined. */
export function canonicalField(name: string): CanonicalFieldSpec | undefined {
  return CANONICAL_FIELD_SPECS.find((f) => f.name === name);
}

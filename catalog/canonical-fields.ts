import {
  CANONICAL_FIELD_DEFINITIONS,
  PHI_CLASSES,
  type CanonicalFieldDefinition,
  type PhiClass,
  type ValidityRule,
} from '../matching/index.ts';
import { phiClass } from '../platform/db/schema/index.ts';

export { PHI_CLASSES };
export type { PhiClass, ValidityRule };
// The catalog column's enum and the canonical fields' PHI classes must be one list: each accepts the other.
const _columnAcceptsEveryClass: ReadonlyArray<(typeof phiClass.enumValues)[number]> = PHI_CLASSES;
const _everyColumnValueIsAClass: readonly PhiClass[] = phiClass.enumValues;

/** How one canonical field of a source record is catalogued and measured (`matching/fields.ts`). */
export interface CanonicalFieldSpec extends Omit<CanonicalFieldDefinition, 'survivorship' | 'validation' | 'glossaryTerms'> {
  glossaryTerms: string[];
  /** The golden-record field a source value survives into. */
  goldenField: string;
}

/** The dataset every source gets on registration: the patient demographics it feeds. */
export const DEFAULT_DATASET = {
  name: 'patients',
  description: 'Patient demographics as this source sends them.',
  tags: ['demographics'],
} as const;

/** The canonical demographic fields as the catalog lists them (PHI classes: see `matching/fields.ts`). */
export const CANONICAL_FIELD_SPECS: readonly CanonicalFieldSpec[] = CANONICAL_FIELD_DEFINITIONS.map((f) => ({
  name: f.name,
  column: f.column,
  dataType: f.dataType,
  phiClass: f.phiClass,
  goldenField: f.name,
  glossaryTerms: [...f.glossaryTerms],
  description: f.description,
  core: f.core,
  validity: f.validity,
}));

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

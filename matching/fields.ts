/**
 * The canonical demographic fields of a patient record, defined once with everything the rest of the service
 * derives from them: the input contract and its validation, the `source_records` columns, the catalog entries
 * and PHI classes, the GraphQL fields, masking and the golden record's default survivorship. Pure data, so the
 * matching core and every layer above it can read it.
 */

/** How identifying a field is on its own (the catalog's PHI classes). */
export const PHI_CLASSES = ['DIRECT_IDENTIFIER', 'QUASI_IDENTIFIER', 'NONE'] as const;
export type PhiClass = (typeof PHI_CLASSES)[number];

/** The survivorship rules a golden field can start with (a steward override is set, never a default). */
export type DefaultSurvivorshipRule = 'SOURCE_PRIORITY' | 'MOST_RECENT' | 'MOST_FREQUENT' | 'MOST_COMPLETE';

/** The validity rules of the quality rule library (`catalog/validity-rules.ts`). */
export type ValidityRule = 'birthDate' | 'ssn' | 'phone' | 'email' | 'sex' | 'state' | 'postalCode';

/** Longest value accepted in any one field: longer input is a feed error, not a name. */
export const MAX_FIELD_LENGTH = 200;

export interface CanonicalFieldDefinition<N extends string = string> {
  /** camelCase name: the input, GraphQL and golden-record field. */
  name: N;
  /** The `source_records` column holding it. */
  column: string;
  dataType: 'string' | 'date' | 'code';
  phiClass: PhiClass;
  /** The golden record's rule for this field under the default policy. */
  survivorship: DefaultSurvivorshipRule;
  /** What an input value must look like: every field is a single line of at most `maxLength` characters. */
  validation: { maxLength: number; format: 'isoDate' | null };
  glossaryTerms: readonly string[];
  description: string;
  /** Counted in a source's overall completeness: the fields patient matching leans on. */
  core: boolean;
  /** The quality library's validity rule for stored values, if any. */
  validity: ValidityRule | null;
}

const field = <N extends string>(
  name: N,
  column: string,
  phiClass: PhiClass,
  survivorship: DefaultSurvivorshipRule,
  glossaryTerms: string[],
  description: string,
  options: { dataType?: CanonicalFieldDefinition['dataType']; core?: boolean; validity?: ValidityRule; format?: 'isoDate' } = {},
): CanonicalFieldDefinition<N> => ({
  name,
  column,
  phiClass,
  survivorship,
  glossaryTerms,
  description,
  validation: { maxLength: MAX_FIELD_LENGTH, format: options.format ?? null },
  dataType: options.dataType ?? 'string',
  core: options.core ?? false,
  validity: options.validity ?? null,
});

/**
 * The fields, in display order.
 *
 * PHI classes follow the HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)): names, street address, phone,
 * email and SSN identify a person on their own; birth date, sex, city, state and ZIP code identify in
 * combination (Sweeney: ZIP, birth date and sex single out most people).
 *
 * Default survivorship: stable identifiers (birth date, sex, SSN) take the value most sources agree on, since
 * one source's typo should not win by trust alone; names follow the most trusted source; contact details and
 * address follow the most recent record, because people move and change numbers.
 */
export const CANONICAL_FIELD_DEFINITIONS = [
  field('givenName', 'given_name', 'DIRECT_IDENTIFIER', 'SOURCE_PRIORITY', ['patient name'], 'First given name.', { core: true }),
  field('middleName', 'middle_name', 'DIRECT_IDENTIFIER', 'MOST_COMPLETE', ['patient name'], 'Middle name or initial.'),
  field('familyName', 'family_name', 'DIRECT_IDENTIFIER', 'SOURCE_PRIORITY', ['patient name'], 'Family name (surname).', { core: true }),
  field('suffix', 'suffix', 'DIRECT_IDENTIFIER', 'SOURCE_PRIORITY', ['patient name'], 'Generational suffix such as Jr or III.'),
  field('sex', 'sex', 'QUASI_IDENTIFIER', 'MOST_FREQUENT', ['administrative sex'], 'Administrative sex code.', {
    dataType: 'code',
    core: true,
    validity: 'sex',
  }),
  field(
    'birthDate',
    'birth_date',
    'QUASI_IDENTIFIER',
    'MOST_FREQUENT',
    ['date of birth'],
    'Date of birth, ISO 8601 (partial dates allowed).',
    { dataType: 'date', core: true, validity: 'birthDate', format: 'isoDate' },
  ),
  field('ssn', 'ssn', 'DIRECT_IDENTIFIER', 'MOST_FREQUENT', ['social security number'], 'US Social Security number.', { validity: 'ssn' }),
  field('phone', 'phone', 'DIRECT_IDENTIFIER', 'MOST_RECENT', ['telephone number'], 'Primary telephone number.', {
    core: true,
    validity: 'phone',
  }),
  field('email', 'email', 'DIRECT_IDENTIFIER', 'MOST_RECENT', ['email address'], 'Email address.', { validity: 'email' }),
  field('addressLine1', 'address_line1', 'DIRECT_IDENTIFIER', 'MOST_RECENT', ['postal address'], 'Street address, first line.', {
    core: true,
  }),
  field(
    'addressLine2',
    'address_line2',
    'DIRECT_IDENTIFIER',
    'MOST_RECENT',
    ['postal address'],
    'Street address, second line (unit, suite).',
  ),
  field('city', 'city', 'QUASI_IDENTIFIER', 'MOST_RECENT', ['postal address'], 'City or locality.'),
  field('state', 'state', 'QUASI_IDENTIFIER', 'MOST_RECENT', ['postal address'], 'State or territory, USPS code.', {
    dataType: 'code',
    validity: 'state',
  }),
  field('postalCode', 'postal_code', 'QUASI_IDENTIFIER', 'MOST_RECENT', ['postal address'], 'ZIP code.', {
    core: true,
    validity: 'postalCode',
  }),
] as const;

/** The canonical field names, in display order. */
export type CanonicalField = (typeof CANONICAL_FIELD_DEFINITIONS)[number]['name'];
export const CANONICAL_FIELDS = CANONICAL_FIELD_DEFINITIONS.map((f) => f.name) as unknown as readonly [CanonicalField, ...CanonicalField[]];

/** The canonical fields of a record; null, undefined or blank means missing. */
export type CanonicalValues = { [F in CanonicalField]?: string | null };

const BY_NAME = new Map<string, CanonicalFieldDefinition<CanonicalField>>(CANONICAL_FIELD_DEFINITIONS.map((f) => [f.name, f]));

/** The definition of a canonical field by name, or undefined for any other name. */
export function canonicalFieldDefinition(name: string): CanonicalFieldDefinition<CanonicalField> | undefined {
  return BY_NAME.get(name);
}

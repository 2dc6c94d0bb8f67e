import { cleanAddressLine, cleanCity, cleanPostalCode, cleanState, splitStreet } from './normalise-address.ts';
import { cleanEmail, cleanPhone, cleanSex, cleanSsn } from './normalise-contact.ts';
import type { CleanValue } from './normalise-contact.ts';
import { cleanBirthDate } from './normalise-date.ts';
import { cleanName, cleanSuffix, firstToken, phoneticCode } from './normalise-name.ts';
import type { FieldIssue } from './normalise-name.ts';
import type { CanonicalField, CanonicalValues } from './fields.ts';

export type { FieldIssue } from './normalise-name.ts';

/**
 * Bumped whenever normalisation output changes, so stored normalised records and blocking keys can be
 * recomputed.
 */
export const NORMALISER_VERSION = 'norm-2026.1';

/** The canonical input fields (`fields.ts`); null, undefined or blank means missing. */
export type RecordInput = CanonicalValues;

export { CANONICAL_FIELDS, type CanonicalField } from './fields.ts';

/**
 * A cleaned record plus the derived values scoring and blocking need. Plain JSON: the identity service stores
 * it and reloads it for scoring.
 */
export interface NormalisedRecord extends Record<Exclude<CanonicalField, 'sex'>, string | null> {
  sex: 'M' | 'F' | null;
  /** ISO date; partial (`YYYY-MM`, `YYYY`) when only part is known. */
  birthDate: string | null;
  /** Double Metaphone of the first given-name token. */
  givenPhonetic: string | null;
  /** Double Metaphone of the whole family name. */
  familyPhonetic: string | null;
  /** House number and street name split from addressLine1. */
  streetNumber: string | null;
  streetName: string | null;
}

export interface NormaliseOptions {
  /** Today's date (ISO), to flag birth dates in the future; the core has no clock of its own. */
  asOf?: string;
}

function takeValue(result: CleanValue, issues: FieldIssue[]): string | null {
  if (result.issue) issues.push(result.issue);
  return result.value;
}

function normaliseNames(input: RecordInput, issues: FieldIssue[]) {
  const given = cleanName(input.givenName, 'given');
  const middle = cleanName(input.middleName, 'middle');
  const family = cleanName(input.familyName, 'family');
  const placeholders: [string, boolean][] = [
    ['givenName', given.placeholder],
    ['middleName', middle.placeholder],
    ['familyName', family.placeholder],
  ];
  for (const [field, placeholder] of placeholders) {
    if (placeholder) issues.push({ field, code: 'PLACEHOLDER', message: `${field} is a placeholder value` });
  }
  const suffix = cleanSuffix(input.suffix) ?? family.suffix ?? given.suffix ?? middle.suffix;
  return { givenName: given.value, middleName: middle.value, familyName: family.value, suffix };
}

/**
 * Cleans one record into canonical form and derives its phonetic codes and street parts. Never throws:
 * invalid or placeholder values become missing and are reported as issues.
 */
export function normaliseRecord(input: RecordInput, options: NormaliseOptions = {}): { record: NormalisedRecord; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const names = normaliseNames(input, issues);
  const birth = cleanBirthDate(input.birthDate, 'birthDate', options.asOf);
  if (birth.issue) issues.push(birth.issue);
  const addressLine1 = cleanAddressLine(input.addressLine1);
  const street = splitStreet(addressLine1);
  // Spelled out field by field (no spread), so every record shares one hidden class.
  const record: NormalisedRecord = {
    givenName: names.givenName,
    middleName: names.middleName,
    familyName: names.familyName,
    suffix: names.suffix,
    sex: takeValue(cleanSex(input.sex), issues) as 'M' | 'F' | null,
    birthDate: birth.value,
    ssn: takeValue(cleanSsn(input.ssn), issues),
    phone: takeValue(cleanPhone(input.phone), issues),
    email: takeValue(cleanEmail(input.email), issues),
    addressLine1,
    addressLine2: cleanAddressLine(input.addressLine2),
    city: cleanCity(input.city),
    state: cleanState(input.state),
    postalCode: cleanPostalCode(input.postalCode),
    givenPhonetic: names.givenName === null ? null : phoneticCode(firstToken(names.givenName)) || null,
    familyPhonetic: names.familyName === null ? null : phoneticCode(names.familyName) || null,
    streetNumber: street.number,
    streetName: street.name,
  };
  return { record, issues };
}

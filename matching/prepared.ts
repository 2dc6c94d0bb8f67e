import type { NormalisedRecord } from './normalise.ts';
import { dateParts } from './normalise-date.ts';
import { firstToken } from './normalise-name.ts';

/**
 * A normalised record plus values derived once so that pairwise comparison allocates nothing. Built from the
 * stored `NormalisedRecord` (never stored itself); the batch linker builds one per record, `scorePair` two.
 */
export interface PreparedRecord extends NormalisedRecord {
  givenFirst: string | null;
  /** Names without spaces, so "smith jones", "smith-jones" and "smithjones" compare equal. */
  givenCompact: string | null;
  familyCompact: string | null;
  middleFirst: string | null;
  /** Family-name tokens when there is more than one (compound or double-barrelled names), else null. */
  familyTokens: string[] | null;
  birthYear: number;
  birthMonth: number;
  birthDay: number;
  /** YYYYMMDD for a full date, null for a partial or missing one. */
  birthDigits: string | null;
  emailLocal: string | null;
}

const compact = (v: string | null) => (v === null ? null : v.indexOf(' ') < 0 ? v : v.replace(/ /g, ''));

/** Derives the comparison-ready view of a normalised record. */
export function prepareRecord(r: NormalisedRecord): PreparedRecord {
  const [birthYear, birthMonth, birthDay] = dateParts(r.birthDate);
  const full = r.birthDate !== null && r.birthDate.length === 10;
  const familyTokens = r.familyName !== null && r.familyName.includes(' ') ? r.familyName.split(' ') : null;
  const at = r.email === null ? -1 : r.email.lastIndexOf('@');
  return {
    givenName: r.givenName,
    middleName: r.middleName,
    familyName: r.familyName,
    suffix: r.suffix,
    sex: r.sex,
    birthDate: r.birthDate,
    ssn: r.ssn,
    phone: r.phone,
    email: r.email,
    addressLine1: r.addressLine1,
    addressLine2: r.addressLine2,
    city: r.city,
    state: r.state,
    postalCode: r.postalCode,
    givenPhonetic: r.givenPhonetic,
    familyPhonetic: r.familyPhonetic,
    streetNumber: r.streetNumber,
    streetName: r.streetName,
    givenFirst: r.givenName === null ? null : firstToken(r.givenName),
    givenCompact: compact(r.givenName),
    familyCompact: compact(r.familyName),
    middleFirst: r.middleName === null ? null : firstToken(r.middleName),
    familyTokens,
    birthYear,
    birthMonth,
    birthDay,
    birthDigits: full ? r.birthDate!.replace(/-/g, '') : null,
    emailLocal: at > 0 ? r.email!.slice(0, at) : null,
  };
}

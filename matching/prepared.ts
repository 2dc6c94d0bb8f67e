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

/** Returns the one shared copy of a string, so equal values compare by reference in the hot loop. */
export type Interner = (value: string | null) => string | null;

/** A string pool for interning (identity when not pooling). */
export function createInterner(): Interner {
  const pool = new Map<string, string>();
  return (value) => {
    if (value === null) return null;
    const hit = pool.get(value);
    if (hit !== undefined) return hit;
    pool.set(value, value);
    return value;
  };
}

const identity: Interner = (v) => v;

const compact = (v: string | null) => (v === null ? null : v.indexOf(' ') < 0 ? v : v.replace(/ /g, ''));

/** Derives the comparison-ready view of a normalised record. */
export function prepareRecord(r: NormalisedRecord, intern: Interner = identity): PreparedRecord {
  const [birthYear, birthMonth, birthDay] = dateParts(r.birthDate);
  const full = r.birthDate !== null && r.birthDate.length === 10;
  const familyTokens = r.familyName !== null && r.familyName.includes(' ') ? r.familyName.split(' ') : null;
  const at = r.email === null ? -1 : r.email.lastIndexOf('@');
  return {
    givenName: intern(r.givenName),
    middleName: intern(r.middleName),
    familyName: intern(r.familyName),
    suffix: intern(r.suffix),
    sex: r.sex,
    birthDate: intern(r.birthDate),
    ssn: r.ssn,
    phone: intern(r.phone),
    email: r.email,
    addressLine1: intern(r.addressLine1),
    addressLine2: intern(r.addressLine2),
    city: intern(r.city),
    state: intern(r.state),
    postalCode: intern(r.postalCode),
    givenPhonetic: intern(r.givenPhonetic),
    familyPhonetic: intern(r.familyPhonetic),
    streetNumber: intern(r.streetNumber),
    streetName: intern(r.streetName),
    givenFirst: intern(r.givenName === null ? null : firstToken(r.givenName)),
    givenCompact: intern(compact(r.givenName)),
    familyCompact: intern(compact(r.familyName)),
    middleFirst: intern(r.middleName === null ? null : firstToken(r.middleName)),
    familyTokens,
    birthYear,
    birthMonth,
    birthDay,
    birthDigits: full ? intern(r.birthDate!.replace(/-/g, '')) : null,
    emailLocal: at > 0 ? r.email!.slice(0, at) : null,
  };
}

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

/**
 * Keeps one instance of each distinct string it is given (`intern`). A batch of a million prepared records holds
 * each person's name, city, postal code, street and birth date many times over (every record of a family, a
 * town, a birth day); one copy of each halves the memory their strings take. Lives as long as one batch.
 */
export class StringPool {
  /** Each pooled value's id: its position in `values`. */
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];

  /** The pool's instance of `value` (added on first sight); null stays null. */
  intern(value: string | null): string | null {
    if (value === null) return null;
    const known = this.ids.get(value);
    if (known !== undefined) return this.values[known]!;
    this.ids.set(value, this.values.length);
    this.values.push(value);
    return value;
  }

  /** The id of a value in the pool (-1 for null); throws for a value never interned. */
  idOf(value: string | null): number {
    if (value === null) return -1;
    const id = this.ids.get(value);
    if (id === undefined) throw new Error('idOf: the value is not in the pool');
    return id;
  }

  /** The pooled values from id `start` on, in id order (the order they were first interned). */
  valuesFrom(start: number): string[] {
    return this.values.slice(start);
  }

  get size(): number {
    return this.values.length;
  }
}

/** Interns nothing: the values as they are. */
const NO_POOL = { intern: (value: string | null) => value };

/** A value derived from a pooled one: most often the value itself (a name of one word), then nothing to look up. */
const pooledPart = (s: Pick<StringPool, 'intern'>, part: string | null, whole: string | null) => (part === whole ? whole : s.intern(part));

/**
 * Derives the comparison-ready view of a normalised record. With a `pool`, the values records commonly share
 * (names, places, birth dates, phonetic codes) are the pool's instances; identifiers (SSN, phone, email, the
 * first address line) are mostly distinct, so pooling them would only add the pool's entries.
 */
export function prepareRecord(r: NormalisedRecord, pool?: StringPool): PreparedRecord {
  const s = pool ?? NO_POOL;
  const [birthYear, birthMonth, birthDay] = dateParts(r.birthDate);
  const full = r.birthDate !== null && r.birthDate.length === 10;
  const givenName = s.intern(r.givenName);
  const middleName = s.intern(r.middleName);
  const familyName = s.intern(r.familyName);
  const familyTokens = familyName !== null && familyName.includes(' ') ? familyName.split(' ').map((t) => s.intern(t)!) : null;
  const at = r.email === null ? -1 : r.email.lastIndexOf('@');
  return {
    givenName,
    middleName,
    familyName,
    suffix: s.intern(r.suffix),
    sex: r.sex,
    birthDate: s.intern(r.birthDate),
    ssn: r.ssn,
    phone: r.phone,
    email: r.email,
    addressLine1: r.addressLine1,
    addressLine2: s.intern(r.addressLine2),
    city: s.intern(r.city),
    state: s.intern(r.state),
    postalCode: s.intern(r.postalCode),
    givenPhonetic: s.intern(r.givenPhonetic),
    familyPhonetic: s.intern(r.familyPhonetic),
    streetNumber: s.intern(r.streetNumber),
    streetName: s.intern(r.streetName),
    givenFirst: givenName === null ? null : pooledPart(s, firstToken(givenName), givenName),
    givenCompact: pooledPart(s, compact(givenName), givenName),
    familyCompact: pooledPart(s, compact(familyName), familyName),
    middleFirst: middleName === null ? null : pooledPart(s, firstToken(middleName), middleName),
    familyTokens,
    birthYear,
    birthMonth,
    birthDay,
    birthDigits: full ? s.intern(r.birthDate!.replace(/-/g, '')) : null,
    emailLocal: at > 0 ? r.email!.slice(0, at) : null,
  };
}

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

  /** The id of the value `intern` was last given (-1: null). */
  lastId = -1;

  /** The pool's instance of `value` (added on first sight); null stays null. */
  intern(value: string | null): string | null {
    if (value === null) {
      this.lastId = -1;
      return null;
    }
    const known = this.ids.get(value);
    if (known !== undefined) {
      this.lastId = known;
      return this.values[known]!;
    }
    this.lastId = this.values.length;
    this.ids.set(value, this.lastId);
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

/** The part of an email address before its last `@` (null without one, or with nothing before it). */
export function emailLocalOf(email: string | null): string | null {
  const at = email === null ? -1 : email.lastIndexOf('@');
  return at > 0 ? email!.slice(0, at) : null;
}

/** Interns nothing: the values as they are. */
const NO_POOL = { intern: (value: string | null) => value, lastId: -1 };

type Interner = Pick<StringPool, 'intern' | 'lastId'>;

/** The string fields of a prepared record that come from the pool, in the order of their ids (`prepareRecord`). */
export const POOLED_FIELDS = [
  'givenName',
  'middleName',
  'familyName',
  'suffix',
  'birthDate',
  'addressLine2',
  'city',
  'state',
  'postalCode',
  'givenPhonetic',
  'familyPhonetic',
  'streetNumber',
  'streetName',
  'givenFirst',
  'givenCompact',
  'familyCompact',
  'middleFirst',
  'birthDigits',
] as const satisfies ReadonlyArray<keyof PreparedRecord>;

/** Each pooled field's position in `POOLED_FIELDS` (where `prepareRecord` notes its id). */
export const POOLED_SLOT = Object.fromEntries(POOLED_FIELDS.map((field, slot) => [field, slot])) as Record<
  (typeof POOLED_FIELDS)[number],
  number
>;
const SLOT = POOLED_SLOT;

/** The pool's instance of `value`; its id goes to `ids[slot]` when ids are asked for. */
function pooled(s: Interner, value: string | null, ids: Int32Array | undefined, slot: number): string | null {
  const instance = s.intern(value);
  if (ids !== undefined) ids[slot] = s.lastId;
  return instance;
}

/** A value derived from a pooled one: most often the value itself (a name of one word), then nothing to look up. */
function pooledPart(s: Interner, part: string | null, whole: string | null, ids: Int32Array | undefined, slot: number, wholeSlot: number) {
  if (part !== whole) return pooled(s, part, ids, slot);
  if (ids !== undefined) ids[slot] = ids[wholeSlot]!;
  return whole;
}

/**
 * Derives the comparison-ready view of a normalised record. With a `pool`, the values records commonly share
 * (names, places, birth dates, phonetic codes) are the pool's instances; identifiers (SSN, phone, email, the
 * first address line) are mostly distinct, so pooling them would only add the pool's entries. With `ids` (as
 * long as `POOLED_FIELDS`, and a pool), the pool id of each pooled field is written to it as it is interned.
 */
export function prepareRecord(r: NormalisedRecord, pool?: StringPool, ids?: Int32Array): PreparedRecord {
  const s: Interner = pool ?? NO_POOL;
  const [birthYear, birthMonth, birthDay] = dateParts(r.birthDate);
  const full = r.birthDate !== null && r.birthDate.length === 10;
  const givenName = pooled(s, r.givenName, ids, SLOT.givenName);
  const middleName = pooled(s, r.middleName, ids, SLOT.middleName);
  const familyName = pooled(s, r.familyName, ids, SLOT.familyName);
  const familyTokens = familyName !== null && familyName.includes(' ') ? familyName.split(' ').map((t) => s.intern(t)!) : null;
  return {
    givenName,
    middleName,
    familyName,
    suffix: pooled(s, r.suffix, ids, SLOT.suffix),
    sex: r.sex,
    birthDate: pooled(s, r.birthDate, ids, SLOT.birthDate),
    ssn: r.ssn,
    phone: r.phone,
    email: r.email,
    addressLine1: r.addressLine1,
    addressLine2: pooled(s, r.addressLine2, ids, SLOT.addressLine2),
    city: pooled(s, r.city, ids, SLOT.city),
    state: pooled(s, r.state, ids, SLOT.state),
    postalCode: pooled(s, r.postalCode, ids, SLOT.postalCode),
    givenPhonetic: pooled(s, r.givenPhonetic, ids, SLOT.givenPhonetic),
    familyPhonetic: pooled(s, r.familyPhonetic, ids, SLOT.familyPhonetic),
    streetNumber: pooled(s, r.streetNumber, ids, SLOT.streetNumber),
    streetName: pooled(s, r.streetName, ids, SLOT.streetName),
    givenFirst: pooledPart(s, givenName === null ? null : firstToken(givenName), givenName, ids, SLOT.givenFirst, SLOT.givenName),
    givenCompact: pooledPart(s, compact(givenName), givenName, ids, SLOT.givenCompact, SLOT.givenName),
    familyCompact: pooledPart(s, compact(familyName), familyName, ids, SLOT.familyCompact, SLOT.familyName),
    middleFirst: pooledPart(s, middleName === null ? null : firstToken(middleName), middleName, ids, SLOT.middleFirst, SLOT.middleName),
    familyTokens,
    birthYear,
    birthMonth,
    birthDay,
    birthDigits: pooled(s, full ? r.birthDate!.replace(/-/g, '') : null, ids, SLOT.birthDigits),
    emailLocal: emailLocalOf(r.email),
  };
}

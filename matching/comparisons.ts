import { areNicknames } from './nicknames.ts';
import type { PreparedRecord } from './prepared.ts';
import { LOCATION_LEVELS, compareLocation } from './compare-location.ts';
import { JW_HIGH, JW_LOW, NULL_LEVEL, levelMap } from './levels.ts';
import { digitHistogramBound, jaroWinklerFrom, osaDistance, withinOneEdit } from './text.ts';

export { JW_HIGH, JW_LOW, JW_PLACE, NULL_LEVEL } from './levels.ts';

type P = PreparedRecord;

const GIVEN = ['exact', 'alias', 'fuzzy_high', 'swapped', 'phonetic', 'fuzzy_low', 'initial_or_middle', 'else'] as const;
const FAMILY = ['exact', 'fuzzy_high', 'shared_part', 'phonetic', 'fuzzy_low', 'else'] as const;
const BIRTH = ['exact', 'typo', 'day_month_swap', 'two_parts', 'else'] as const;
const SSN = ['exact', 'typo', 'two_edits', 'else'] as const;
const EMAIL = ['exact', 'fuzzy', 'else'] as const;
const EXACT_ONLY = ['exact', 'else'] as const;
const MIDDLE = ['exact', 'initial', 'fuzzy', 'else'] as const;

const G = levelMap(GIVEN);
const F = levelMap(FAMILY);
const B = levelMap(BIRTH);
const S = levelMap(SSN);
const EM = levelMap(EMAIL);
const EX = levelMap(EXACT_ONLY);
const MI = levelMap(MIDDLE);

/**
 * Whether given and family names appear swapped between the two records: each agrees with the other's
 * counterpart at the high Jaro-Winkler bar and with the same initial (the initial test is what keeps this cheap
 * for the many pairs where it fails).
 */
function namesSwapped(a: P, b: P): boolean {
  const ag = a.givenCompact;
  const af = a.familyCompact;
  const bg = b.givenCompact;
  const bf = b.familyCompact;
  if (ag === null || af === null || bg === null || bf === null) return false;
  if (ag.charCodeAt(0) !== bf.charCodeAt(0) || af.charCodeAt(0) !== bg.charCodeAt(0)) return false;
  return jaroWinklerFrom(ag, bf, JW_HIGH) >= JW_HIGH && jaroWinklerFrom(af, bg, JW_HIGH) >= JW_HIGH;
}

/**
 * Shortest name for which one edit reads as a typo: Jaro-Winkler undervalues a single slip in a short name
 * ("ryden"/"rgden" scores 0.88), while among three-letter names one edit usually makes another name (Ava/Eva).
 */
const MIN_TYPO_NAME_LENGTH = 4;

const isOneKeyingError = (x: string, y: string) => Math.min(x.length, y.length) >= MIN_TYPO_NAME_LENGTH && withinOneEdit(x, y);

const isInitialOf = (initial: string, name: string) => initial.length === 1 && name.charCodeAt(0) === initial.charCodeAt(0);

function compareGiven(a: P, b: P): number {
  const x = a.givenCompact;
  const y = b.givenCompact;
  if (x === null || y === null) return NULL_LEVEL;
  if (x === y) return G.exact;
  const fa = a.givenFirst!;
  const fb = b.givenFirst!;
  if (fa.length > 1 && fb.length > 1 && (fa === fb || areNicknames(fa, fb))) return G.alias;
  // Only compared with JW_HIGH and JW_LOW below.
  let jw = jaroWinklerFrom(x, y, JW_LOW);
  if (fa !== x || fb !== y) jw = Math.max(jw, jaroWinklerFrom(fa, fb, JW_LOW));
  if (jw >= JW_HIGH || isOneKeyingError(x, y)) return G.fuzzy_high;
  if (namesSwapped(a, b)) return G.swapped;
  if (a.givenPhonetic !== null && a.givenPhonetic === b.givenPhonetic && fa.length > 1 && fb.length > 1) {
    return G.phonetic;
  }
  if (jw >= JW_LOW) return G.fuzzy_low;
  if (isInitialOf(fa, fb) || isInitialOf(fb, fa) || fa === b.middleFirst || fb === a.middleFirst) {
    return G.initial_or_middle;
  }
  return G.else;
}

/** Whether one family name is part of the other: "garcia lopez" / "lopez", "smithjones" / "jones". */
function sharesFamilyPart(a: P, b: P, x: string, y: string): boolean {
  const MIN_PART = 3;
  if (a.familyTokens) for (const t of a.familyTokens) if (t.length >= MIN_PART && (t === y || b.familyTokens?.includes(t))) return true;
  if (b.familyTokens) for (const t of b.familyTokens) if (t.length >= MIN_PART && t === x) return true;
  const [short, long] = x.length < y.length ? [x, y] : [y, x];
  return short.length >= 4 && (long.startsWith(short) || long.endsWith(short));
}

function compareFamily(a: P, b: P): number {
  const x = a.familyCompact;
  const y = b.familyCompact;
  if (x === null || y === null) return NULL_LEVEL;
  if (x === y) return F.exact;
  // Only compared with JW_HIGH and JW_LOW below.
  const jw = jaroWinklerFrom(x, y, JW_LOW);
  if (jw >= JW_HIGH || isOneKeyingError(x, y)) return F.fuzzy_high;
  // A swap is one piece of evidence, already scored by the given-name comparison's `swapped` level.
  if (namesSwapped(a, b)) return NULL_LEVEL;
  if (sharesFamilyPart(a, b, x, y)) return F.shared_part;
  if (a.familyPhonetic !== null && a.familyPhonetic === b.familyPhonetic) return F.phonetic;
  if (jw >= JW_LOW) return F.fuzzy_low;
  return F.else;
}

function compareBirthDate(a: P, b: P): number {
  if (a.birthYear === 0 || b.birthYear === 0) return NULL_LEVEL;
  const x = a.birthDigits;
  const y = b.birthDigits;
  if (x === null || y === null) {
    // A partial date agrees at best on two parts: it cannot earn the weight of a full-date match.
    const monthsAgree = a.birthMonth === 0 || b.birthMonth === 0 || a.birthMonth === b.birthMonth;
    return a.birthYear === b.birthYear && monthsAgree ? B.two_parts : B.else;
  }
  if (x === y) return B.exact;
  if (withinOneEdit(x, y)) return B.typo;
  const sameYear = a.birthYear === b.birthYear;
  if (sameYear && a.birthMonth === b.birthDay && a.birthDay === b.birthMonth) return B.day_month_swap;
  const agreeing = (sameYear ? 1 : 0) + (a.birthMonth === b.birthMonth ? 1 : 0) + (a.birthDay === b.birthDay ? 1 : 0);
  return agreeing >= 2 ? B.two_parts : B.else;
}

function compareSsn(a: P, b: P): number {
  const x = a.ssn;
  const y = b.ssn;
  if (x === null || y === null) return NULL_LEVEL;
  if (x === y) return S.exact;
  if (withinOneEdit(x, y)) return S.typo;
  if (digitHistogramBound(x, y) > 2) return S.else;
  return osaDistance(x, y, 2) <= 2 ? S.two_edits : S.else;
}

function compareEmail(a: P, b: P): number {
  const x = a.email;
  const y = b.email;
  if (x === null || y === null) return NULL_LEVEL;
  if (x === y) return EM.exact;
  if ((a.emailLocal !== null && a.emailLocal === b.emailLocal) || jaroWinklerFrom(x, y, JW_HIGH) >= JW_HIGH) return EM.fuzzy;
  return EM.else;
}

function compareExact(x: string | null, y: string | null): number {
  if (x === null || y === null) return NULL_LEVEL;
  return x === y ? EX.exact : EX.else;
}

function compareMiddle(a: P, b: P): number {
  const x = a.middleFirst;
  const y = b.middleFirst;
  if (x === null || y === null) return NULL_LEVEL;
  if (x === y) return MI.exact;
  if (isInitialOf(x, y) || isInitialOf(y, x)) return MI.initial;
  return jaroWinklerFrom(x, y, JW_HIGH) >= JW_HIGH ? MI.fuzzy : MI.else;
}

export interface ComparisonDef {
  name: string;
  /** Level ids after the null level, strongest first. */
  levels: readonly string[];
  /** Whether the exact level gets a term-frequency adjustment, and on which field's value. */
  tfField?: 'givenCompact' | 'familyCompact';
  compare: (a: P, b: P) => number;
}

/**
 * Every comparison the engine knows, in model order. Address, postcode, city and phone form one `location`
 * comparison: they describe one household, and scored as independent fields they would count a shared home
 * four or five times over, enough to merge spouses, siblings and twins (Fellegi-Sunter assumes independence).
 */
export const COMPARISONS: readonly ComparisonDef[] = [
  { name: 'givenName', levels: GIVEN, tfField: 'givenCompact', compare: compareGiven },
  { name: 'familyName', levels: FAMILY, tfField: 'familyCompact', compare: compareFamily },
  { name: 'middleName', levels: MIDDLE, compare: compareMiddle },
  { name: 'birthDate', levels: BIRTH, compare: compareBirthDate },
  { name: 'sex', levels: EXACT_ONLY, compare: (a, b) => compareExact(a.sex, b.sex) },
  { name: 'ssn', levels: SSN, compare: compareSsn },
  { name: 'email', levels: EMAIL, compare: compareEmail },
  { name: 'location', levels: LOCATION_LEVELS, compare: compareLocation },
];

export const COMPARISON_INDEX: ReadonlyMap<string, number> = new Map(COMPARISONS.map((c, i) => [c.name, i]));

/** Level index of a named level in a named comparison (1-based; throws on a programming error). */
export function levelIndex(comparison: string, level: string): number {
  const def = COMPARISONS[COMPARISON_INDEX.get(comparison) ?? -1];
  const i = def ? def.levels.indexOf(level) : -1;
  if (i < 0) throw new Error(`unknown level ${comparison}.${level}`);
  return i + 1;
}

/**
 * Fills `out[k]` with the level of every comparison for the pair. Written as straight-line calls so each call
 * site stays monomorphic in the batch hot loop.
 */
export function compareAll(a: P, b: P, out: Uint8Array): void {
  out[0] = compareGiven(a, b);
  out[1] = compareFamily(a, b);
  out[2] = compareMiddle(a, b);
  out[3] = compareBirthDate(a, b);
  out[4] = compareExact(a.sex, b.sex);
  out[5] = compareSsn(a, b);
  out[6] = compareEmail(a, b);
  out[7] = compareLocation(a, b);
}

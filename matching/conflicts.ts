import { COMPARISON_INDEX, NULL_LEVEL, levelIndex } from './comparisons.ts';
import type { PreparedRecord } from './prepared.ts';

/**
 * Hard cannot-link rules: evidence that two records are different people however much else agrees. A pair with
 * a conflict is never linked automatically, and clustering never joins groups across one.
 *
 * - `ssn_conflict`: both carry an SSN and they differ by more than two keying errors, unless birth date and
 *   given name (or its nickname) agree exactly. SSNs are issued one per person (two random SSNs differ in about
 *   8 of 9 digits); the exception covers the usual data-entry slip of a guarantor's or spouse's number in the
 *   patient's field, which leaves the person's own name and birth date intact.
 * - `generation_suffix`: both carry a generational suffix and they differ (Jr vs Sr, II vs III).
 * - `twin`: same full birth date and family name but given names that are not equal, nicknames, one-letter
 *   typos, initials or swaps (sound-alikes such as Ava/Eva count as different: parents choose them for twins),
 *   and no SSN agreement: the signature of twins and triplets, who share everything else. An agreeing SSN says
 *   the given name, not the person, differs. Opposite sexes count too unless the given names are the same:
 *   about a third of twin births are boy-girl pairs (fraternal twins are two thirds of US twins, and half of
 *   them differ in sex), and parents often give them paired names (Daniel/Danielle), while a duplicate record
 *   needs a sex error (under 1% of records). That holds when one record has no given name: a newborn registered
 *   as "Baby Boy" before naming states the sex, and his twin sister's record is the other one at that birth
 *   date and address.
 * - `twin_middle_name`: the same, but the given names are only alike (one keying error apart, Lila/Lily,
 *   Maria/Mariah) or one is missing (a newborn placeholder), and both middle names are present and differ
 *   outright. Twins get middle names of their own as they get given names; a duplicate would need a given-name
 *   slip and an unrelated middle name at once. A rule of its own because it rests on a different identifier:
 *   it is kept only where middle names proved reliable among true matches (`training.ts`).
 * - `generation_gap`: same given and family name but birth dates that no keying error explains, years at least
 *   `MIN_GENERATION_GAP_YEARS` apart: a parent and the child named after them (Jr/Sr without the suffix).
 */
export const CONFLICT_RULES = ['ssn_conflict', 'generation_suffix', 'twin', 'generation_gap', 'twin_middle_name'] as const;

/** Youngest age at which people become parents in any number (US natality data: births to mothers under 15 are rare). */
export const MIN_GENERATION_GAP_YEARS = 15;
export type ConflictRule = (typeof CONFLICT_RULES)[number];

/** A rule's bit in a conflict bitmask: its position in `CONFLICT_RULES`. */
export function conflictBit(rule: ConflictRule): number {
  return 1 << CONFLICT_RULES.indexOf(rule);
}
const SSN_CONFLICT = conflictBit('ssn_conflict');
const GENERATION_SUFFIX = conflictBit('generation_suffix');
const TWIN = conflictBit('twin');
const GENERATION_GAP = conflictBit('generation_gap');
const TWIN_MIDDLE_NAME = conflictBit('twin_middle_name');

const SSN = COMPARISON_INDEX.get('ssn')!;
const GIVEN = COMPARISON_INDEX.get('givenName')!;
const FAMILY = COMPARISON_INDEX.get('familyName')!;
const BIRTH = COMPARISON_INDEX.get('birthDate')!;
const SEX = COMPARISON_INDEX.get('sex')!;
const MIDDLE = COMPARISON_INDEX.get('middleName')!;
const MIDDLE_ELSE = levelIndex('middleName', 'else');
const GIVEN_ALIKE = levelIndex('givenName', 'fuzzy_high');
const SEX_ELSE = levelIndex('sex', 'else');
const SSN_ELSE = levelIndex('ssn', 'else');
const SSN_EXACT = levelIndex('ssn', 'exact');
const SSN_TYPO = levelIndex('ssn', 'typo');
const BIRTH_EXACT = levelIndex('birthDate', 'exact');
const BIRTH_ELSE = levelIndex('birthDate', 'else');
/** Given-name levels that mean "the same first name" (not merely similar). */
const GIVEN_SAME = new Set(['exact', 'alias', 'fuzzy_high'].map((l) => levelIndex('givenName', l)));
/** Given-name levels that excuse an SSN disagreement (with the same birth date). */
const GIVEN_IDENTICAL = new Set(['exact', 'alias'].map((l) => levelIndex('givenName', l)));
/** Family-name levels that mean "same family name". */
const FAMILY_AGREES = new Set(['exact', 'fuzzy_high', 'shared_part'].map((l) => levelIndex('familyName', l)));
/** Given-name levels that mean "a different first name", not a variant of the same one. */
export const GIVEN_DIFFERS_LEVELS = ['phonetic', 'fuzzy_low', 'else'];
const GIVEN_DIFFERS = new Set(GIVEN_DIFFERS_LEVELS.map((l) => levelIndex('givenName', l)));

/** Bit per rule, so models can switch rules off and the hot loop tests an integer. */
export function conflictMask(rules: readonly string[]): number {
  let mask = 0;
  for (const rule of CONFLICT_RULES) if (rules.includes(rule)) mask |= conflictBit(rule);
  return mask;
}

/** Bitmask of the conflicts present for a pair, given its comparison levels (see `compareAll`). */
export function conflictBits(a: PreparedRecord, b: PreparedRecord, levels: Uint8Array, mask: number): number {
  let bits = 0;
  const ssn = levels[SSN]!;
  const givenDiffers = GIVEN_DIFFERS.has(levels[GIVEN]!);
  const sameBirthDate = levels[BIRTH] === BIRTH_EXACT;
  if (ssn === SSN_ELSE && !(sameBirthDate && GIVEN_IDENTICAL.has(levels[GIVEN]!))) bits |= SSN_CONFLICT;
  if (a.suffix !== null && b.suffix !== null && a.suffix !== b.suffix) bits |= GENERATION_SUFFIX;
  if (sameBirthDate && FAMILY_AGREES.has(levels[FAMILY]!) && ssn !== SSN_EXACT && ssn !== SSN_TYPO) {
    const given = levels[GIVEN]!;
    const oppositeSexes = levels[SEX] === SEX_ELSE && !GIVEN_IDENTICAL.has(given);
    if (givenDiffers || oppositeSexes) bits |= TWIN;
    if ((given === GIVEN_ALIKE || given === NULL_LEVEL) && levels[MIDDLE] === MIDDLE_ELSE) bits |= TWIN_MIDDLE_NAME;
  }
  if (
    levels[BIRTH] === BIRTH_ELSE &&
    Math.abs(a.birthYear - b.birthYear) >= MIN_GENERATION_GAP_YEARS &&
    GIVEN_SAME.has(levels[GIVEN]!) &&
    FAMILY_AGREES.has(levels[FAMILY]!)
  ) {
    bits |= GENERATION_GAP;
  }
  return bits & mask;
}

/** Names of the conflicts in a bitmask. */
export function conflictNames(bits: number): string[] {
  return CONFLICT_RULES.filter((rule) => (bits & conflictBit(rule)) !== 0);
}

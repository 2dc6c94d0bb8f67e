import { COMPARISON_INDEX, levelIndex } from './comparisons.ts';
import type { PreparedRecord } from './prepared.ts';

/**
 * Hard cannot-link rules: evidence that two records are different people however much else agrees. A pair with
 * a conflict is never linked automatically, and clustering never joins groups across one.
 *
 * - `ssn_conflict`: both carry an SSN, they differ by more than two keying errors, and the birth date or the
 *   given name disagrees too. SSNs are issued one per person (two random SSNs differ in about 8 of 9 digits),
 *   but a lone SSN disagreement on an otherwise identical record is usually a data-entry error (a guarantor's
 *   or spouse's number in the patient's field; a value replaced in transcription), so it must be corroborated.
 * - `generation_suffix`: both carry a generational suffix and they differ (Jr vs Sr, II vs III).
 * - `twin`: same full birth date and family name but given names that are not equal, nicknames, typos,
 *   initials, phonetic variants or swaps, and no SSN agreement: the signature of twins (and triplets), who share
 *   everything else. An agreeing SSN says the given name, not the person, differs.
 */
export const CONFLICT_RULES = ['ssn_conflict', 'generation_suffix', 'twin'] as const;
export type ConflictRule = (typeof CONFLICT_RULES)[number];

const SSN = COMPARISON_INDEX.get('ssn')!;
const GIVEN = COMPARISON_INDEX.get('givenName')!;
const FAMILY = COMPARISON_INDEX.get('familyName')!;
const BIRTH = COMPARISON_INDEX.get('birthDate')!;
const SSN_ELSE = levelIndex('ssn', 'else');
const SSN_EXACT = levelIndex('ssn', 'exact');
const SSN_TYPO = levelIndex('ssn', 'typo');
const BIRTH_EXACT = levelIndex('birthDate', 'exact');
/** Family-name levels that mean "same family name". */
const FAMILY_AGREES = new Set(['exact', 'fuzzy_high', 'shared_part'].map((l) => levelIndex('familyName', l)));
/** Given-name levels that mean "a different first name", not a variant of the same one. */
const GIVEN_DIFFERS = new Set(['fuzzy_low', 'else'].map((l) => levelIndex('givenName', l)));

/** Bit per rule, so models can switch rules off and the hot loop tests an integer. */
export function conflictMask(rules: readonly string[]): number {
  let mask = 0;
  CONFLICT_RULES.forEach((rule, i) => {
    if (rules.includes(rule)) mask |= 1 << i;
  });
  return mask;
}

/** Bitmask of the conflicts present for a pair, given its comparison levels (see `compareAll`). */
export function conflictBits(a: PreparedRecord, b: PreparedRecord, levels: Uint8Array, mask: number): number {
  let bits = 0;
  const ssn = levels[SSN]!;
  const givenDiffers = GIVEN_DIFFERS.has(levels[GIVEN]!);
  const sameBirthDate = levels[BIRTH] === BIRTH_EXACT;
  if (ssn === SSN_ELSE && (givenDiffers || !sameBirthDate)) bits |= 1;
  if (a.suffix !== null && b.suffix !== null && a.suffix !== b.suffix) bits |= 2;
  if (sameBirthDate && givenDiffers && FAMILY_AGREES.has(levels[FAMILY]!) && ssn !== SSN_EXACT && ssn !== SSN_TYPO) {
    bits |= 4;
  }
  return bits & mask;
}

/** Names of the conflicts in a bitmask. */
export function conflictNames(bits: number): string[] {
  return CONFLICT_RULES.filter((_, i) => (bits & (1 << i)) !== 0);
}

/**
 * Shared vocabulary of the comparisons. A comparison maps a pair of records to one of its ordered levels:
 * index 0 is "null" (a value missing on either side, weight 0), then from the strongest agreement down to
 * "else". The model holds m/u per level; the level logic lives in the compare modules.
 *
 * Jaro-Winkler thresholds: 0.92 is Splink's upper name threshold (Winkler's studies put most one-character
 * typos in names above 0.9); 0.80 catches two-edit typos of short names and is left to EM to weigh; places
 * (street names, cities) are longer and share suffixes, so they use Splink's 0.88.
 */
export const JW_HIGH = 0.92;
export const JW_LOW = 0.8;
export const JW_PLACE = 0.88;

export const NULL_LEVEL = 0;

/** Level ids to their 1-based indices (0 is the null level), resolved once rather than per pair. */
export function levelMap<T extends readonly string[]>(levels: T): { readonly [K in T[number]]: number } {
  return Object.freeze(Object.fromEntries(levels.map((id, i) => [id, i + 1]))) as { [K in T[number]]: number };
}

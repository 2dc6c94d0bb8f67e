/**
 * String primitives shared by normalisation and comparison. Kept allocation-free on the hot path: the batch
 * linker calls these tens of millions of times.
 */

/** Letters that NFKD does not decompose into ASCII, mapped to their usual transliteration. */
const SPECIAL_LETTERS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

const COMBINING_MARKS = /[\u0300-\u036f]/g;
const SPECIAL_LETTER_RE = /[ßæœøłđðþı]/g;

/** Lower-cases, strips accents and transliterates the few letters NFKD leaves alone ("Müller" -> "muller"). */
export function foldToAscii(value: string): string {
  const lower = value.toLowerCase();
  // Pure ASCII is the common case; skip the Unicode work for it.
  if (/^[\x00-\x7f]*$/.test(lower)) return lower;
  return lower
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .replace(SPECIAL_LETTER_RE, (ch) => SPECIAL_LETTERS[ch] ?? ch);
}

/** Collapses runs of whitespace to one space and trims; returns null for an empty result. */
export function squash(value: string): string | null {
  const out = value.replace(/\s+/g, ' ').trim();
  return out === '' ? null : out;
}

/** Keeps only the digits of a value ("(555) 123-4567" -> "5551234567"). */
export function digitsOf(value: string): string {
  return value.replace(/\D+/g, '');
}

let flagsA = new Uint8Array(64);
let flagsB = new Uint8Array(64);

/** Winkler's prefix scale and the Jaro score above which the prefix bonus applies (Winkler 1990). */
const WINKLER_PREFIX_SCALE = 0.1;
const WINKLER_BOOST_THRESHOLD = 0.7;
const WINKLER_MAX_PREFIX = 4;
/** Strings up to this length keep their match flags in an integer bitset instead of arrays. */
const BITSET_LENGTH = 31;

function winklerBoost(a: string, b: string, jaro: number): number {
  if (jaro <= WINKLER_BOOST_THRESHOLD) return jaro;
  let prefix = 0;
  const maxPrefix = Math.min(WINKLER_MAX_PREFIX, a.length, b.length);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * WINKLER_PREFIX_SCALE * (1 - jaro);
}

/** Jaro for strings of at most `BITSET_LENGTH` characters, match flags held in two integers. */
function jaroShort(a: string, b: string, la: number, lb: number): number {
  const range = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  let usedA = 0;
  let usedB = 0;
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = i - range > 0 ? i - range : 0;
    const hi = i + range < lb - 1 ? i + range : lb - 1;
    const ch = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if ((usedB & (1 << j)) === 0 && b.charCodeAt(j) === ch) {
        usedA |= 1 << i;
        usedB |= 1 << j;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let halfTranspositions = 0;
  for (let i = 0; i < la; i++) {
    if ((usedA & (1 << i)) === 0) continue;
    while ((usedB & (1 << k)) === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) halfTranspositions++;
    k++;
  }
  return (matches / la + matches / lb + (matches - (halfTranspositions >> 1)) / matches) / 3;
}

/** Jaro for strings of any length, match flags in reusable byte arrays. */
function jaroLong(a: string, b: string, la: number, lb: number): number {
  if (Math.max(la, lb) > flagsA.length) {
    flagsA = new Uint8Array(Math.max(la, lb) * 2);
    flagsB = new Uint8Array(Math.max(la, lb) * 2);
  }
  flagsA.fill(0, 0, la);
  flagsB.fill(0, 0, lb);
  const range = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = i - range > 0 ? i - range : 0;
    const hi = i + range < lb - 1 ? i + range : lb - 1;
    const ch = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (flagsB[j] === 0 && b.charCodeAt(j) === ch) {
        flagsA[i] = 1;
        flagsB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let halfTranspositions = 0;
  for (let i = 0; i < la; i++) {
    if (flagsA[i] === 0) continue;
    while (flagsB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) halfTranspositions++;
    k++;
  }
  return (matches / la + matches / lb + (matches - (halfTranspositions >> 1)) / matches) / 3;
}

/**
 * Jaro-Winkler similarity in [0, 1] (Winkler 1990; transpositions halved with integer division as in Winkler's
 * strcmp95, so the values equal talisman's `jaro-winkler`), allocation-free: match flags of short strings live in
 * integer bitsets.
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const jaro = la <= BITSET_LENGTH && lb <= BITSET_LENGTH ? jaroShort(a, b, la, lb) : jaroLong(a, b, la, lb);
  return winklerBoost(a, b, jaro);
}

/** Scratch counts of ASCII characters for `commonCharacters`; every slot is back at 0 between calls. */
const asciiCounts = new Int32Array(128);

/**
 * How many characters the two strings have in common as multisets (ignoring where they stand): an upper bound
 * on Jaro's matches, which must also lie within a window of each other. -1 when either holds a non-ASCII
 * character (normalised names and places rarely do), meaning no bound.
 */
function commonCharacters(a: string, b: string, la: number, lb: number): number {
  let common = 0;
  let i = 0;
  for (; i < la; i++) {
    const c = a.charCodeAt(i);
    if (c >= 128) break;
    asciiCounts[c]!++;
  }
  if (i === la) {
    for (let j = 0; j < lb; j++) {
      const c = b.charCodeAt(j);
      if (c >= 128) {
        common = -1;
        break;
      }
      if (asciiCounts[c]! > 0) {
        asciiCounts[c]!--;
        common++;
      }
    }
  } else common = -1;
  for (let k = 0; k < i; k++) asciiCounts[a.charCodeAt(k)] = 0;
  return common;
}

/**
 * Margin under a threshold within which the bound below is not trusted to reject (its arithmetic rounds in
 * another order than Jaro-Winkler's own), so a rejection is exact.
 */
const BOUND_MARGIN = 1e-9;

/**
 * Jaro-Winkler of `a` and `b` when it is at least `floor`; otherwise some value below `floor` (0), often without
 * computing it. Jaro is at most (c/|a| + c/|b| + 1) / 3 for c characters in common, and Winkler's boost only
 * raises a score with the prefix the two share, so most dissimilar pairs (the bulk of training's random pairs,
 * different cities and streets) are settled by counting characters. Callers compare the result only with
 * thresholds of `floor` or more, so their outcome is the same as with `jaroWinkler`.
 */
export function jaroWinklerFrom(a: string, b: string, floor: number): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const common = commonCharacters(a, b, la, lb);
  if (common === 0) return 0;
  if (common > 0 && winklerBoost(a, b, (common / la + common / lb + 1) / 3) < floor - BOUND_MARGIN) return 0;
  return jaroWinkler(a, b);
}

/**
 * Whether two strings are at most one edit apart: one substitution, insertion, deletion or adjacent
 * transposition (the OSA distance is <= 1). Linear time, for the typo levels of digits and codes.
 */
export function withinOneEdit(a: string, b: string): boolean {
  const la = a.length;
  const lb = b.length;
  if (la === lb) {
    let first = -1;
    for (let i = 0; i < la; i++) {
      if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
      if (first < 0) {
        first = i;
        continue;
      }
      // A second mismatch is allowed only as the other half of an adjacent transposition.
      if (i !== first + 1 || a.charCodeAt(first) !== b.charCodeAt(i) || a.charCodeAt(i) !== b.charCodeAt(first)) return false;
      for (let j = i + 1; j < la; j++) if (a.charCodeAt(j) !== b.charCodeAt(j)) return false;
      return true;
    }
    return true;
  }
  if (Math.abs(la - lb) !== 1) return false;
  const [long, short] = la > lb ? [a, b] : [b, a];
  let i = 0;
  while (i < short.length && long.charCodeAt(i) === short.charCodeAt(i)) i++;
  for (let j = i; j < short.length; j++) if (long.charCodeAt(j + 1) !== short.charCodeAt(j)) return false;
  return true;
}

const digitCounts = new Int32Array(10);

/**
 * A lower bound on the edit distance of two digit strings: every insertion, deletion or substitution changes
 * the digit histogram by at most 2 (a transposition by 0), so the distance is at least half their L1 gap.
 */
export function digitHistogramBound(a: string, b: string): number {
  digitCounts.fill(0);
  for (let i = 0; i < a.length; i++) digitCounts[(a.charCodeAt(i) - 48) % 10]!++;
  for (let i = 0; i < b.length; i++) digitCounts[(b.charCodeAt(i) - 48) % 10]!--;
  let gap = 0;
  for (let d = 0; d < 10; d++) gap += Math.abs(digitCounts[d]!);
  return Math.ceil(gap / 2);
}

let osaPrev2 = new Int32Array(32);
let osaPrev = new Int32Array(32);
let osaCurr = new Int32Array(32);

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition), or `limit + 1` as soon as the
 * distance is known to exceed `limit`. Used for digit strings (SSN, phone, dates) where a swapped pair of
 * digits is one keying error, not two.
 */
export function osaDistance(a: string, b: string, limit: number): number {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > limit) return limit + 1;
  if (a === b) return 0;
  if (lb + 1 > osaCurr.length) {
    osaPrev2 = new Int32Array(lb + 1);
    osaPrev = new Int32Array(lb + 1);
    osaCurr = new Int32Array(lb + 1);
  }
  for (let j = 0; j <= lb; j++) osaPrev[j] = j;
  for (let i = 1; i <= la; i++) {
    osaCurr[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(j - 1);
      const cost = ca === cb ? 0 : 1;
      let v = Math.min(osaPrev[j]! + 1, osaCurr[j - 1]! + 1, osaPrev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        v = Math.min(v, osaPrev2[j - 2]! + 1);
      }
      osaCurr[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    const t = osaPrev2;
    osaPrev2 = osaPrev;
    osaPrev = osaCurr;
    osaCurr = t;
  }
  const d = osaPrev[lb]!;
  return d > limit ? limit + 1 : d;
}

/** Number of positions at which two equal-length strings differ (Infinity when lengths differ). */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) d++;
  return d;
}

/** Entries a memo keeps: bounds memory on inputs with millions of distinct values. */
const MEMO_LIMIT = 100_000;

/**
 * Memoises a pure function of one string. Registration data repeats the same names, cities and codes
 * endlessly, so cleaning each distinct value once saves most of the normalisation work. Once full the memo
 * stops growing rather than starting over: the common values arrive early and stay.
 */
export function memoise<T>(fn: (value: string) => T): (value: string) => T {
  const cache = new Map<string, T>();
  return (value) => {
    const hit = cache.get(value);
    if (hit !== undefined || cache.has(value)) return hit as T;
    const result = fn(value);
    if (cache.size < MEMO_LIMIT) cache.set(value, result);
    return result;
  };
}

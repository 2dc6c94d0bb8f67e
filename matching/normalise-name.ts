import doubleMetaphone from 'talisman/phonetics/double-metaphone.js';
import { foldToAscii, memoise, squash } from './text.ts';

/** A field-level problem found while normalising; the message names the field and problem, never the value. */
export interface FieldIssue {
  field: string;
  code: string;
  message: string;
}

/** Generational suffixes and their canonical spelling (USPS/CMS name-suffix conventions). */
const GENERATIONAL_SUFFIXES = new Map<string, string>(
  Object.entries({
    jr: 'jr',
    junior: 'jr',
    sr: 'sr',
    senior: 'sr',
    i: 'i',
    '1st': 'i',
    ii: 'ii',
    '2nd': 'ii',
    iii: 'iii',
    '3rd': 'iii',
    iv: 'iv',
    '4th': 'iv',
    v: 'v',
    '5th': 'v',
  }),
);

/** Trailing tokens of a name field that are generational suffixes ("Smith Jr"); `i` and `v` are too ambiguous. */
const TRAILING_SUFFIX_TOKENS = new Set(['jr', 'junior', 'sr', 'senior', 'ii', 'iii', 'iv', '2nd', '3rd', '4th']);

/** Honorifics that registration staff type into the given-name field. */
const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'mstr', 'master', 'dr', 'prof', 'rev', 'sir']);

/**
 * Values that stand for "name not known" in registration systems (e.g. FNU/LNU "first/last name unknown",
 * "Baby Girl" for unnamed newborns); matching on them would link unrelated people.
 */
const PLACEHOLDER_NAMES = new Set([
  'unknown',
  'unk',
  'unkn',
  'none',
  'na',
  'n a',
  'nil',
  'null',
  'test',
  'patient',
  'xxx',
  'xx',
  'x',
  'zz',
  'zzz',
  'fnu',
  'lnu',
  'nfn',
  'nln',
  'nmn',
  'nmi',
  'baby',
  'babyboy',
  'babygirl',
  'baby boy',
  'baby girl',
  'infant',
  'newborn',
  'male',
  'female',
  'boy',
  'girl',
  'twin a',
  'twin b',
  'anonymous',
  'noname',
  'no name',
]);

/** Result of cleaning one name value; `suffix` is set when a generational suffix was split off the end. */
export interface CleanName {
  value: string | null;
  suffix: string | null;
  placeholder: boolean;
}

function cleanNameText(raw: string): string | null {
  const folded = foldToAscii(raw)
    .replace(/['’`.]/g, '') // O'Brien, St. John -> obrien, st john
    .replace(/[^a-z0-9]+/g, ' '); // hyphens, commas and other separators become spaces
  return squash(folded);
}

/**
 * Cleans a name: ASCII folding, apostrophes and periods dropped ("O'Brien" = "OBRIEN"), hyphens and other
 * separators become spaces ("Smith-Jones" = "smith jones"), a trailing generational suffix is split off, digits
 * and leading titles are removed, and placeholder values become missing.
 */
export function cleanName(raw: string | null | undefined, kind: 'given' | 'middle' | 'family'): CleanName {
  if (raw === null || raw === undefined) return NO_NAME;
  return kind === 'given' ? cleanGiven(raw) : cleanOtherName(raw);
}

const NO_NAME: CleanName = Object.freeze({ value: null, suffix: null, placeholder: false });

function cleanNameUncached(raw: string, kind: 'given' | 'middle' | 'family'): CleanName {
  const none = NO_NAME;
  const text = cleanNameText(raw);
  if (text === null) return none;
  let tokens = withoutDigits(text.split(' '));
  if (tokens.length === 0) return none;
  let suffix: string | null = null;
  // "Smith Jr Sr": the last suffix is the one kept, and none of them stays in the name.
  while (tokens.length > 1 && TRAILING_SUFFIX_TOKENS.has(tokens[tokens.length - 1]!)) {
    suffix ??= GENERATIONAL_SUFFIXES.get(tokens[tokens.length - 1]!) ?? null;
    tokens = tokens.slice(0, -1);
  }
  if (kind === 'given') while (tokens.length > 1 && TITLES.has(tokens[0]!)) tokens = tokens.slice(1);
  const value = tokens.join(' ');
  if (PLACEHOLDER_NAMES.has(value)) return { value: null, suffix, placeholder: true };
  return { value, suffix, placeholder: false };
}

/**
 * The tokens with their digits taken out, as separators (`a1b` is `a b`, a token of digits only is dropped), except
 * ordinal suffixes that end a name ("Lee 3rd", "Lee 3rd Jr"). Done before the suffixes and titles are looked for, so
 * they are looked for in what is kept, and a cleaned name cleans to itself: `Lee 0Sr` is `lee` with the suffix `sr`,
 * as `lee sr` is.
 */
function withoutDigits(tokens: string[]): string[] {
  const words = tokens.filter((token) => !/^[0-9]+$/.test(token));
  let suffixesFrom = words.length;
  while (suffixesFrom > 1 && TRAILING_SUFFIX_TOKENS.has(words[suffixesFrom - 1]!)) suffixesFrom--;
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (i >= suffixesFrom) kept.push(words[i]!);
    else for (const part of words[i]!.split(/[0-9]+/)) if (part !== '') kept.push(part);
  }
  return kept;
}

const cleanGiven = memoise((raw) => cleanNameUncached(raw, 'given'));
const cleanOtherName = memoise((raw) => cleanNameUncached(raw, 'family'));

/** Canonical generational suffix ("Jr." -> "jr", "III" -> "iii"); other suffixes (MD, PhD) are not identity. */
export function cleanSuffix(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const text = cleanNameText(raw);
  if (text === null) return null;
  for (const token of text.split(' ')) {
    const canonical = GENERATIONAL_SUFFIXES.get(token);
    if (canonical) return canonical;
  }
  return null;
}

const PHONETIC_CACHE = new Map<string, string>();
const PHONETIC_CACHE_LIMIT = 200_000;

/** Primary Double Metaphone code (Philips 2000) of a cleaned name, spaces removed; memoised. */
export function phoneticCode(name: string): string {
  const cached = PHONETIC_CACHE.get(name);
  if (cached !== undefined) return cached;
  const compact = name.replace(/ /g, '');
  const code = compact === '' ? '' : doubleMetaphone(compact)[0];
  if (PHONETIC_CACHE.size < PHONETIC_CACHE_LIMIT) PHONETIC_CACHE.set(name, code);
  return code;
}

/** First space-separated token of a cleaned name. */
export function firstToken(name: string): string {
  const space = name.indexOf(' ');
  return space < 0 ? name : name.slice(0, space);
}

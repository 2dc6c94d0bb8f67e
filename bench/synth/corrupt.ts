// Error and format operations on single values, as clerks and interfaces produce them. Pure functions of
// (value, rng): they know nothing about people or sources.
import type { PhoneFormat } from './config.ts';
import type { Rng } from './prng.ts';

/** Neighbouring keys on a US QWERTY keyboard: most substitution typos hit one of these. */
const KEY_NEIGHBOURS: Readonly<Record<string, string>> = {
  q: 'wa',
  w: 'qeas',
  e: 'wrds',
  r: 'etdf',
  t: 'ryfg',
  y: 'tugh',
  u: 'yihj',
  i: 'uojk',
  o: 'ipkl',
  p: 'ol',
  a: 'qwsz',
  s: 'awedxz',
  d: 'serfcx',
  f: 'drtgvc',
  g: 'ftyhbv',
  h: 'gyujnb',
  j: 'huikmn',
  k: 'jiolm',
  l: 'kop',
  z: 'asx',
  x: 'zsdc',
  c: 'xdfv',
  v: 'cfgb',
  b: 'vghn',
  n: 'bhjm',
  m: 'njk',
};

export type TypoKind = 'substitute' | 'insert' | 'delete' | 'transpose';
const TYPO_KINDS: readonly TypoKind[] = ['substitute', 'substitute', 'insert', 'delete', 'transpose'];

function matchCase(replacement: string, original: string): string {
  return original === original.toUpperCase() ? replacement.toUpperCase() : replacement.toLowerCase();
}

/** One keyboard typo (substitute, insert, delete or transpose), rarely on the first letter. */
export function typo(word: string, rng: Rng, kind: TypoKind = rng.pick(TYPO_KINDS)): string {
  if (word.length < 2) return word;
  const position = word.length > 2 && rng.chance(0.9) ? rng.int(1, word.length - 1) : rng.int(0, word.length - 1);
  const char = word.charAt(position);
  const neighbours = KEY_NEIGHBOURS[char.toLowerCase()];
  switch (kind) {
    case 'substitute':
      if (!neighbours) return word.slice(0, position) + word.slice(position + 1);
      return word.slice(0, position) + matchCase(rng.pick([...neighbours]), char) + word.slice(position + 1);
    case 'insert': {
      const extra = neighbours && rng.chance(0.5) ? matchCase(rng.pick([...neighbours]), char) : char;
      return word.slice(0, position) + extra + word.slice(position);
    }
    case 'delete':
      if (word.length <= 3) return typo(word, rng, 'substitute');
      return word.slice(0, position) + word.slice(position + 1);
    case 'transpose': {
      const at = Math.min(position, word.length - 2);
      const [a, b] = [word.charAt(at), word.charAt(at + 1)];
      if (a === b) return typo(word, rng, 'substitute');
      // Keep the capital where it was: "Smith" -> "Msith" reads as a typo, "mSith" does not.
      const swapped = at === 0 ? matchCase(b, a) + matchCase(a, b) : b + a;
      return word.slice(0, at) + swapped + word.slice(at + 2);
    }
  }
}

/** Sound-alike respellings that a clerk taking a name over the phone produces. [pattern, replacement] */
const RESPELLINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/ph/i, 'f'],
  [/^C(?=[aou])/, 'K'],
  [/^K(?=[aou])/, 'C'],
  [/ck/, 'k'],
  [/y$/, 'ie'],
  [/ie$/, 'y'],
  [/ey$/, 'y'],
  [/([bdglmnprst])\1/, '$1'],
  [/([aeiou])([lnrt])([aeiou])/, '$1$2$2$3'],
  [/th/, 't'],
  [/z/, 's'],
  [/s(?=[aeiou])/, 'z'],
  [/ai/, 'ay'],
  [/ei/, 'ie'],
  [/ou/, 'ow'],
  [/ae/, 'a'],
  [/an$/, 'en'],
  [/en$/, 'on'],
  [/^Mc/, 'Mac'],
  [/^Mac/, 'Mc'],
  [/i(?=[^aeiou]$)/, 'y'],
];

/** A phonetically equivalent spelling (Katherine -> Catherine, Stephen -> Stefen), or the name unchanged. */
export function respell(name: string, rng: Rng): string {
  const start = rng.int(0, RESPELLINGS.length - 1);
  for (let i = 0; i < RESPELLINGS.length; i++) {
    const [pattern, replacement] = RESPELLINGS[(start + i) % RESPELLINGS.length] as readonly [RegExp, string];
    const changed = name.replace(pattern, replacement);
    if (changed !== name) return changed;
  }
  return name;
}

/** A single wrong digit or two adjacent digits swapped, as in keyed identifiers. */
export function digitTypo(digits: string, rng: Rng): string {
  if (digits.length < 2) return digits;
  const at = rng.int(0, digits.length - 2);
  const [a, b] = [digits.charAt(at), digits.charAt(at + 1)];
  if (a !== b && rng.chance(0.35)) return digits.slice(0, at) + b + a + digits.slice(at + 2);
  const position = rng.int(0, digits.length - 1);
  const old = Number(digits.charAt(position));
  const replacement = (old + rng.int(1, 9)) % 10;
  return digits.slice(0, position) + String(replacement) + digits.slice(position + 1);
}

/** Formats a nine-digit SSN with or without dashes. */
export function formatSsn(digits: string, dashes: boolean): string {
  return dashes ? `${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}` : digits;
}

/** Formats a ten-digit NANP number in one of the styles sources use. */
export function formatPhone(digits: string, format: PhoneFormat): string {
  const [area, exchange, line] = [digits.slice(0, 3), digits.slice(3, 6), digits.slice(6)];
  switch (format) {
    case 'parens':
      return `(${area}) ${exchange}-${line}`;
    case 'dashes':
      return `${area}-${exchange}-${line}`;
    case 'digits':
      return digits;
    case 'dots':
      return `${area}.${exchange}.${line}`;
    case 'international':
      return `+1 ${area} ${exchange} ${line}`;
  }
}

/** Drops or replaces the punctuation some systems cannot store: O'Brien -> OBrien, Smith-Jones -> Smith Jones. */
export function stripPunctuation(value: string, rng: Rng): string {
  const apostrophe = rng.chance(0.7) ? '' : ' ';
  const hyphen = rng.chance(0.7) ? ' ' : '';
  return value.replace(/'/g, apostrophe).replace(/-/g, hyphen).replace(/\./g, '');
}

/** A civil date. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function formatIsoDate({ year, month, day }: CivilDate): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Day and month exchanged (US vs. European entry), only where that still gives a valid, different date. */
export function swapDayMonth(date: CivilDate): CivilDate | null {
  if (date.day > 12 || date.day === date.month) return null;
  return { year: date.year, month: date.day, day: date.month };
}

/** The year one too high or too low (29 February becomes the 28th when needed). */
export function shiftYear(date: CivilDate, rng: Rng): CivilDate {
  const year = date.year + (rng.chance(0.5) ? 1 : -1);
  return { year, month: date.month, day: Math.min(date.day, daysInMonth(year, date.month)) };
}

/** A keyed error in the day or month (one digit wrong or off by a little), still a valid date. */
export function dateTypo(date: CivilDate, rng: Rng): CivilDate {
  if (rng.chance(0.3)) {
    const month = ((date.month - 1 + (rng.chance(0.5) ? 1 : 11)) % 12) + 1;
    return { year: date.year, month, day: Math.min(date.day, daysInMonth(date.year, month)) };
  }
  const limit = daysInMonth(date.year, date.month);
  let day = Number(digitTypo(String(date.day).padStart(2, '0'), rng));
  if (day < 1 || day > limit || day === date.day) day = date.day < limit ? date.day + 1 : date.day - 1;
  return { year: date.year, month: date.month, day };
}

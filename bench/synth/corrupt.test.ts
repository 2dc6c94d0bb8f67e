import { distance } from 'fastest-levenshtein';
import { describe, expect, test } from 'vitest';
import {
  type CivilDate,
  type TypoKind,
  dateTypo,
  daysInMonth,
  digitTypo,
  formatIsoDate,
  formatPhone,
  formatSsn,
  respell,
  shiftYear,
  stripPunctuation,
  swapDayMonth,
  typo,
} from './corrupt.ts';
import { Rng } from './prng.ts';

const WORDS = ['Johnson', 'Catherine', 'Nguyen', "O'Brien", 'Lee', 'Maximilian', 'De La Cruz'];

describe('typo', () => {
  test.each<[TypoKind, number]>([
    ['substitute', 1],
    ['insert', 1],
    ['delete', 1],
  ])('a %s typo is one edit away from the original', (kind, edits) => {
    const rng = new Rng(11);
    for (const word of WORDS) {
      for (let i = 0; i < 50; i++) {
        const changed = typo(word, rng, kind);
        expect(distance(changed, word)).toBeLessThanOrEqual(edits);
      }
    }
  });

  test('a transposition swaps two neighbouring letters and keeps the capital in front', () => {
    const rng = new Rng(12);
    const letters = (word: string): string => [...word.toLowerCase()].sort().join('');
    for (const word of WORDS.filter((candidate) => !/(.)\1/.test(candidate))) {
      for (let i = 0; i < 50; i++) {
        const changed = typo(word, rng, 'transpose');
        expect(letters(changed)).toBe(letters(word));
        expect(distance(changed, word)).toBeLessThanOrEqual(2);
        expect(changed.charAt(0)).toBe(changed.charAt(0).toUpperCase());
      }
    }
  });

  test('mostly changes the word and keeps upper-case words upper case', () => {
    const rng = new Rng(13);
    const results = Array.from({ length: 200 }, () => typo('WILLIAMS', rng));
    expect(results.filter((result) => result !== 'WILLIAMS').length).toBeGreaterThan(190);
    expect(results.every((result) => result === result.toUpperCase())).toBe(true);
  });
});

test.each([['Stephen'], ['Katherine'], ['Philip'], ['Kelly'], ['Macdonald'], ['Carter']])('respells %s as a sound-alike', (name) => {
  const changed = respell(name, new Rng(3));
  expect(changed).not.toBe(name);
  expect(distance(changed, name)).toBeLessThanOrEqual(3);
});

test('a digit typo keeps the length and changes one digit or swaps two', () => {
  const rng = new Rng(5);
  for (let i = 0; i < 500; i++) {
    const changed = digitTypo('123456789', rng);
    expect(changed).toMatch(/^\d{9}$/);
    expect(changed).not.toBe('123456789');
    expect(distance(changed, '123456789')).toBeLessThanOrEqual(2);
  }
});

test.each([
  ['parens', '(555) 123-4567'],
  ['dashes', '555-123-4567'],
  ['digits', '5551234567'],
  ['dots', '555.123.4567'],
  ['international', '+1 555 123 4567'],
] as const)('formats a phone number in %s style', (format, expected) => {
  expect(formatPhone('5551234567', format)).toBe(expected);
});

test.each([
  [true, '078-05-1120'],
  [false, '078051120'],
])('formats an SSN with dashes=%s', (dashes, expected) => {
  expect(formatSsn('078051120', dashes)).toBe(expected);
});

test.each([
  ["O'Brien", ['OBrien', 'O Brien']],
  ['Smith-Jones', ['Smith Jones', 'SmithJones']],
  ['St. John', ['St John']],
])('strips punctuation from %s', (input, allowed) => {
  const rng = new Rng(8);
  for (let i = 0; i < 20; i++) expect(allowed).toContain(stripPunctuation(input, rng));
});

describe('birth date errors', () => {
  const isValid = ({ year, month, day }: CivilDate): boolean => month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);

  test.each<[CivilDate, string | null]>([
    [{ year: 1980, month: 3, day: 7 }, '1980-07-03'],
    [{ year: 1980, month: 3, day: 13 }, null],
    [{ year: 1980, month: 5, day: 5 }, null],
  ])('swapping day and month of %o gives %s', (date, expected) => {
    const swapped = swapDayMonth(date);
    expect(swapped && formatIsoDate(swapped)).toBe(expected);
  });

  test('moving 29 February by a year lands on the 28th', () => {
    const shifted = shiftYear({ year: 2000, month: 2, day: 29 }, new Rng(1));
    expect([1999, 2001]).toContain(shifted.year);
    expect(shifted).toMatchObject({ month: 2, day: 28 });
  });

  test('a keyed date error always gives a different, valid date in the same year', () => {
    const rng = new Rng(2);
    const dates: CivilDate[] = [
      { year: 1990, month: 1, day: 31 },
      { year: 2024, month: 2, day: 29 },
      { year: 1950, month: 12, day: 1 },
      { year: 1977, month: 6, day: 30 },
    ];
    for (const date of dates) {
      for (let i = 0; i < 100; i++) {
        const changed = dateTypo(date, rng);
        expect(isValid(changed)).toBe(true);
        expect(formatIsoDate(changed)).not.toBe(formatIsoDate(date));
        expect(changed.year).toBe(date.year);
      }
    }
  });
});

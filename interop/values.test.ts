import { expect, test } from 'vitest';
import { cleanText, isCalendarDay, ssnProblem } from './values.ts';

test.each([
  { date: [2024, 2, 29], real: true },
  { date: [2023, 2, 29], real: false },
  { date: [1900, 2, 29], real: false },
  { date: [2000, 2, 29], real: true },
  { date: [2024, 4, 31], real: false },
  { date: [2024, 13, 1], real: false },
  { date: [2024, 0, 10], real: false },
  { date: [50, 3, 1], real: true },
])('isCalendarDay($date) is $real', ({ date, real }) => {
  const [y, m, d] = date as [number, number, number];
  expect(isCalendarDay(y, m, d)).toBe(real);
});

test.each([
  { value: '512-48-3067', problem: null },
  { value: '219-09-9999', problem: { field: 'ssn', code: 'PLACEHOLDER', message: 'is a placeholder value' } },
  { value: '512483067', problem: null },
  { value: '12-34', problem: { field: 'ssn', code: 'INVALID', message: 'has the wrong number of digits' } },
  { value: 'abc-de-fghi', problem: { field: 'ssn', code: 'INVALID', message: 'contains characters other than digits' } },
  { value: '000-00-0000', problem: { field: 'ssn', code: 'PLACEHOLDER', message: 'is a placeholder value' } },
])('ssnProblem($value) is $problem', ({ value, problem }) => {
  expect(ssnProblem(value)).toEqual(problem);
});

test('cleanText trims and turns blank text into null', () => {
  expect([cleanText('  a b '), cleanText('   '), cleanText(undefined), cleanText(null)]).toEqual(['a b', null, null, null]);
});

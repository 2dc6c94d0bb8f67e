import { expect, test } from 'vitest';
import { cleanText, isCalendarDay, isSsnShaped } from './values.ts';

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
  { value: '900-12-3456', ok: true },
  { value: '900123456', ok: true },
  { value: '900-123456', ok: true },
  { value: '90-012-3456', ok: false },
  { value: '9001234567', ok: false },
  { value: 'abc-de-fghi', ok: false },
])('isSsnShaped($value) is $ok', ({ value, ok }) => {
  expect(isSsnShaped(value)).toBe(ok);
});

test('cleanText trims and turns blank text into null', () => {
  expect([cleanText('  a b '), cleanText('   '), cleanText(undefined), cleanText(null)]).toEqual(['a b', null, null, null]);
});

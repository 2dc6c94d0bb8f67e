import { describe, expect, test } from 'vitest';
import { MAX_DATE_ADJUSTMENT, MIN_DATE_ADJUSTMENT, buildDateFrequency, compileDateFrequency } from './date-frequency.ts';
import { defaultModel } from './default-model.ts';
import { ModelValidationError, parseModel } from './model.ts';
import { normaliseRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';
import { mulberry32 } from './random.ts';
import { scorePair } from './scoring.ts';

const withDate = (birthDate: string) => prepareRecord(normaliseRecord({ givenName: 'Ana', familyName: 'Ruiz', birthDate }).record);
const iso = (y: number, m: number, d: number) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** `n` birth dates spread over 1930-2009, with `heaped` of them on January 1st (dates the clerk did not know). */
function dates(n: number, heaped: number, seed = 1): string[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const year = 1930 + Math.floor(rng() * 80);
    return i < heaped ? iso(year, 1, 1) : iso(year, 1 + Math.floor(rng() * 12), 1 + Math.floor(rng() * 28));
  });
}

describe('birth-date rarity', () => {
  test('leaves dates alone where no day of the year is heaped', () => {
    const adjust = compileDateFrequency(buildDateFrequency(dates(50_000, 0).map(withDate))!);
    for (const d of ['1975-01-01', '1975-06-14', '1942-11-28']) expect(Math.abs(adjust(withDate(d)))).toBeLessThan(0.3);
  });

  test('weighs a heaped day of the year far less than an ordinary one', () => {
    const adjust = compileDateFrequency(buildDateFrequency(dates(50_000, 5_000).map(withDate))!);
    expect(adjust(withDate('1975-01-01'))).toBeLessThan(adjust(withDate('1975-06-14')) - 3);
  });

  test('weighs a year many records share less than a year few share', () => {
    const young = Array.from({ length: 5_000 }, (_, i) => iso(2023, 1 + (i % 12), 1 + (i % 28)));
    const adjust = compileDateFrequency(buildDateFrequency([...dates(20_000, 0), ...young].map(withDate))!);
    expect(adjust(withDate('2023-06-14'))).toBeLessThan(adjust(withDate('1950-06-14')) - 1);
  });

  test('stays within its bounds for a date no record has', () => {
    const adjust = compileDateFrequency(buildDateFrequency(dates(50_000, 40_000).map(withDate))!);
    for (const d of ['1975-01-01', '1850-06-14', '2009-12-31']) {
      const a = adjust(withDate(d));
      expect(a).toBeGreaterThanOrEqual(MIN_DATE_ADJUSTMENT);
      expect(a).toBeLessThanOrEqual(MAX_DATE_ADJUSTMENT);
    }
  });

  test('barely moves the weight in a small file, where a date seen twice is chance', () => {
    const adjust = compileDateFrequency(buildDateFrequency(dates(300, 0).map(withDate))!);
    for (const d of dates(300, 0).slice(0, 50)) expect(Math.abs(adjust(withDate(d)))).toBeLessThan(1);
  });

  test('lowers the score of a pair agreeing on a heaped date, in the explanation too', () => {
    const model = defaultModel();
    const birth = model.comparisons.find((c) => c.name === 'birthDate')!;
    birth.dateFrequency = buildDateFrequency(dates(50_000, 5_000).map(withDate))!;
    const rated = parseModel(JSON.parse(JSON.stringify(model)));
    const pair = (birthDate: string) => {
      const r = normaliseRecord({ givenName: 'Ana', familyName: 'Ruiz', birthDate, postalCode: '10001' }).record;
      return scorePair(r, r, rated);
    };
    const heaped = pair('1975-01-01');
    const ordinary = pair('1975-06-14');
    expect(heaped.weight).toBeLessThan(ordinary.weight - 3);
    const date = heaped.explanation.contributions.find((c) => c.comparison === 'birthDate')!;
    expect(date.tfAdjustment).toBeLessThan(-1);
    const sum = heaped.explanation.prior + heaped.explanation.contributions.reduce((s, c) => s + c.weight + (c.tfAdjustment ?? 0), 0);
    expect(sum).toBeCloseTo(heaped.weight, 10);
  });

  test('is refused on a comparison other than the birth date', () => {
    const model = defaultModel();
    model.comparisons[0]!.dateFrequency = { years: { '1975': 0.5 }, monthDays: { '0101': 0.5 }, otherYear: 0.1, otherMonthDay: 0.1 };
    expect(() => parseModel(JSON.parse(JSON.stringify(model)))).toThrow(ModelValidationError);
  });
});

import { expect, test } from 'vitest';
import { Rng, WeightedTable } from './prng.ts';

const draws = (rng: Rng, count: number): number[] => Array.from({ length: count }, () => rng.nextUint32());

test('repeats the same sequence for the same seed and stream', () => {
  expect(draws(new Rng(42, 1), 100)).toEqual(draws(new Rng(42, 1), 100));
});

test.each([
  ['another seed', new Rng(43, 1)],
  ['another stream', new Rng(42, 2)],
  ['a seed above 2^32', new Rng(42 + 2 ** 32, 1)],
])('gives a different sequence for %s', (_label, other) => {
  expect(draws(other, 100)).not.toEqual(draws(new Rng(42, 1), 100));
});

test('draws integers across the whole inclusive range and floats in [0, 1)', () => {
  const rng = new Rng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const value = rng.int(1, 6);
    expect(value).toBeGreaterThanOrEqual(1);
    expect(value).toBeLessThanOrEqual(6);
    seen.add(value);
    const float = rng.next();
    expect(float >= 0 && float < 1).toBe(true);
  }
  expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
});

test('samples items in proportion to their weights', () => {
  const table = WeightedTable.of([
    ['common', 70],
    ['middling', 25],
    ['rare', 5],
    ['never', 0],
  ] as const);
  const rng = new Rng(9);
  const counts: Record<string, number> = { common: 0, middling: 0, rare: 0, never: 0 };
  for (let i = 0; i < 100_000; i++) {
    const item = table.sample(rng);
    counts[item] = (counts[item] ?? 0) + 1;
  }
  expect((counts.common ?? 0) / 100_000).toBeCloseTo(0.7, 1);
  expect((counts.middling ?? 0) / 100_000).toBeCloseTo(0.25, 1);
  expect((counts.rare ?? 0) / 100_000).toBeCloseTo(0.05, 1);
  expect(counts.never).toBe(0);
});

test('rejects a table without a positive weight', () => {
  expect(() => WeightedTable.of([['a', 0]] as const)).toThrow(/positive total weight/);
});

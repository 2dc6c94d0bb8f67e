import { expect, test } from 'vitest';
import { runEm } from './em.ts';
import type { PatternHistogram } from './em.ts';
import { mulberry32 } from './random.ts';

/** Three comparisons with three levels each (index 0 is the null level). */
const TRUE_M = [
  [0, 0.85, 0.1, 0.05],
  [0, 0.7, 0.2, 0.1],
  [0, 0.9, 0.05, 0.05],
];
const TRUE_U = [
  [0, 0.01, 0.04, 0.95],
  [0, 0.05, 0.15, 0.8],
  [0, 0.002, 0.02, 0.978],
];
const TRUE_LAMBDA = 0.15;

function draw(dist: number[], rng: () => number): number {
  let r = rng();
  for (let l = 1; l < dist.length; l++) {
    r -= dist[l]!;
    if (r <= 0) return l;
  }
  return dist.length - 1;
}

/** Pairs drawn from the Fellegi-Sunter mixture with known parameters, as a pattern histogram. */
function syntheticHistogram(pairs: number, seed: number): PatternHistogram {
  const rng = mulberry32(seed);
  const counts = new Map<string, number>();
  for (let p = 0; p < pairs; p++) {
    const source = rng() < TRUE_LAMBDA ? TRUE_M : TRUE_U;
    const key = source.map((dist) => draw(dist, rng)).join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const h: PatternHistogram = {
    width: 3,
    levels: new Uint8Array(counts.size * 3),
    counts: new Float64Array(counts.size),
    size: counts.size,
  };
  let i = 0;
  for (const [key, count] of counts) {
    h.levels.set(key.split(',').map(Number), i * 3);
    h.counts[i++] = count;
  }
  return h;
}

test('EM recovers known m and lambda from a synthetic mixture (u fixed, as in training)', () => {
  const h = syntheticHistogram(50_000, 7);
  const flat = TRUE_M.map(() => Float64Array.from([0, 1 / 3, 1 / 3, 1 / 3]));
  const result = runEm(
    h,
    { m: flat, u: TRUE_U.map((levels) => Float64Array.from(levels)), lambda: 0.5 },
    { free: [true, true, true], maxIterations: 500, tolerance: 1e-9, updateM: true },
  );
  expect(result.converged).toBe(true);
  expect(result.lambda).toBeCloseTo(TRUE_LAMBDA, 2);
  for (let k = 0; k < 3; k++) for (let l = 1; l < 4; l++) expect(Math.abs(result.m[k]![l]! - TRUE_M[k]![l]!)).toBeLessThan(0.02);
});

test('EM leaves the m of held-out comparisons untouched', () => {
  const h = syntheticHistogram(10_000, 3);
  const start = TRUE_M.map((levels) => Float64Array.from(levels));
  const result = runEm(
    h,
    { m: start, u: TRUE_U.map((l) => Float64Array.from(l)), lambda: 0.5 },
    { free: [true, false, true], maxIterations: 100, tolerance: 1e-9, updateM: true },
  );
  expect([...result.m[1]!]).toEqual(TRUE_M[1]);
});

test('EM with m fixed estimates only the share of matches', () => {
  const h = syntheticHistogram(50_000, 11);
  const result = runEm(
    h,
    { m: TRUE_M.map((l) => Float64Array.from(l)), u: TRUE_U.map((l) => Float64Array.from(l)), lambda: 0.5 },
    { free: [true, true, true], maxIterations: 200, tolerance: 1e-10, updateM: false },
  );
  expect(result.lambda).toBeCloseTo(TRUE_LAMBDA, 2);
  expect(result.expectedMatches / 50_000).toBeCloseTo(TRUE_LAMBDA, 2);
});

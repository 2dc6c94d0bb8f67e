import { describe, expect, test } from 'vitest';
import { pairwiseScore, reliability } from './evaluate.ts';

describe('reliability', () => {
  test('puts each pair in its decile and reports the observed match rate beside the stated probability', () => {
    const pairs = [
      { probability: 0.95, match: true },
      { probability: 0.92, match: false },
      { probability: 0.05, match: false },
      { probability: 1, match: true },
    ];
    const { bins, brier } = reliability(pairs);
    expect(bins[9]).toMatchObject({ pairs: 3, observedRate: 2 / 3 });
    expect(bins[9]!.meanProbability).toBeCloseTo((0.95 + 0.92 + 1) / 3);
    expect(bins[0]).toMatchObject({ pairs: 1, observedRate: 0 });
    expect(brier).toBeCloseTo((0.05 ** 2 + 0.92 ** 2 + 0.05 ** 2 + 0) / 4);
  });

  test('a model that states 0.9 for pairs right nine times in ten is calibrated', () => {
    const pairs = Array.from({ length: 100 }, (_, i) => ({ probability: 0.9, match: i % 10 !== 0 }));
    const bin = reliability(pairs).bins[9]!;
    expect(Math.abs(bin.meanProbability - bin.observedRate)).toBeLessThan(1e-9);
  });
});

describe('pairwiseScore', () => {
  test('counts pairs from cluster sizes', () => {
    const s = pairwiseScore(
      4,
      (i) => (i < 3 ? 'a' : 'b'),
      (i) => (i < 2 ? 'x' : 'y'),
    );
    expect(s).toMatchObject({ truePairs: 2, predictedPairs: 3, truePositives: 1 });
  });
});

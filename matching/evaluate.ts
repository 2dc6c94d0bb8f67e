/**
 * Pairwise precision, recall and F1 of a clustering against a ground truth, counted from cluster sizes
 * (n(n-1)/2 per group) rather than by listing pairs, as in `tools/eval_pairs.py`.
 */

export interface PairwiseScore {
  truePairs: number;
  predictedPairs: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

const pairsIn = (n: number) => (n * (n - 1)) / 2;

/** Pairs within each group of `keyOf`, optionally minus the pairs that share a source. */
function countPairs(size: number, keyOf: (i: number) => string, sourceOf?: (i: number) => string): number {
  const groups = new Map<string, number>();
  const bySource = new Map<string, number>();
  for (let i = 0; i < size; i++) {
    const key = keyOf(i);
    groups.set(key, (groups.get(key) ?? 0) + 1);
    if (sourceOf) {
      const k = `${key}\u0000${sourceOf(i)}`;
      bySource.set(k, (bySource.get(k) ?? 0) + 1);
    }
  }
  let pairs = 0;
  for (const n of groups.values()) pairs += pairsIn(n);
  for (const n of bySource.values()) pairs -= pairsIn(n);
  return pairs;
}

/**
 * Scores predicted clusters against true clusters for records `0..size-1`. With `sourceOf`, only pairs of
 * records from different sources count (two-file linkage).
 */
export function pairwiseScore(
  size: number,
  predicted: (i: number) => string | number,
  truth: (i: number) => string | number,
  sourceOf?: (i: number) => string,
): PairwiseScore {
  const p = (i: number) => String(predicted(i));
  const t = (i: number) => String(truth(i));
  const predictedPairs = countPairs(size, p, sourceOf);
  const truePairs = countPairs(size, t, sourceOf);
  const truePositives = countPairs(size, (i) => `${p(i)}\u0000${t(i)}`, sourceOf);
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, truePositives, precision, recall, f1 };
}

/** One probability bin of a reliability table: pairs in it, their mean stated probability and observed rate. */
export interface ReliabilityBin {
  from: number;
  to: number;
  pairs: number;
  meanProbability: number;
  observedRate: number;
}

/**
 * Reliability per probability decile and the Brier score (mean squared error of the stated probability against
 * the 0/1 outcome; Brier 1950), for pairs with a known answer. A calibrated model's bins sit on the diagonal:
 * of the pairs stated at p, about p are matches (DeGroot & Fienberg 1983).
 */
export function reliability(
  pairs: readonly { probability: number; match: boolean }[],
  bins = 10,
): { bins: ReliabilityBin[]; brier: number } {
  const table = Array.from({ length: bins }, (_, b) => ({ from: b / bins, to: (b + 1) / bins, pairs: 0, sum: 0, matches: 0 }));
  let squared = 0;
  for (const { probability, match } of pairs) {
    const bin = table[Math.min(bins - 1, Math.floor(probability * bins))]!;
    bin.pairs++;
    bin.sum += probability;
    if (match) bin.matches++;
    squared += (probability - (match ? 1 : 0)) ** 2;
  }
  return {
    bins: table.map((b) => ({
      from: b.from,
      to: b.to,
      pairs: b.pairs,
      meanProbability: b.pairs ? b.sum / b.pairs : NaN,
      observedRate: b.pairs ? b.matches / b.pairs : NaN,
    })),
    brier: pairs.length ? squared / pairs.length : NaN,
  };
}

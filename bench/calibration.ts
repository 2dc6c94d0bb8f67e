/**
 * Calibration by cluster consistency, a diagnostic of the accuracy benchmark. A pair's Fellegi-Sunter
 * probability treats its fields as independent and ignores every other record; the clustering sees both (a
 * duplicate too corrupted to link on its own joins through the records it shares with its cluster, a relative
 * stays apart through conflict rules and the merge guard). The share of candidate pairs at a weight whose
 * records the clustering puts together is the engine's own, unsupervised estimate of how often a pair at that
 * weight is one person. Fitted here as a monotone step function of the weight (pool-adjacent-violators;
 * Zadrozny & Elkan 2002), it shows what a calibration learnt from the engine's own output, without labels,
 * would state.
 */

/** One step of the fitted map: from this weight up to the next step's, the stated probability. */
export interface CalibrationStep {
  fromWeight: number;
  probability: number;
  pairs: number;
}

/** Isotonic (non-decreasing) fit of the 0/1 outcome `together` on `weight`, as steps in weight order. */
export function isotonicSteps(points: readonly { weight: number; together: boolean }[]): CalibrationStep[] {
  const sorted = [...points].sort((x, y) => x.weight - y.weight);
  const blocks: { fromWeight: number; sum: number; pairs: number }[] = [];
  for (const p of sorted) {
    blocks.push({ fromWeight: p.weight, sum: p.together ? 1 : 0, pairs: 1 });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1]!;
      const before = blocks[blocks.length - 2]!;
      if (before.sum / before.pairs < last.sum / last.pairs) break;
      blocks.pop();
      before.sum += last.sum;
      before.pairs += last.pairs;
    }
  }
  return blocks.map((b) => ({ fromWeight: b.fromWeight, probability: b.sum / b.pairs, pairs: b.pairs }));
}

/** The fitted probability at `weight`: the step it falls in (below the first step, the first step's). */
export function stepProbability(steps: readonly CalibrationStep[], weight: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid]!.fromWeight <= weight) lo = mid;
    else hi = mid - 1;
  }
  return steps[lo]?.probability ?? 0;
}

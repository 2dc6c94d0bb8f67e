import { z } from 'zod';

/**
 * Calibration of the stated match probability, learnt without labels from the engine's own clustering.
 *
 * A pair's Fellegi-Sunter probability treats its fields as independent and ignores every other record, so it is
 * over-confident where fields agree together (relatives share a family, a home and sometimes a birth date) and
 * under-confident where a duplicate is corrupted. The clustering sees what the pair alone does not: transitivity
 * joins a corrupted duplicate through the records it shares with its cluster, and the conflict rules and the
 * merge guard keep relatives apart. The share of candidate pairs at a weight whose records the clustering put
 * together is the engine's own estimate of how often a pair at that weight is one person; fitted as a monotone
 * step function of the weight (pool-adjacent-violators; Zadrozny & Elkan 2002), separately for pairs a conflict
 * rule flags (a twin-like pair at 20 bits is not a duplicate at 20 bits), it is the calibration map. It changes
 * no decision: links and the review band stay on the weight and the model's thresholds; the calibrated
 * probability is what a person is told.
 */

/** Fewest fitted pairs a group needs; with fewer its map is noise and the Fellegi-Sunter probability stands. */
export const MIN_CALIBRATION_PAIRS = 100;

const StepSchema = z.object({ fromWeight: z.number(), probability: z.number().min(0).max(1) });
const StepsSchema = z
  .array(StepSchema)
  .refine((s) => s.every((x, i) => i === 0 || (x.fromWeight > s[i - 1]!.fromWeight && x.probability >= s[i - 1]!.probability)), {
    message: 'steps must rise in weight and never fall in probability',
  });

export const CalibrationSchema = z.object({
  method: z.literal('cluster-consistency'),
  /** Pairs without a conflict: from each step's weight up to the next step's, the stated probability. */
  clear: StepsSchema,
  /** Pairs a conflict rule flags. */
  conflicted: StepsSchema,
  /** Candidate pairs each map was fitted on. */
  pairs: z.object({ clear: z.number().int().nonnegative(), conflicted: z.number().int().nonnegative() }),
});

export type Calibration = z.infer<typeof CalibrationSchema>;
export type CalibrationStep = z.infer<typeof StepSchema>;

/**
 * Isotonic (non-decreasing) fit of the 0/1 outcome `together` on `weight`, as steps in weight order. Pairs at one
 * weight are pooled into one point before the fit: a step cannot start between them, and the fit does not depend
 * on the order they come in (pooling them as they arrive could leave some of them in the block before).
 */
export function isotonicSteps(points: readonly { weight: number; together: boolean }[]): CalibrationStep[] {
  const sorted = [...points].sort((x, y) => x.weight - y.weight);
  const tied: { fromWeight: number; sum: number; pairs: number }[] = [];
  for (const p of sorted) {
    const last = tied[tied.length - 1];
    if (last && last.fromWeight === p.weight) {
      last.sum += p.together ? 1 : 0;
      last.pairs++;
    } else tied.push({ fromWeight: p.weight, sum: p.together ? 1 : 0, pairs: 1 });
  }
  const blocks: typeof tied = [];
  for (const point of tied) {
    blocks.push({ ...point });
    while (blocks.length > 1) {
      const top = blocks[blocks.length - 1]!;
      const before = blocks[blocks.length - 2]!;
      if (before.sum / before.pairs < top.sum / top.pairs) break;
      blocks.pop();
      before.sum += top.sum;
      before.pairs += top.pairs;
    }
  }
  return blocks.map((b) => ({ fromWeight: b.fromWeight, probability: b.sum / b.pairs }));
}

/** The step probability at `weight` (below the first step, the first step's), or null without steps. */
export function stepProbability(steps: readonly CalibrationStep[], weight: number): number | null {
  if (steps.length === 0) return null;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid]!.fromWeight <= weight) lo = mid;
    else hi = mid - 1;
  }
  return steps[lo]!.probability;
}

/** The calibrated probability of a pair at `weight`, flagged by a conflict rule or not; null if the map has no say. */
export function calibratedProbability(calibration: Calibration, weight: number, conflicted: boolean): number | null {
  return stepProbability(conflicted ? calibration.conflicted : calibration.clear, weight);
}

/** Steps for JSON: weights to a thousandth of a bit, probabilities to four places. */
export const roundedSteps = (steps: CalibrationStep[]): CalibrationStep[] => {
  const out: CalibrationStep[] = [];
  for (const s of steps) {
    const step = { fromWeight: Math.round(s.fromWeight * 1000) / 1000, probability: Math.round(s.probability * 10000) / 10000 };
    const last = out[out.length - 1];
    if (last && (step.fromWeight <= last.fromWeight || step.probability <= last.probability)) {
      // Rounding made two steps one: the earlier keeps its weight, the later its (higher) probability.
      if (step.probability > last.probability) last.probability = step.probability;
      continue;
    }
    out.push(step);
  }
  return out;
};

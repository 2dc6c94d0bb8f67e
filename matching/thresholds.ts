import { unpackLevels } from './batch.ts';
import type { Batch } from './batch.ts';
import { COMPARISONS } from './comparisons.ts';
import { conflictBits } from './conflicts.ts';
import { DEFAULT_MATCH_THRESHOLD } from './default-model.ts';
import type { MatchModel } from './model.ts';
import { compileModel, keepPairWeights, probabilityToWeight, recordsWeigher, weightToProbability } from './scoring.ts';

/**
 * The match threshold of a trained model, set from the error rate accepted among links (Fellegi & Sunter 1969
 * choose their upper threshold so that the expected share of false links stays at a stated level), with the
 * model's own probabilities as the expectation: the lowest threshold at which the candidate pairs that would
 * link still average `TARGET_LINK_PRECISION`. On rich records nearly every link is near certain and the
 * threshold hardly matters; on sparse ones (names and a birth date) a true pair rarely reaches 19:1 odds, and a
 * fixed 0.95 leaves a fifth of them unlinked although the links would still be 99% right.
 */
export const TARGET_LINK_PRECISION = 0.99;
/**
 * Lowest automatic threshold: 4:1 odds. Below it a link would be a guess the model itself rates as one in
 * four wrong; and the band from the review threshold (0.5) up stays with stewards.
 */
export const MIN_MATCH_THRESHOLD = 0.8;

/**
 * Weights this far below the weight of `MIN_MATCH_THRESHOLD` cannot reach it through the rounding of the
 * conversion to a probability (about 1e-16 of the value): such pairs are skipped without converting them.
 */
const WEIGHT_MARGIN = 1e-6;

/** The match threshold for `model` on the candidate pairs of `batch` (see `TARGET_LINK_PRECISION`). */
export function errorRateThreshold(batch: Batch, model: MatchModel): number {
  const cm = compileModel(model);
  const levels = new Uint8Array(COMPARISONS.length);
  const kept: number[] = [];
  const lowest = probabilityToWeight(MIN_MATCH_THRESHOLD) - WEIGHT_MARGIN;
  const weigh = recordsWeigher(cm, batch.prepared);
  // Every pair is weighed here; linking with this model next reads the weights instead of weighing them again.
  const weights = new Float64Array(batch.pairCount);
  for (let p = 0; p < batch.pairCount; p++) {
    unpackLevels(batch.levelsLo[p]!, batch.levelsHi[p]!, levels);
    const weight = weigh(batch.pairA[p]!, levels);
    weights[p] = weight;
    if (weight < lowest) continue;
    const probability = weightToProbability(weight);
    if (probability < MIN_MATCH_THRESHOLD) continue;
    if (conflictBits(batch.prepared[batch.pairA[p]!]!, batch.prepared[batch.pairB[p]!]!, levels, cm.conflictMask) !== 0) continue;
    kept.push(probability);
  }
  keepPairWeights(batch, cm, weights);
  // Ascending in a typed array (a numeric sort without a comparator call per comparison), read from the top.
  const probabilities = Float64Array.from(kept).sort();
  let sum = 0;
  let threshold = DEFAULT_MATCH_THRESHOLD;
  for (let k = 0; k < probabilities.length; k++) {
    const probability = probabilities[probabilities.length - 1 - k]!;
    sum += probability;
    if (sum / (k + 1) < TARGET_LINK_PRECISION) break;
    if (probability < threshold) threshold = probability;
  }
  // Rounded down to a hundredth, so a stored model reads plainly and the pairs counted above still link.
  return Math.max(MIN_MATCH_THRESHOLD, Math.floor(threshold * 100 + 1e-9) / 100);
}

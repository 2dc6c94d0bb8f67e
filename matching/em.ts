/**
 * Expectation-maximisation for the Fellegi-Sunter mixture (Winkler 1988; Splink's "estimate m by EM"), run on a
 * histogram of comparison patterns rather than on pairs: millions of pairs collapse into a few thousand
 * distinct patterns, so each iteration costs almost nothing.
 */

/** Distinct comparison patterns (levels flattened, `width` per pattern) with their pair counts. */
export interface PatternHistogram {
  width: number;
  levels: Uint8Array;
  counts: Float64Array;
  size: number;
}

/** m or u per comparison, indexed by level (index 0, the null level, is unused). */
export type LevelProbabilities = Float64Array[];

export interface EmOptions {
  /** Comparisons that inform the E-step and are re-estimated; others are ignored (fixed by the blocking rule). */
  free: readonly boolean[];
  maxIterations: number;
  /** Stop when no m moves more than this between iterations. */
  tolerance: number;
  /** When false only lambda is re-estimated (m stays as given). */
  updateM: boolean;
}

export interface EmResult {
  m: LevelProbabilities;
  lambda: number;
  iterations: number;
  converged: boolean;
  /** Sum over pairs of the posterior match probability. */
  expectedMatches: number;
}

/** Smallest m we let EM produce: a level never seen among matches still must not weigh -infinity. */
export const MIN_PROBABILITY = 1e-6;

export function posteriors(
  h: PatternHistogram,
  m: LevelProbabilities,
  u: LevelProbabilities,
  lambda: number,
  free: readonly boolean[],
  out: Float64Array,
): void {
  const { width, levels } = h;
  for (let p = 0; p < h.size; p++) {
    let pm = lambda;
    let pu = 1 - lambda;
    const base = p * width;
    for (let k = 0; k < width; k++) {
      const level = levels[base + k]!;
      if (level === 0 || !free[k]) continue;
      pm *= m[k]![level]!;
      pu *= u[k]![level]!;
    }
    out[p] = pm + pu > 0 ? pm / (pm + pu) : 0;
  }
}

function maximiseM(h: PatternHistogram, post: Float64Array, previous: LevelProbabilities, free: readonly boolean[]): LevelProbabilities {
  const { width, levels, counts } = h;
  const sums = previous.map((levelsOf) => new Float64Array(levelsOf.length));
  for (let p = 0; p < h.size; p++) {
    const weight = counts[p]! * post[p]!;
    const base = p * width;
    for (let k = 0; k < width; k++) sums[k]![levels[base + k]!]! += weight;
  }
  return sums.map((s, k) => {
    if (!free[k]) return previous[k]!;
    let total = 0;
    for (let l = 1; l < s.length; l++) total += s[l]!;
    if (total <= 0) return previous[k]!;
    const next = new Float64Array(s.length);
    let norm = 0;
    for (let l = 1; l < s.length; l++) norm += next[l] = Math.max(s[l]! / total, MIN_PROBABILITY);
    for (let l = 1; l < s.length; l++) next[l] = next[l]! / norm;
    return next;
  });
}

function largestChange(a: LevelProbabilities, b: LevelProbabilities): number {
  let max = 0;
  for (let k = 0; k < a.length; k++) for (let l = 1; l < a[k]!.length; l++) max = Math.max(max, Math.abs(a[k]![l]! - b[k]![l]!));
  return max;
}

/** Runs EM from the given starting point; u stays fixed (estimated from random pairs). */
export function runEm(
  h: PatternHistogram,
  start: { m: LevelProbabilities; u: LevelProbabilities; lambda: number },
  options: EmOptions,
): EmResult {
  const post = new Float64Array(h.size);
  let total = 0;
  for (let p = 0; p < h.size; p++) total += h.counts[p]!;
  let { m, lambda } = start;
  let iterations = 0;
  let converged = false;
  let expectedMatches = 0;
  while (iterations < options.maxIterations) {
    iterations++;
    posteriors(h, m, start.u, lambda, options.free, post);
    expectedMatches = 0;
    for (let p = 0; p < h.size; p++) expectedMatches += h.counts[p]! * post[p]!;
    const nextLambda = total > 0 ? expectedMatches / total : lambda;
    const nextM = options.updateM ? maximiseM(h, post, m, options.free) : m;
    const change = Math.max(largestChange(nextM, m), Math.abs(nextLambda - lambda));
    m = nextM;
    lambda = Math.min(Math.max(nextLambda, MIN_PROBABILITY), 1 - MIN_PROBABILITY);
    if (change < options.tolerance) {
      converged = true;
      break;
    }
  }
  return { m, lambda, iterations, converged, expectedMatches };
}

import { buildBatch, phaseProgress, unpackLevels } from './batch.ts';
import type { Batch, ProgressFn } from './batch.ts';
import type { BlockingStats, LinkMode } from './blocking.ts';
import { clusterPairs, mergeAllowed } from './clustering.ts';
import type { Links, MergeDecision, MergeGuardOptions, PairAssessor } from './clustering.ts';
import { COMPARISONS } from './comparisons.ts';
import { conflictBits, conflictNames } from './conflicts.ts';
import type { MatchModel } from './model.ts';
import type { NormalisedRecord } from './normalise.ts';
import { compileModel, pairWeightsOf, preparedOf, probabilityToWeight, recordsWeigher, scorePrepared } from './scoring.ts';
import type { CompiledModel } from './scoring.ts';

export interface LinkOptions {
  sources?: ArrayLike<number>;
  mode?: LinkMode;
  /** Match probability for a link; defaults to the model's match threshold. */
  threshold?: number;
  /** Pairs of record indices a steward declared different people. */
  cannotLink?: readonly (readonly [number, number])[];
  onProgress?: ProgressFn;
}

export interface LinkResult {
  model: MatchModel;
  pairsCompared: number;
  /** Pairs at or above the threshold without a conflict, i.e. proposed links (before clustering). */
  links: Links;
  /** Pairs at or above the threshold that a conflict rule vetoed. */
  conflictVetoes: number;
  clusterOf: Int32Array;
  clusterCount: number;
  refusedMerges: Record<string, number>;
  blocking: BlockingStats[];
}

const sameRules = (batch: Batch, model: MatchModel) => JSON.stringify(batch.rules) === JSON.stringify(model.blockingRules);

/** Scores every candidate pair and keeps those at or above the link weight that no conflict vetoes. */
function scoreCandidates(batch: Batch, cm: CompiledModel, linkWeight: number, onProgress?: ProgressFn): { links: Links; vetoes: number } {
  const levels = new Uint8Array(COMPARISONS.length);
  const a: number[] = [];
  const b: number[] = [];
  const weight: number[] = [];
  let vetoes = 0;
  const { prepared, pairA, pairB, levelsLo, levelsHi } = batch;
  const progress = phaseProgress(onProgress, 'score', batch.pairCount);
  // Training weighed every pair with this model already when it set the threshold.
  const known = pairWeightsOf(batch, cm);
  const weigh = known === null ? recordsWeigher(cm, prepared) : null;
  for (let p = 0; p < batch.pairCount; p++, progress()) {
    let w: number;
    if (known !== null) {
      w = known[p]!;
      if (w < linkWeight) continue;
      unpackLevels(levelsLo[p]!, levelsHi[p]!, levels);
    } else {
      unpackLevels(levelsLo[p]!, levelsHi[p]!, levels);
      w = weigh!(pairA[p]!, levels);
      if (w < linkWeight) continue;
    }
    if (conflictBits(prepared[pairA[p]!]!, prepared[pairB[p]!]!, levels, cm.conflictMask) !== 0) {
      vetoes++;
      continue;
    }
    a.push(pairA[p]!);
    b.push(pairB[p]!);
    weight.push(w);
  }
  return { links: { a: Int32Array.from(a), b: Int32Array.from(b), weight: Float64Array.from(weight), count: a.length }, vetoes };
}

/**
 * Scores any two records of the batch on demand, for the clustering guard. Its links are those `scoreCandidates`
 * kept with the same model, which left out every pair a conflict rule vetoes: a link is vetoed only by a
 * steward's decision (`linkVeto`), without comparing the pair again.
 */
export function batchAssessor(batch: Batch, cm: CompiledModel, cannotLink?: readonly (readonly [number, number])[]): PairAssessor {
  const n = batch.prepared.length;
  const steward = new Set<number>();
  for (const [i, j] of cannotLink ?? []) steward.add(Math.min(i, j) * n + Math.max(i, j));
  const stewardVeto = (i: number, j: number) => (steward.has(Math.min(i, j) * n + Math.max(i, j)) ? 'not_duplicate' : null);
  let cachedKey = -1;
  let cached = { weight: 0, conflicts: 0 };
  const assess = (i: number, j: number) => {
    const key = Math.min(i, j) * n + Math.max(i, j);
    if (key !== cachedKey) {
      cachedKey = key;
      cached = scorePrepared(batch.prepared[i]!, batch.prepared[j]!, cm);
    }
    return cached;
  };
  return {
    weight: (i, j) => assess(i, j).weight,
    cannotLink: (i, j) => {
      const vetoed = stewardVeto(i, j);
      if (vetoed !== null) return vetoed;
      const bits = assess(i, j).conflicts;
      return bits === 0 ? null : conflictNames(bits)[0]!;
    },
    linkVeto: stewardVeto,
  };
}

/** The anti-chaining bar of the merge guard: records across a join must average the review threshold. */
export function mergeGuardOptions(model: MatchModel, threshold = model.thresholds.matchThreshold): MergeGuardOptions {
  return { minMeanWeight: probabilityToWeight(Math.min(model.thresholds.reviewThreshold, threshold)) };
}

/**
 * The clustering guard on two small groups of records (e.g. the records of two identities that one incoming
 * record matches): may they be one person? `notDuplicate(i, j)` says whether a steward declared record i of
 * group A and record j of group B different people.
 */
export function recordsMayMerge(
  groupA: readonly NormalisedRecord[],
  groupB: readonly NormalisedRecord[],
  model: MatchModel,
  notDuplicate?: (i: number, j: number) => boolean,
): MergeDecision {
  const prepared = [...groupA, ...groupB].map((r) => preparedOf(r));
  const cm = compileModel(model);
  const offset = groupA.length;
  const assessor: PairAssessor = {
    weight: (i, j) => scorePrepared(prepared[i]!, prepared[j]!, cm).weight,
    cannotLink: (i, j) => {
      if (notDuplicate?.(i, j - offset)) return 'not_duplicate';
      const bits = scorePrepared(prepared[i]!, prepared[j]!, cm).conflicts;
      return bits === 0 ? null : conflictNames(bits)[0]!;
    },
  };
  const a = groupA.map((_, i) => i);
  const b = groupB.map((_, j) => offset + j);
  return mergeAllowed(a, b, assessor, mergeGuardOptions(model));
}

/**
 * Links a set of records with a model: blocks, compares, scores, and clusters the pairs at or above the
 * threshold into identities, never across a conflict or a steward's not-duplicate decision. Accepts a batch
 * from `trainModel` to skip comparing the pairs again.
 */
export function linkRecords(input: readonly NormalisedRecord[] | Batch, model: MatchModel, options: LinkOptions = {}): LinkResult {
  const reuse = 'pairCount' in input && sameRules(input, model);
  const batch: Batch = reuse
    ? (input as Batch)
    : buildBatch('pairCount' in input ? input.prepared : input, {
        rules: model.blockingRules,
        sources: options.sources,
        mode: options.mode,
        onProgress: options.onProgress,
      });
  const cm = compileModel(model);
  const threshold = options.threshold ?? model.thresholds.matchThreshold;
  const linkWeight = probabilityToWeight(threshold);
  const { links, vetoes } = scoreCandidates(batch, cm, linkWeight, options.onProgress);
  const clustering = clusterPairs(
    batch.prepared.length,
    links,
    batchAssessor(batch, cm, options.cannotLink),
    mergeGuardOptions(model, threshold),
    phaseProgress(options.onProgress, 'cluster', links.count),
  );
  return {
    model,
    pairsCompared: batch.pairCount,
    links,
    conflictVetoes: vetoes,
    clusterOf: clustering.clusterOf,
    clusterCount: clustering.clusterCount,
    refusedMerges: clustering.refused,
    blocking: batch.blocking,
  };
}

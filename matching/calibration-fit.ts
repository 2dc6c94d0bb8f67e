import { unpackLevels } from './batch.ts';
import type { Batch } from './batch.ts';
import { MIN_CALIBRATION_PAIRS, isotonicSteps, roundedSteps } from './calibration.ts';
import type { Calibration } from './calibration.ts';
import { COMPARISONS } from './comparisons.ts';
import { conflictBits } from './conflicts.ts';
import type { MatchModel } from './model.ts';
import { compileModel, weightOfLevels } from './scoring.ts';

/** Candidate pairs fitted at most (evenly strided): a million-record registry has tens of millions. */
export const MAX_CALIBRATION_PAIRS = 500_000;

/**
 * Fits the calibration on the candidate pairs of `batch` against the clustering `clusterOf` that linking them
 * with `model` produced (`linkRecords`). Pure: the same batch and clusters give the same map.
 */
export function fitCalibration(batch: Batch, model: MatchModel, clusterOf: ArrayLike<number>): Calibration {
  const cm = compileModel(model);
  const levels = new Uint8Array(COMPARISONS.length);
  const clear: { weight: number; together: boolean }[] = [];
  const conflicted: { weight: number; together: boolean }[] = [];
  const stride = Math.max(1, Math.ceil(batch.pairCount / MAX_CALIBRATION_PAIRS));
  for (let p = 0; p < batch.pairCount; p += stride) {
    unpackLevels(batch.levelsLo[p]!, batch.levelsHi[p]!, levels);
    const a = batch.pairA[p]!;
    const b = batch.pairB[p]!;
    const ra = batch.prepared[a]!;
    const point = { weight: weightOfLevels(cm, ra, levels), together: clusterOf[a] === clusterOf[b] };
    (conflictBits(ra, batch.prepared[b]!, levels, cm.conflictMask) !== 0 ? conflicted : clear).push(point);
  }
  const fit = (points: typeof clear) => (points.length >= MIN_CALIBRATION_PAIRS ? roundedSteps(isotonicSteps(points)) : []);
  return {
    method: 'cluster-consistency',
    clear: fit(clear),
    conflicted: fit(conflicted),
    pairs: { clear: clear.length, conflicted: conflicted.length },
  };
}

/** `model` with the calibration fitted on its own linkage of `batch` (`fitCalibration`); decisions are unchanged. */
export function calibrateModel(model: MatchModel, batch: Batch, clusterOf: ArrayLike<number>): MatchModel {
  return { ...model, calibration: fitCalibration(batch, model, clusterOf) };
}

import { calibratedProbability } from './calibration.ts';
import { COMPARISONS, NULL_LEVEL, compareAll } from './comparisons.ts';
import { conflictBits, conflictMask, conflictNames } from './conflicts.ts';
import { compileDateFrequency } from './date-frequency.ts';
import type { MatchModel } from './model.ts';
import type { NormalisedRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';
import type { PreparedRecord } from './prepared.ts';

/**
 * Fellegi-Sunter arithmetic (Fellegi & Sunter 1969, in the log2 form Splink uses): a pair's match weight is
 * log2(lambda / (1 - lambda)) plus, per comparison, log2(m / u) of its level; the exact level of a name is
 * adjusted by term frequency, log2(u_exact / frequency(value)), so a shared rare surname counts for more than a
 * shared common one; an exact birth date likewise by the rarity of its year and day (`date-frequency.ts`). The
 * probability is 2^w / (1 + 2^w).
 */

export interface Contribution {
  comparison: string;
  level: string;
  weight: number;
  tfAdjustment?: number;
  /** Set when the weight used u conditional on another comparison's level (e.g. "location=address"). */
  condition?: string;
}

/** The waterfall behind a score: the prior weight plus every contribution is the match weight. */
export interface Explanation {
  prior: number;
  contributions: Contribution[];
  /** Hard reasons the pair must not be linked automatically (`conflicts.ts`). */
  conflicts: string[];
  /**
   * How often a pair at this weight (and with or without a conflict) is one person, by the model's calibration
   * (`calibration.ts`); absent when the model has none. The Fellegi-Sunter probability still decides.
   */
  calibratedProbability?: number;
}

export interface PairScore {
  weight: number;
  probability: number;
  explanation: Explanation;
}

/** A model turned into lookup tables: weights per level and term-frequency adjustments per value. */
export interface CompiledModel {
  model: MatchModel;
  priorWeight: number;
  /** Per engine comparison: weight of each level (index 0, the null level, is 0); all zero when unused. */
  levelWeights: Float64Array[];
  /** Per engine comparison with TF: adjustment of the exact level by value, and the default for other values. */
  tf: ({ byValue: Map<string, number>; otherwise: number } | null)[];
  /** Per engine comparison: adjustment of the exact level computed from the value (birth-date rarity), or null. */
  rarity: (((a: PreparedRecord) => number) | null)[];
  /** Per engine comparison: its place among those with an adjustment (`tf` or `rarity`), or -1 for none. */
  adjustedSlot: Int32Array;
  /** How many comparisons have an adjustment. */
  adjustedSlots: number;
  used: boolean[];
  /** Per engine comparison: weights that replace `levelWeights` when another comparison is at given levels. */
  conditional: ({ other: number; when: boolean[]; weights: Float64Array } | null)[];
  conflictMask: number;
  /** Weight at which the probability reaches the match threshold. */
  matchWeight: number;
}

export const weightToProbability = (w: number) => 1 / (1 + 2 ** -w);
export const probabilityToWeight = (p: number) => Math.log2(p / (1 - p));

const compiled = new WeakMap<MatchModel, CompiledModel>();

/** Compiles (once per model object) the lookup tables used by scoring. */
export function compileModel(model: MatchModel): CompiledModel {
  const hit = compiled.get(model);
  if (hit) return hit;
  const byName = new Map(model.comparisons.map((c) => [c.name, c]));
  const levelWeights: Float64Array[] = [];
  const tf: CompiledModel['tf'] = [];
  const used: boolean[] = [];
  const conditional: CompiledModel['conditional'] = [];
  const rarity: CompiledModel['rarity'] = [];
  for (const def of COMPARISONS) {
    const spec = byName.get(def.name);
    const weights = new Float64Array(def.levels.length + 1);
    used.push(spec !== undefined);
    if (spec) spec.levels.forEach((l, i) => (weights[i + 1] = Math.log2(l.m / l.u)));
    levelWeights.push(weights);
    conditional.push(spec?.conditionalU ? compileConditional(spec.levels, spec.conditionalU) : null);
    rarity.push(spec?.dateFrequency ? compileDateFrequency(spec.dateFrequency) : null);
    if (spec?.tf) {
      const uExact = spec.levels[0]!.u;
      const adjust = (f: number) => Math.log2(uExact / Math.max(f, spec.tf!.minFrequency));
      const byValue = new Map(Object.entries(spec.tf.frequencies).map(([v, f]) => [v, adjust(f)]));
      tf.push({ byValue, otherwise: adjust(spec.tf.minFrequency) });
    } else tf.push(null);
  }
  const adjustedSlot = new Int32Array(COMPARISONS.length).fill(-1);
  let adjustedSlots = 0;
  for (let k = 0; k < COMPARISONS.length; k++) if (tf[k] !== null || rarity[k] !== null) adjustedSlot[k] = adjustedSlots++;
  const result: CompiledModel = {
    model,
    priorWeight: probabilityToWeight(model.prior),
    levelWeights,
    tf,
    rarity,
    adjustedSlot,
    adjustedSlots,
    used,
    conditional,
    conflictMask: conflictMask(model.conflictRules),
    matchWeight: probabilityToWeight(model.thresholds.matchThreshold),
  };
  compiled.set(model, result);
  return result;
}

function compileConditional(
  levels: MatchModel['comparisons'][number]['levels'],
  cond: NonNullable<MatchModel['comparisons'][number]['conditionalU']>,
): CompiledModel['conditional'][number] {
  const other = COMPARISONS.findIndex((c) => c.name === cond.when.comparison);
  const when = [false, ...COMPARISONS[other]!.levels.map((id) => cond.when.levels.includes(id))];
  const weights = new Float64Array(levels.length + 1);
  levels.forEach((l, i) => (weights[i + 1] = Math.log2(l.m / cond.u[i]!)));
  return { other, when, weights };
}

/** Term-frequency adjustment for comparison `k` at its exact level (the value is equal on both sides). */
export function tfAdjustment(cm: CompiledModel, k: number, a: PreparedRecord): number {
  const table = cm.tf[k];
  if (!table) {
    const rarity = cm.rarity[k];
    return rarity ? rarity(a) : 0;
  }
  const value = a[COMPARISONS[k]!.tfField!];
  if (value === null) return 0;
  const adj = table.byValue.get(value);
  return adj === undefined ? table.otherwise : adj;
}

/**
 * The weight of every candidate pair of a batch under one compiled model, kept from the first pass that works
 * them all out (training's threshold search) for the next (linking with the same model): at a million records
 * that is 8.7M weighings, each with term-frequency lookups. Keyed by the batch and checked against the model,
 * so a batch linked with another model is weighed afresh.
 */
const batchWeights = new WeakMap<object, { cm: CompiledModel; pairCount: number; weights: Float64Array }>();

/** Keeps `weights` (one per candidate pair of `batch`, in pair order) as the weights of `cm` (`pairWeightsOf`). */
export function keepPairWeights(batch: { pairCount: number }, cm: CompiledModel, weights: Float64Array): void {
  batchWeights.set(batch, { cm, pairCount: batch.pairCount, weights });
}

/** The weights `keepPairWeights` kept for `batch` under `cm`, or null when none were (or for another model). */
export function pairWeightsOf(batch: { pairCount: number }, cm: CompiledModel): Float64Array | null {
  const kept = batchWeights.get(batch);
  return kept !== undefined && kept.cm === cm && kept.pairCount === batch.pairCount ? kept.weights : null;
}

/** Match weight of a pair from its comparison levels (`compareAll`), including TF adjustments. */
export function weightOfLevels(cm: CompiledModel, a: PreparedRecord, levels: Uint8Array): number {
  return weighLevels(cm, a, levels, null, 0);
}

/**
 * The weight of `levels` with `a`'s adjustments of the exact levels: looked up, or, with `adjustments`, read from
 * (and on first need written to) `adjustments[base + cm.adjustedSlot[k]]` (NaN: not looked up yet).
 */
function weighLevels(cm: CompiledModel, a: PreparedRecord, levels: Uint8Array, adjustments: Float64Array | null, base: number): number {
  let w = cm.priorWeight;
  const lw = cm.levelWeights;
  for (let k = 0; k < lw.length; k++) {
    const level = levels[k]!;
    const cond = cm.conditional[k] ?? null;
    if (cond !== null && cond.when[levels[cond.other]!]) {
      // Conditional u already reflects how common agreement is in that setting: no TF adjustment on top.
      w += cond.weights[level]!;
      continue;
    }
    w += lw[k]![level]!;
    const slot = cm.adjustedSlot[k]!;
    if (level !== 1 || slot < 0) continue;
    if (adjustments === null) {
      w += tfAdjustment(cm, k, a);
      continue;
    }
    let adjustment = adjustments[base + slot]!;
    if (adjustment !== adjustment) adjustments[base + slot] = adjustment = tfAdjustment(cm, k, a);
    w += adjustment;
  }
  return w;
}

/**
 * `weightOfLevels` for the pairs of one set of records, by the index of the pair's first record (the same
 * function, so the same numbers to the last bit), with each record's term-frequency and rarity adjustments looked
 * up once, when a pair first needs them, instead of once per pair the record is in: a lookup by the value in a
 * table of tens of thousands of names, for most of a million records' 8.7M candidate pairs.
 */
export function recordsWeigher(cm: CompiledModel, records: readonly PreparedRecord[]): (record: number, levels: Uint8Array) => number {
  const slots = cm.adjustedSlots;
  const adjustments = new Float64Array(records.length * slots).fill(NaN);
  return (record, levels) => weighLevels(cm, records[record]!, levels, adjustments, record * slots);
}

const scratch = new Uint8Array(COMPARISONS.length);

/** Scores two prepared records; also returns the conflict bitmask. */
export function scorePrepared(a: PreparedRecord, b: PreparedRecord, cm: CompiledModel): { weight: number; conflicts: number } {
  compareAll(a, b, scratch);
  return { weight: weightOfLevels(cm, a, scratch), conflicts: conflictBits(a, b, scratch, cm.conflictMask) };
}

/** Builds the waterfall explanation of a pair from its levels. */
export function explainLevels(cm: CompiledModel, a: PreparedRecord, b: PreparedRecord, levels: Uint8Array): PairScore {
  const contributions: Contribution[] = [];
  let weight = cm.priorWeight;
  COMPARISONS.forEach((def, k) => {
    if (!cm.used[k]) return;
    const level = levels[k]!;
    const cond = cm.conditional[k] ?? null;
    const conditioned = cond !== null && cond.when[levels[cond.other]!]!;
    const contribution: Contribution = {
      comparison: def.name,
      level: level === NULL_LEVEL ? 'null' : def.levels[level - 1]!,
      weight: conditioned ? cond.weights[level]! : cm.levelWeights[k]![level]!,
    };
    if (conditioned)
      contribution.condition = `${COMPARISONS[cond.other]!.name}=${COMPARISONS[cond.other]!.levels[levels[cond.other]! - 1]}`;
    weight += contribution.weight;
    if (level === 1 && (cm.tf[k] || cm.rarity[k]) && !conditioned) {
      contribution.tfAdjustment = tfAdjustment(cm, k, a);
      weight += contribution.tfAdjustment;
    }
    contributions.push(contribution);
  });
  const conflicts = conflictNames(conflictBits(a, b, levels, cm.conflictMask));
  const explanation: Explanation = { prior: cm.priorWeight, contributions, conflicts };
  const calibration = cm.model.calibration;
  const calibrated = calibration ? calibratedProbability(calibration, weight, conflicts.length > 0) : null;
  if (calibrated !== null) explanation.calibratedProbability = calibrated;
  return { weight, probability: weightToProbability(weight), explanation };
}

const preparedCache = new WeakMap<NormalisedRecord, PreparedRecord>();

/**
 * `prepareRecord`, once per normalised record object: a record scored against hundreds of candidates, or met
 * as a candidate by hundreds of records, is prepared once while it is in memory.
 */
export function preparedOf(r: NormalisedRecord): PreparedRecord {
  let prepared = preparedCache.get(r);
  if (prepared === undefined) preparedCache.set(r, (prepared = prepareRecord(r)));
  return prepared;
}

/** A pair's score and hard conflicts, with the waterfall built only when asked for. */
export interface PairVerdict {
  weight: number;
  probability: number;
  /** Conflict rule names (`conflicts.ts`); shared and frozen when empty. */
  conflicts: readonly string[];
  /** The waterfall of `scorePair` (same weight); built on each call. */
  explain: () => Explanation;
}

const NO_CONFLICTS: readonly string[] = Object.freeze([]);
const verdictLevels = new Uint8Array(COMPARISONS.length);

/**
 * `scorePair` without the waterfall: the same weight (`weightOfLevels` adds the same terms in the same order as
 * `explainLevels`), for planners that score many pairs and explain only the few they keep.
 */
export function scorePairVerdict(a: NormalisedRecord, b: NormalisedRecord, model: MatchModel): PairVerdict {
  const cm = compileModel(model);
  const pa = preparedOf(a);
  const pb = preparedOf(b);
  compareAll(pa, pb, verdictLevels);
  const weight = weightOfLevels(cm, pa, verdictLevels);
  return verdictOf(weight, conflictBits(pa, pb, verdictLevels, cm.conflictMask), a, b, model);
}

/**
 * Weights and conflict bits of the pairs `(pairA[k], pairB[k])` of `records`, for k in [start, end), written at
 * k: a share of a scoring job the batch engine splits across threads (every thread computes a pair alike).
 */
export function scorePairRange(
  records: readonly PreparedRecord[],
  cm: CompiledModel,
  pairs: { pairA: Int32Array; pairB: Int32Array },
  start: number,
  end: number,
  out: { weights: Float64Array; conflicts: Uint32Array },
): void {
  for (let k = start; k < end; k++) {
    const a = records[pairs.pairA[k]!]!;
    const s = scorePrepared(a, records[pairs.pairB[k]!]!, cm);
    out.weights[k] = s.weight;
    out.conflicts[k] = s.conflicts;
  }
}

/** A verdict from a weight and conflict bits scored elsewhere (`scorePairRange`), explained on demand. */
export function verdictOf(weight: number, conflicts: number, a: NormalisedRecord, b: NormalisedRecord, model: MatchModel): PairVerdict {
  return {
    weight,
    probability: weightToProbability(weight),
    conflicts: conflicts === 0 ? NO_CONFLICTS : conflictNames(conflicts),
    explain: () => scorePair(a, b, model).explanation,
  };
}

/** Scores two normalised records with a model: weight, probability and the waterfall explanation. */
export function scorePair(a: NormalisedRecord, b: NormalisedRecord, model: MatchModel): PairScore {
  const cm = compileModel(model);
  const pa = preparedOf(a);
  const pb = preparedOf(b);
  const levels = new Uint8Array(COMPARISONS.length);
  compareAll(pa, pb, levels);
  return explainLevels(cm, pa, pb, levels);
}

/** Match grades, strongest first (FHIR `$match` match-grade: certain, probable, possible). */
export const GRADES = ['CERTAIN', 'PROBABLE', 'POSSIBLE'] as const;
export type Grade = (typeof GRADES)[number];

/**
 * Grade of a match probability against the model's thresholds: CERTAIN from the match threshold (linked
 * automatically), PROBABLE from the review threshold (a steward decides), POSSIBLE below.
 */
export function gradeOf(probability: number, model: Pick<MatchModel, 'thresholds'>): Grade {
  if (probability >= model.thresholds.matchThreshold) return 'CERTAIN';
  if (probability >= model.thresholds.reviewThreshold) return 'PROBABLE';
  return 'POSSIBLE';
}

/** The probabilities a grade covers under the model's thresholds: from (inclusive) and below (exclusive; null: up to 1). */
export function gradeBand(grade: Grade, model: Pick<MatchModel, 'thresholds'>): { from: number; below: number | null } {
  const { matchThreshold, reviewThreshold } = model.thresholds;
  if (grade === 'CERTAIN') return { from: matchThreshold, below: null };
  if (grade === 'PROBABLE') return { from: reviewThreshold, below: matchThreshold };
  return { from: 0, below: reviewThreshold };
}

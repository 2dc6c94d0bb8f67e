import { buildBatch, histogramFromMap, unpackLevels } from './batch.ts';
import type { Batch, ProgressFn } from './batch.ts';
import type { LinkMode } from './blocking.ts';
import { COMPARISONS, COMPARISON_INDEX, compareAll, levelIndex } from './comparisons.ts';
import { CONFLICT_RULES, GIVEN_DIFFERS_LEVELS } from './conflicts.ts';
import type { ConflictRule } from './conflicts.ts';
import { DEFAULT_BLOCKING_RULES, DEFAULT_MATCH_THRESHOLD, DEFAULT_PRIOR, DEFAULT_REVIEW_THRESHOLD, defaultModel } from './default-model.ts';
import { MIN_PROBABILITY, runEm } from './em.ts';
import { householdFamilyU } from './household.ts';
import { buildDateFrequency } from './date-frequency.ts';
import type { LevelProbabilities, PatternHistogram } from './em.ts';
import type { KeyPart } from './key-parts.ts';
import { MODEL_FORMAT } from './model.ts';
import type { BlockingRule, MatchModel, TrainingSummary } from './model.ts';
import { NORMALISER_VERSION } from './normalise.ts';
import type { NormalisedRecord } from './normalise.ts';
import type { PreparedRecord } from './prepared.ts';
import { fnv1a, mulberry32 } from './random.ts';
import { buildTfTables } from './term-frequency.ts';
import { errorRateThreshold } from './thresholds.ts';

/** A pair with a known answer, by record index. */
export interface LabelledPair {
  a: number;
  b: number;
  match: boolean;
}

export interface TrainOptions {
  seed?: number;
  maxIterations?: number;
  /** Optional clerical labels: m is then counted from the labelled matches instead of estimated by EM. */
  labels?: LabelledPair[];
  createdAt?: string;
  version?: string;
  sources?: ArrayLike<number>;
  mode?: LinkMode;
  blockingRules?: BlockingRule[];
  /** Random pairs sampled to estimate u. */
  randomPairs?: number;
  /**
   * The levels of those random pairs, counted elsewhere (e.g. split across threads) from `randomPairs` with the
   * same count and seed; counted here when absent.
   */
  randomLevels?: RandomLevels;
  /** `sameAddressHistogram` of the batch, built elsewhere (e.g. on another thread); built here when absent. */
  householdHistogram?: PatternHistogram;
  /** Fixed thresholds; by default the match threshold is set from the expected link precision (`thresholds.ts`). */
  thresholds?: { matchThreshold: number; reviewThreshold: number };
  onProgress?: ProgressFn;
}

/**
 * Random pairs for u: three per record, between 300,000 (enough for levels of 1-in-10,000 frequency to be seen
 * ~30 times) and a million (a few seconds of comparing); small inputs use every pair.
 */
export const MIN_RANDOM_PAIRS = 300_000;
export const MAX_RANDOM_PAIRS = 1_000_000;
const RANDOM_PAIRS_PER_RECORD = 3;
export const DEFAULT_MAX_ITERATIONS = 100;
/** Seed of the random-pair sample when the caller gives none. */
export const DEFAULT_TRAINING_SEED = 1;
/** EM stops when no m moves by more than this. */
const EM_TOLERANCE = 1e-6;
/** Share of a session's pairs that must carry a comparison (not null on it) for it to count towards identifying EM. */
const MIN_CARRIED_SHARE = 0.05;
/** Largest pair sample per EM session; more pairs add nothing to a histogram's proportions. */
const MAX_SESSION_PAIRS = 4_000_000;
/**
 * How much evidence the untrained default model counts for, so that a small input cannot produce wild
 * estimates (three records give three random pairs): u, lambda and term frequencies start from a thousand
 * pseudo-pairs (or a hundred pseudo-records) at the default values, m from ten pseudo-matches. On inputs of
 * thousands of records the data outweighs them.
 */
const PRIOR_RANDOM_PAIRS = 1000;
const PRIOR_MATCHES = 10;
export const PRIOR_TF_RECORDS = 100;

/** Rounds of (u corrected for matches among random pairs -> m by EM -> lambda). */
const ESTIMATION_ROUNDS = 2;

/**
 * A cannot-link rule is only as good as the identifier it rests on. A twin has ~1.5% of people as a co-twin
 * (US twin birth rate ~3%), against one or more duplicate pairs per person in a registry; so once more than ~3%
 * of true matches disagree on given names, a given-name disagreement at one address and birth date is likelier a
 * data error than a twin, and the rule would cut true links. The same bound applies to SSN and birth-date
 * disagreement (the SSN and generation rules).
 */
export const MAX_IDENTIFIER_DISAGREEMENT = 0.03;

/**
 * Pairs that agree exactly on SSN and birth date are, bar a vanishing share, one person: two personal
 * identifiers (a guarantor's SSN keyed in the patient's field comes with the patient's own birth date, and a
 * twin has the same birth date but an SSN of their own). Among them the share of given-name disagreement is the
 * rate of given-name errors among true matches, measured without EM, which counts twins as matches and so
 * learns "given name differs" from the very pairs the `twin` rule exists to stop. With fewer anchor pairs
 * than this the trained m decides for the name rules, and the SSN and generation rules are kept
 * (`reliableConflictRules`).
 */
export const MIN_ANCHOR_PAIRS = 200;

const SSN_K = COMPARISONS.findIndex((c) => c.name === 'ssn');
const BIRTH_K = COMPARISONS.findIndex((c) => c.name === 'birthDate');
const GIVEN_K = COMPARISONS.findIndex((c) => c.name === 'givenName');
const FAMILY_K = COMPARISONS.findIndex((c) => c.name === 'familyName');

/**
 * Whether a pair (its levels) is an anchor for judging comparison `k`: one person bar a vanishing share, by
 * identifiers other than `k`. Exact SSN and birth date; for the birth date itself, exact SSN; for the SSN, exact
 * given name, family name and birth date (a same-named twin is rarer still than a twin).
 */
function isAnchor(levels: Uint8Array, k: number): boolean {
  if (k === SSN_K) return levels[GIVEN_K] === 1 && levels[FAMILY_K] === 1 && levels[BIRTH_K] === 1;
  if (k === BIRTH_K) return levels[SSN_K] === 1;
  return levels[SSN_K] === 1 && levels[BIRTH_K] === 1;
}

/** A comparison and the levels of it that count as disagreeing. */
interface Disagreement {
  comparison: string;
  levels: readonly string[];
}

/**
 * For each comparison, the share of disagreement (at its levels) among the anchor pairs of the batch that carry it
 * on both sides (`isAnchor`), or null if there are too few: one pass over the pairs for all of them.
 */
function anchoredDisagreements(batch: Batch, asked: readonly Disagreement[]): (number | null)[] {
  const ks = asked.map(({ comparison }) => COMPARISONS.findIndex((c) => c.name === comparison));
  const differs = asked.map(({ levels }, i) => new Set(levels.map((id) => COMPARISONS[ks[i]!]!.levels.indexOf(id) + 1)));
  const anchors = new Float64Array(asked.length);
  const disagree = new Float64Array(asked.length);
  const levels = new Uint8Array(WIDTH);
  for (let p = 0; p < batch.pairCount; p++) {
    unpackLevels(batch.levelsLo[p]!, batch.levelsHi[p]!, levels);
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i]!;
      if (levels[k] === 0 || !isAnchor(levels, k)) continue;
      anchors[i]!++;
      if (differs[i]!.has(levels[k]!)) disagree[i]!++;
    }
  }
  return ks.map((_, i) => (anchors[i]! >= MIN_ANCHOR_PAIRS ? disagree[i]! / anchors[i]! : null));
}

/** `anchoredDisagreements` for one comparison. */
export function anchoredDisagreement(batch: Batch, comparison: string, disagreeing: readonly string[]): number | null {
  return anchoredDisagreements(batch, [{ comparison, levels: disagreeing }])[0]!;
}

/** Share of given-name disagreement among the SSN-and-birth-date anchor pairs of the batch, or null if too few. */
export function anchoredGivenDisagreement(batch: Batch): number | null {
  return anchoredDisagreement(batch, 'givenName', GIVEN_DIFFERS_LEVELS);
}

/**
 * The conflict rules whose identifiers proved reliable among true matches (anchor pairs, else the trained m). A
 * comparison whose m no EM session could estimate (`estimated`: it keeps the default model's m) shows nothing
 * about its identifier, and its rules are kept: an overlay costs more than a duplicate a steward merges.
 */
function reliableConflictRules(m: LevelProbabilities, batch: Batch, estimated: readonly boolean[]): ConflictRule[] {
  const trained = ({ comparison, levels }: Disagreement) => {
    const k = COMPARISON_INDEX.get(comparison)!;
    if (!estimated[k]) return 0;
    return levels.reduce((sum, id) => sum + m[k]![levelIndex(comparison, id)]!, 0);
  };
  const given = { comparison: 'givenName', levels: GIVEN_DIFFERS_LEVELS };
  const middle = { comparison: 'middleName', levels: ['else'] };
  const [givenAnchored, middleAnchored, ssnAnchored, birthAnchored] = anchoredDisagreements(batch, [
    given,
    middle,
    { comparison: 'ssn', levels: ['else'] },
    { comparison: 'birthDate', levels: ['else'] },
  ]);
  const givenReliable = (givenAnchored ?? trained(given)) <= MAX_IDENTIFIER_DISAGREEMENT;
  return CONFLICT_RULES.filter((rule) => {
    if (rule === 'twin') return givenReliable;
    // The middle-name rule also stands on the given name (alike, not different): both must be reliable.
    if (rule === 'twin_middle_name') return givenReliable && (middleAnchored ?? trained(middle)) <= MAX_IDENTIFIER_DISAGREEMENT;
    // Judged on anchor pairs only, and kept without them: EM counts a parent and the child named after them as one
    // person, so the trained m learns "SSNs" or "birth dates differ outright" from the pairs these rules exist to
    // stop (feeds of names and birth date, or names and SSN, lost the rules to them).
    if (rule === 'ssn_conflict') return (ssnAnchored ?? 0) <= MAX_IDENTIFIER_DISAGREEMENT;
    if (rule === 'generation_gap') return (birthAnchored ?? 0) <= MAX_IDENTIFIER_DISAGREEMENT;
    return true;
  });
}

/**
 * Which comparisons a blocking key part pins: EM must not learn them from that rule's pairs. A given name also
 * pins the sex, which it all but says: within a block of one given name everyone agrees on sex, where u (from
 * random pairs) expects half to. Left free, EM takes that agreement for evidence and counts namesakes as matches
 * (a feed of names, sex and birth date at a million records learnt that 74% of matches differ in birth date).
 */
const PART_COMPARISONS: Record<KeyPart, string[]> = {
  ssn: ['ssn'],
  phone: ['location'],
  email: ['email'],
  birthDate: ['birthDate'],
  birthYear: ['birthDate'],
  birthMonthDay: ['birthDate'],
  givenPhonetic: ['givenName', 'sex'],
  givenInitial: ['givenName', 'sex'],
  familyPhonetic: ['familyName'],
  familyInitial: ['familyName'],
  familyPrefix: ['familyName'],
  namePhonetics: ['givenName', 'familyName', 'sex'],
  postalCode: ['location'],
  streetNumber: ['location'],
  streetName: ['location'],
  city: ['location'],
  emailLocal: ['email'],
};

/**
 * Key parts that belong to one person rather than a household. EM trains only on rules with at least one: a
 * block keyed on household values alone (phone, address, postcode and family name) is full of relatives, and
 * a two-class mixture would learn "same household" as "same person".
 */
const PERSONAL_PARTS = new Set<KeyPart>([
  'ssn',
  'email',
  'emailLocal',
  'birthDate',
  'birthYear',
  'birthMonthDay',
  'givenPhonetic',
  'givenInitial',
  'namePhonetics',
]);
const isTrainingRule = (rule: BlockingRule) => rule.parts.some((part) => PERSONAL_PARTS.has(part));

const WIDTH = COMPARISONS.length;

/** Number of record pairs the mode allows (the denominator of lambda). */
export function comparablePairs(n: number, sources: Int32Array | undefined, mode: LinkMode): number {
  const all = (n * (n - 1)) / 2;
  if (!sources || mode === 'link-and-dedupe') return all;
  const sizes = new Map<number, number>();
  for (const s of sources) sizes.set(s, (sizes.get(s) ?? 0) + 1);
  let within = 0;
  for (const s of sizes.values()) within += (s * (s - 1)) / 2;
  return mode === 'dedupe' ? within : all - within;
}

/** Level counts per comparison over a sample of record pairs (`countLevels`), with the sample size. */
export interface RandomLevels {
  counts: Float64Array[];
  sampled: number;
}

/** Random pairs sampled for u on `n` records unless the caller says otherwise (`TrainOptions.randomPairs`). */
export const defaultRandomPairs = (n: number): number =>
  Math.min(MAX_RANDOM_PAIRS, Math.max(MIN_RANDOM_PAIRS, RANDOM_PAIRS_PER_RECORD * n));

/**
 * The record pairs whose levels estimate u (mostly non-matches): every pair the mode allows when there are at
 * most `count`, else `count` pairs drawn with the seed. Deterministic, so any thread can count any share of them.
 */
export function randomPairs(
  batch: Pick<Batch, 'prepared' | 'sources' | 'mode'>,
  count: number,
  seed: number,
): { pairA: Int32Array; pairB: Int32Array } {
  const n = batch.prepared.length;
  const { sources, mode } = batch;
  const allowed = (i: number, j: number) => !sources || mode === 'link-and-dedupe' || (sources[i] === sources[j]) !== (mode === 'link');
  const a: number[] = [];
  const b: number[] = [];
  if (comparablePairs(n, sources, mode) <= count) {
    // Small inputs: every pair, exactly.
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++)
        if (allowed(i, j)) {
          a.push(i);
          b.push(j);
        }
  } else {
    const rng = mulberry32(seed);
    for (let attempt = 0; a.length < count && attempt < count * 20; attempt++) {
      const i = Math.floor(rng() * n);
      const j = Math.floor(rng() * n);
      if (i !== j && allowed(i, j)) {
        a.push(i);
        b.push(j);
      }
    }
  }
  return { pairA: Int32Array.from(a), pairB: Int32Array.from(b) };
}

/**
 * Level counts per comparison over pairs `from..to-1`: a share of the random sample that any thread can count;
 * counts are whole numbers, so adding the shares up (`addLevelCounts`) gives the same totals in any order.
 */
export function countLevels(
  prepared: readonly PreparedRecord[],
  pairs: { pairA: Int32Array; pairB: Int32Array },
  from: number,
  to: number,
): Float64Array[] {
  const counts = COMPARISONS.map((c) => new Float64Array(c.levels.length + 1));
  const levels = new Uint8Array(WIDTH);
  for (let p = from; p < to; p++) {
    compareAll(prepared[pairs.pairA[p]!]!, prepared[pairs.pairB[p]!]!, levels);
    for (let k = 0; k < WIDTH; k++) counts[k]![levels[k]!]!++;
  }
  return counts;
}

/**
 * Counts the level patterns of `pairs` chunk by chunk, claiming each chunk by incrementing `next` (shared between
 * the threads) until none is left; returns the counts of the chunks this thread took, or null if it took none.
 */
export function countClaimedChunks(
  prepared: readonly PreparedRecord[],
  pairs: { pairA: Int32Array; pairB: Int32Array },
  next: Int32Array,
  chunk: number,
): Float64Array[] | null {
  let counts: Float64Array[] | null = null;
  for (;;) {
    const from = Atomics.add(next, 0, 1) * chunk;
    if (from >= pairs.pairA.length) return counts;
    const share = countLevels(prepared, pairs, from, Math.min(pairs.pairA.length, from + chunk));
    if (counts) addLevelCounts(counts, share);
    else counts = share;
  }
}

/** Adds level counts of another share into `into`. */
export function addLevelCounts(into: Float64Array[], from: readonly Float64Array[]): void {
  for (let k = 0; k < into.length; k++) for (let l = 0; l < into[k]!.length; l++) into[k]![l]! += from[k]![l]!;
}

/** Level counts over the random pairs of `randomPairs`, on this thread. */
function sampleRandomLevels(batch: Batch, count: number, seed: number): RandomLevels {
  const pairs = randomPairs(batch, count, seed);
  return { counts: countLevels(batch.prepared, pairs, 0, pairs.pairA.length), sampled: pairs.pairA.length };
}

/**
 * u per level from random-pair counts, after removing the matches expected among them (lambda * m of each
 * level): random pairs are a mixture too, and in a small file with many duplicates the matches would otherwise
 * inflate u of the agreement levels. A level never seen gets half a count.
 */
function estimateU(random: { counts: Float64Array[]; sampled: number }, m: LevelProbabilities | null, lambda: number): LevelProbabilities {
  const prior = defaultParameters().u;
  return random.counts.map((c, k) => {
    let nonNull = 0;
    for (let l = 1; l < c.length; l++) nonNull += c[l]!;
    const total = nonNull + PRIOR_RANDOM_PAIRS;
    const floor = 0.5 / total;
    const u = new Float64Array(c.length);
    let norm = 0;
    for (let l = 1; l < c.length; l++) {
      const matches = m ? lambda * nonNull * m[k]![l]! : 0;
      norm += u[l] = Math.max((Math.max(c[l]! - matches, 0) + PRIOR_RANDOM_PAIRS * prior[k]![l]!) / total, floor);
    }
    for (let l = 1; l < c.length; l++) u[l] = u[l]! / norm;
    return u;
  });
}

/** Histograms of comparison patterns: over all candidate pairs, and per blocking rule for its EM session. */
function patternHistograms(batch: Batch): { union: PatternHistogram; perRule: PatternHistogram[] } {
  const rules = batch.rules.length;
  const index = new Map<number, number>();
  let counts = new Float64Array(1024 * (rules + 1));
  const stride = Math.max(1, Math.ceil(batch.pairCount / MAX_SESSION_PAIRS));
  for (let p = 0; p < batch.pairCount; p += stride) {
    const key = batch.levelsHi[p]! * 4294967296 + batch.levelsLo[p]!;
    let slot = index.get(key);
    if (slot === undefined) {
      slot = index.size;
      index.set(key, slot);
      if ((slot + 1) * (rules + 1) > counts.length) {
        const bigger = new Float64Array(counts.length * 2);
        bigger.set(counts);
        counts = bigger;
      }
    }
    const base = slot * (rules + 1);
    counts[base + rules]! += stride;
    const mask = batch.ruleMask[p]!;
    for (let r = 0; r < rules; r++) if (mask & (1 << r)) counts[base + r]! += stride;
  }
  const toHistogram = (column: number) => {
    const map = new Map<number, number>();
    for (const [key, slot] of index) {
      const c = counts[slot * (rules + 1) + column]!;
      if (c > 0) map.set(key, c);
    }
    return histogramFromMap(map);
  };
  return { union: toHistogram(rules), perRule: batch.rules.map((_, r) => toHistogram(r)) };
}

type Session = TrainingSummary['emSessions'][number];

/**
 * m by EM, one session per blocking rule with that rule's own comparisons held out (within a block they agree
 * by construction), then averaged over sessions weighted by the matches each found.
 */
function estimateM(
  perRule: PatternHistogram[],
  rules: BlockingRule[],
  start: { m: LevelProbabilities; u: LevelProbabilities },
  maxIterations: number,
): { m: LevelProbabilities; sessions: Session[]; estimated: boolean[] } {
  const sums = start.m.map((levels) => new Float64Array(levels.length));
  const weights = new Float64Array(WIDTH);
  const sessions: Session[] = [];
  rules.forEach((rule, r) => {
    if (!isTrainingRule(rule)) return;
    const held = new Set(rule.parts.flatMap((part) => PART_COMPARISONS[part]));
    const free = COMPARISONS.map((c) => !held.has(c.name));
    const h = perRule[r]!;
    if (h.size === 0) return;
    let pairs = 0;
    for (let p = 0; p < h.size; p++) pairs += h.counts[p]!;
    // Two classes cannot be told apart on one comparison: a session whose pairs carry fewer than two of its free
    // comparisons would split them on that one alone (agree = match), so it is left out.
    if (carriedComparisons(h, free, pairs) < 2) return;
    const result = runEm(h, { m: start.m, u: start.u, lambda: 0.5 }, { free, maxIterations, tolerance: EM_TOLERANCE, updateM: true });
    sessions.push({ rule: rule.name, pairs, iterations: result.iterations, matchShare: result.lambda, converged: result.converged });
    for (let k = 0; k < WIDTH; k++) {
      if (!free[k]) continue;
      weights[k] = weights[k]! + result.expectedMatches;
      for (let l = 1; l < sums[k]!.length; l++) sums[k]![l]! += result.expectedMatches * result.m[k]![l]!;
    }
  });
  const prior = defaultParameters().m;
  const m = sums.map((s, k) =>
    s.map((v, l) => (l === 0 ? 0 : Math.max((v + PRIOR_MATCHES * prior[k]![l]!) / (weights[k]! + PRIOR_MATCHES), MIN_PROBABILITY))),
  );
  return { m, sessions, estimated: COMPARISONS.map((_, k) => weights[k]! > 0) };
}

/** Free comparisons that at least MIN_CARRIED_SHARE of a session's `pairs` carry (are not null on). */
function carriedComparisons(h: PatternHistogram, free: readonly boolean[], pairs: number): number {
  const carried = new Float64Array(h.width);
  for (let p = 0; p < h.size; p++) {
    for (let k = 0; k < h.width; k++) if (h.levels[p * h.width + k]! > 0) carried[k]! += h.counts[p]!;
  }
  let n = 0;
  for (let k = 0; k < h.width; k++) if (free[k] && carried[k]! >= MIN_CARRIED_SHARE * pairs) n++;
  return n;
}

/** m counted from labelled matches, smoothed towards the starting m by one pseudo-pair. */
function mFromLabels(batch: Batch, labels: LabelledPair[], prior: LevelProbabilities): LevelProbabilities {
  const counts = prior.map((levels) => Float64Array.from(levels));
  const levels = new Uint8Array(WIDTH);
  for (const pair of labels) {
    if (!pair.match) continue;
    compareAll(batch.prepared[pair.a]!, batch.prepared[pair.b]!, levels);
    for (let k = 0; k < WIDTH; k++) if (levels[k]! > 0) counts[k]![levels[k]!]!++;
  }
  return counts.map((c) => {
    let total = 0;
    for (let l = 1; l < c.length; l++) total += c[l]!;
    return c.map((v, l) => (l === 0 ? 0 : Math.max(v / total, MIN_PROBABILITY)));
  });
}

let defaults: { m: LevelProbabilities; u: LevelProbabilities } | null = null;

/** m and u of the untrained default model, per comparison and level. */
function defaultParameters(): { m: LevelProbabilities; u: LevelProbabilities } {
  if (!defaults) {
    const model = defaultModel();
    const table = (key: 'm' | 'u') => COMPARISONS.map((_, k) => Float64Array.from([0, ...model.comparisons[k]!.levels.map((l) => l[key])]));
    defaults = { m: table('m'), u: table('u') };
  }
  return defaults;
}

function startingM(): LevelProbabilities {
  return defaultParameters().m.map((levels) => Float64Array.from(levels));
}

/** The model document: m/u per level, TF tables, the household-conditional family-name u, reliable rules. */
function assembleModel(
  batch: Batch,
  fit: { m: LevelProbabilities; u: LevelProbabilities; lambda: number; estimated: readonly boolean[] },
  summary: TrainingSummary,
  options: TrainOptions,
  maxIterations: number,
): MatchModel {
  const { m, u, lambda } = fit;
  const tf = buildTfTables(batch.prepared, (name) => u[COMPARISONS.findIndex((c) => c.name === name)]![1]!, PRIOR_TF_RECORDS);
  const household = householdFamilyU(batch, { m, u }, maxIterations, options.householdHistogram);
  const dates = buildDateFrequency(batch.prepared);
  const comparisons = COMPARISONS.map((def, k) => ({
    name: def.name,
    levels: def.levels.map((id, i) => ({ id, m: m[k]![i + 1]!, u: u[k]![i + 1]! })),
    ...(tf[def.name] ? { tf: tf[def.name] } : {}),
    ...(def.name === 'familyName' ? { conditionalU: household } : {}),
    ...(def.name === 'birthDate' && dates ? { dateFrequency: dates } : {}),
  }));
  // Assembled from validated parts by our own code: valid by construction (unit tests parse trained models).
  const model: MatchModel = {
    format: MODEL_FORMAT,
    version: options.version ?? `em-${fnv1a(JSON.stringify([comparisons, lambda]))}`,
    createdAt: options.createdAt ?? '1970-01-01T00:00:00.000Z',
    normaliserVersion: NORMALISER_VERSION,
    prior: lambda,
    thresholds: options.thresholds ?? { matchThreshold: DEFAULT_MATCH_THRESHOLD, reviewThreshold: DEFAULT_REVIEW_THRESHOLD },
    comparisons,
    blockingRules: batch.rules,
    conflictRules: reliableConflictRules(m, batch, fit.estimated),
    training: summary,
  };
  if (!options.thresholds) model.thresholds = { ...model.thresholds, matchThreshold: errorRateThreshold(batch, model) };
  return model;
}

/**
 * Trains a model without labels: u from random pairs, m by EM over blocked pairs, lambda from the expected
 * number of matches among the candidates, and term-frequency tables for names and city. Deterministic for a
 * seed. Returns the batch too, so a caller can link with it without comparing every pair again.
 */
export function trainModel(
  input: readonly NormalisedRecord[] | Batch,
  options: TrainOptions = {},
): { model: MatchModel; summary: TrainingSummary; batch: Batch } {
  const seed = options.seed ?? DEFAULT_TRAINING_SEED;
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const batch =
    'pairCount' in input
      ? input
      : buildBatch(input, {
          rules: options.blockingRules ?? DEFAULT_BLOCKING_RULES,
          sources: options.sources,
          mode: options.mode,
          onProgress: options.onProgress,
        });
  const n = batch.prepared.length;
  options.onProgress?.('train', 0, ESTIMATION_ROUNDS);
  const random = options.randomLevels ?? sampleRandomLevels(batch, options.randomPairs ?? defaultRandomPairs(n), seed);
  const { union, perRule } = patternHistograms(batch);
  const totalPairs = Math.max(comparablePairs(n, batch.sources, batch.mode), 1);
  let m = startingM();
  let u = estimateU(random, null, 0);
  let lambda = 0;
  let sessions: Session[] = [];
  let estimated = COMPARISONS.map(() => true);
  let expectedMatches = 0;
  const labelled = (options.labels?.length ?? 0) > 0;
  for (let round = 0; round < ESTIMATION_ROUNDS; round++) {
    if (labelled) m = mFromLabels(batch, options.labels!, startingM());
    else ({ m, sessions, estimated } = estimateM(perRule, batch.rules, { m, u }, maxIterations));
    const all = COMPARISONS.map(() => true);
    const fit = runEm(union, { m, u, lambda: 0.5 }, { free: all, maxIterations, tolerance: EM_TOLERANCE, updateM: false });
    expectedMatches = fit.lambda * batch.pairCount;
    lambda = Math.min((expectedMatches + PRIOR_RANDOM_PAIRS * DEFAULT_PRIOR) / (totalPairs + PRIOR_RANDOM_PAIRS), 0.5);
    u = estimateU(random, m, lambda);
    options.onProgress?.('train', round + 1, ESTIMATION_ROUNDS);
  }
  const summary: TrainingSummary = {
    records: n,
    candidatePairs: batch.pairCount,
    randomPairs: random.sampled,
    emSessions: sessions,
    expectedMatches,
    seed,
    labelled,
  };
  const model = assembleModel(batch, { m, u, lambda, estimated }, summary, options, maxIterations);
  return { model, summary, batch };
}

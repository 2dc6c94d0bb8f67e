/**
 * Accuracy benchmark: runs the `mpi link` pipeline unsupervised (default configuration with --keep-invalid, so
 * records with corrupted dates are linked without them rather than left out; model trained on each input) over the shared labelled datasets and a synthetic US-style registry, and prints pairwise precision,
 * recall and F1 per dataset; the registry also as narrower feeds send it (`FEED_SHAPES`: names, sex and birth date
 * only, in every record and in the lab source's records only; with a phone; with a postcode; names, sex and SSN;
 * given name, family name and birth date alone).
 * Cross-checks each score with the independent scorer `eval_pairs.py` when python3
 * is available.
 *
 *   npm run bench:accuracy [-- --datasets febrl3,febrl4 --synth-records 20000 --seed 7]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { runLink } from '../cli/link.ts';
import {
  DEFAULT_BLOCKING_RULES,
  buildBatch,
  calibratedProbability,
  compileModel,
  pairwiseScore,
  parseModel,
  reliability,
  scorePair,
  scorePairRange,
  weightToProbability,
} from '../matching/index.ts';
import type { MatchModel, PreparedRecord } from '../matching/index.ts';
import type { ReliabilityBin } from '../matching/index.ts';
import { readInputs } from '../cli/link-input.ts';
import type { LinkMode } from '../matching/index.ts';
import { sharedDir } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DATASETS = join(sharedDir(ROOT), 'datasets');
const EVAL_PAIRS = join(sharedDir(ROOT), 'tools/eval_pairs.py');
const OUT = join(ROOT, 'bench/out/accuracy');

export interface Dataset {
  name: string;
  files: string[];
  truth: string;
  /** Look-alike pairs of people (`cluster_a,cluster_b,relation`): twins, Jr/Sr, spouses, siblings, ... */
  relations?: string;
  /** Clerical labels of pairs (`unique_id_l,unique_id_r,clerical_match_score`), for calibration. */
  labels?: string;
  mode?: LinkMode;
  /** Score only pairs across sources (two-file linkage). */
  crossSource?: boolean;
}

export function sharedDatasets(dir = DATASETS): Dataset[] {
  const one = (name: string): Dataset => ({ name, files: [join(dir, `${name}.csv`)], truth: join(dir, `${name}_truth.csv`) });
  return [
    one('febrl1'),
    one('febrl2'),
    one('febrl3'),
    {
      name: 'febrl4',
      files: [join(dir, 'febrl4a.csv'), join(dir, 'febrl4b.csv')],
      truth: join(dir, 'febrl4_truth.csv'),
      mode: 'link',
      crossSource: true,
    },
    { ...one('fake_1000'), labels: join(dir, 'fake_1000_labels.csv') },
    one('rldata500'),
  ];
}

/** Generates (once, cached in bench/out) the synthetic registry used for accuracy. */
function synthDataset(records: number, seed: number): Dataset {
  const file = join(ROOT, `bench/out/synth-acc-${records}-s${seed}.csv`);
  const truth = file.replace(/\.csv$/, '_truth.csv');
  const relations = file.replace(/\.csv$/, '_relations.csv');
  if (!existsSync(file) || !existsSync(truth) || !existsSync(relations)) {
    execFileSync(
      'npx',
      ['tsx', 'bench/synth/generate.ts', '--records', String(records), '--seed', String(seed), '--out', file, '--relations'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  }
  return { name: `synth-${records}`, files: [file], truth, relations };
}

/**
 * What narrower feeds send: the fields each keeps, with every other field left empty, and the registry's own
 * people, truth and look-alikes. `sparse` is names, sex and birth date (a lab or immunisation feed); `phone` adds a
 * phone number, and `postcode` a postcode, without an address; `ssn` is names, sex and SSN without a birth date (a
 * payer's member file); `names-dob` is given name, family name and birth date alone, without sex or middle name
 * (the shape of rldata500).
 */
const NAMES_AND_SEX = ['record_id', 'source', 'givenName', 'middleName', 'familyName', 'suffix', 'sex'] as const;
export const FEED_SHAPES = {
  sparse: [...NAMES_AND_SEX, 'birthDate'],
  phone: [...NAMES_AND_SEX, 'birthDate', 'phone'],
  postcode: [...NAMES_AND_SEX, 'birthDate', 'postalCode'],
  ssn: [...NAMES_AND_SEX, 'ssn'],
  'names-dob': ['record_id', 'source', 'givenName', 'familyName', 'suffix', 'birthDate'],
} as const;
export type FeedShape = keyof typeof FEED_SHAPES;

/**
 * The registry as a feed of `shape` sends it (`-sparse`, `-phone`, ...), in every record or only in the records of
 * one source (`-<source>-sparse`), the others rich. Written beside the registry.
 */
export function feedVariant(d: Dataset, shape: FeedShape, source?: string): Dataset {
  const [file] = d.files;
  const name = `${d.name}-${source ? `${source}-` : ''}${shape}`;
  const out = join(dirname(file!), `${name}.csv`);
  const kept = new Set<string>(FEED_SHAPES[shape]);
  const rows = readCsv(file!);
  const columns = Object.keys(rows[0] ?? {});
  const sparse = rows.map((row) => {
    if (source !== undefined && row.source !== source) return row;
    return Object.fromEntries(columns.map((c) => [c, kept.has(c) ? row[c] : '']));
  });
  writeFileSync(out, stringify(sparse, { header: true, columns }));
  return { ...d, name, files: [out] };
}

function readCsv(path: string): Record<string, string>[] {
  return parse(readFileSync(path), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

export interface AccuracyRow {
  dataset: string;
  records: number;
  truePairs: number;
  predictedPairs: number;
  precision: number;
  recall: number;
  f1: number;
  seconds: number;
  pairsCompared: number;
  /** Share of true pairs that blocking made candidates (before clustering closes chains). */
  blockingRecall: number;
  blocking: RuleAnalysis[];
  check?: string;
  calibration: Calibration[];
  lookAlikes?: LookAlikeRow[];
}

/** Per kind of look-alike: how many pairs of such people exist and how many were merged into one identity. */
export interface LookAlikeRow {
  relation: string;
  pairs: number;
  merged: number;
}

/** Counts the look-alike people pairs (different true clusters) that the predicted clusters put together. */
function lookAlikeMerges(
  relationsFile: string,
  predicted: Record<string, string>[],
  truth: Map<string, Record<string, string>>,
): LookAlikeRow[] {
  const together = new Set<string>();
  const membersOf = new Map<string, Set<string>>();
  for (const row of predicted) {
    const person = truth.get(row.record_id!)?.cluster_id;
    if (person === undefined) continue;
    let people = membersOf.get(row.cluster_id!);
    if (!people) membersOf.set(row.cluster_id!, (people = new Set()));
    people.add(person);
  }
  for (const people of membersOf.values()) {
    if (people.size < 2) continue;
    const list = [...people];
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) together.add(`${list[x]}|${list[y]}`).add(`${list[y]}|${list[x]}`);
  }
  const rows = new Map<string, LookAlikeRow>();
  for (const r of readCsv(relationsFile)) {
    const row = rows.get(r.relation!) ?? { relation: r.relation!, pairs: 0, merged: 0 };
    row.pairs++;
    if (together.has(`${r.cluster_a}|${r.cluster_b}`)) row.merged++;
    rows.set(r.relation!, row);
  }
  return [...rows.values()];
}

export interface Calibration {
  against: string;
  /** At the stated probability: the model's calibration (`matching/calibration.ts`) where it has one. */
  bins: ReliabilityBin[];
  brier: number;
  /** The same pairs at the uncalibrated Fellegi-Sunter probability. */
  fellegiSunter: { bins: ReliabilityBin[]; brier: number };
}

/** One blocking rule's share of the work: the pairs and true pairs it found that no earlier rule had. */
export interface RuleAnalysis {
  rule: string;
  newPairs: number;
  newTruePairs: number;
  skippedBlocks: number;
}

/**
 * Blocking analysis (as in Splink's `count_comparisons_from_blocking_rule` and cumulative comparisons chart):
 * per rule in order, the candidate pairs it adds and the true pairs among them, so a rule earns its place by
 * recall gained per pair compared.
 */
async function analyseBlocking(d: Dataset, truth: Map<string, Record<string, string>>): Promise<RuleAnalysis[]> {
  const input = await readInputs(d.files, undefined, { keepInvalid: true });
  const batch = buildBatch(input.prepared, { rules: DEFAULT_BLOCKING_RULES, sources: input.sources, mode: d.mode });
  const cluster = (i: number) => truth.get(input.ids[i]!)?.cluster_id;
  const rows = batch.blocking.map((b) => ({ rule: b.rule, newPairs: b.newPairs, newTruePairs: 0, skippedBlocks: b.skippedBlocks }));
  for (let p = 0; p < batch.pairCount; p++) {
    const a = batch.pairA[p]!;
    const b = batch.pairB[p]!;
    if (cluster(a) === undefined || cluster(a) !== cluster(b) || (d.crossSource && input.sources[a] === input.sources[b])) continue;
    // The lowest rule bit is the rule that found the pair.
    const mask = batch.ruleMask[p]!;
    rows[31 - Math.clz32(mask & -mask)]!.newTruePairs++;
  }
  return rows;
}

/** Links one dataset with the CLI pipeline and scores the clusters it wrote. */
export async function evaluateDataset(d: Dataset, outDir = OUT, crossCheckWithPython = true): Promise<AccuracyRow> {
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${d.name}_clusters.csv`);
  const modelFile = join(outDir, `${d.name}_model.json`);
  // Every record is linked and scored (--keep-invalid): the research datasets corrupt dates on purpose, and a
  // record left out would drop its true pairs from the score instead of counting them as missed.
  const summary = await runLink({ files: d.files, out, mode: d.mode, saveModel: modelFile, keepInvalid: true });
  const predicted = readCsv(out);
  const truth = new Map(readCsv(d.truth).map((r) => [r.record_id!, r]));
  const truthOf = (i: number) => truth.get(predicted[i]!.record_id!)?.cluster_id ?? `missing-${i}`;
  const sourceOf = d.crossSource ? (i: number) => truth.get(predicted[i]!.record_id!)?.source ?? '' : undefined;
  const score = pairwiseScore(predicted.length, (i) => predicted[i]!.cluster_id!, truthOf, sourceOf);
  const blocking = await analyseBlocking(d, truth);
  const found = blocking.reduce((sum, r) => sum + r.newTruePairs, 0);
  return {
    dataset: d.name,
    records: summary.records,
    truePairs: score.truePairs,
    predictedPairs: score.predictedPairs,
    precision: score.precision,
    recall: score.recall,
    f1: score.f1,
    seconds: summary.seconds,
    pairsCompared: summary.pairsCompared,
    blockingRecall: score.truePairs === 0 ? 1 : found / score.truePairs,
    blocking,
    check: crossCheckWithPython ? crossCheck(d, out) : undefined,
    calibration: await calibrate(d, truth, modelFile),
    lookAlikes: d.relations ? lookAlikeMerges(d.relations, predicted, truth) : undefined,
  };
}

/** Calibration cap: pairs scored at most, so a large registry stays quick. */
const MAX_CALIBRATION_PAIRS = 200_000;
/** All-pairs cap: fake_1000's 499,500 pairs are scored in about 2 s; a larger labelled file is strided. */
const MAX_ALL_PAIRS = 1_000_000;

interface ScoredPair {
  probability: number;
  fellegiSunter: number;
  match: boolean;
}

function calibrationOf(against: string, scored: ScoredPair[]): Calibration {
  return {
    against,
    ...reliability(scored),
    fellegiSunter: reliability(scored.map((s) => ({ probability: s.fellegiSunter, match: s.match }))),
  };
}

/**
 * Stated match probability against the answer: on the candidate pairs of the blocking rules against the truth
 * (the pairs whose probability matters) for every dataset, and where a dataset has clerical labels, on them and on
 * every pair of its records against the truth: the population the labels sample (all true pairs, a few hard
 * non-matches), so a decile the sample reads as all matches can be read beside its rate over all pairs.
 * Measured only: the labels fit nothing.
 */
async function calibrate(d: Dataset, truth: Map<string, Record<string, string>>, modelFile: string): Promise<Calibration[]> {
  const model = parseModel(JSON.parse(readFileSync(modelFile, 'utf8')));
  const input = await readInputs(d.files, undefined, { keepInvalid: true });
  const score = (a: number, b: number, match: boolean): ScoredPair => {
    const s = scorePair(input.prepared[a]!, input.prepared[b]!, model);
    return { probability: s.explanation.calibratedProbability ?? s.probability, fellegiSunter: s.probability, match };
  };
  const batch = buildBatch(input.prepared, { rules: model.blockingRules, sources: input.sources, mode: d.mode });
  const stride = Math.max(1, Math.ceil(batch.pairCount / MAX_CALIBRATION_PAIRS));
  const cluster = (i: number) => truth.get(input.ids[i]!)?.cluster_id;
  const sameCluster = (a: number, b: number) => cluster(a) !== undefined && cluster(a) === cluster(b);
  const candidates: ScoredPair[] = [];
  for (let p = 0; p < batch.pairCount; p += stride) {
    const [a, b] = [batch.pairA[p]!, batch.pairB[p]!];
    candidates.push(score(a, b, sameCluster(a, b)));
  }
  const tables = [calibrationOf('truth, candidate pairs', candidates)];
  if (d.labels) {
    const index = new Map(input.ids.map((id, i) => [id, i]));
    const labelled: ScoredPair[] = [];
    for (const row of readCsv(d.labels)) {
      const a = index.get(row.unique_id_l!);
      const b = index.get(row.unique_id_r!);
      if (a !== undefined && b !== undefined) labelled.push(score(a, b, Number(row.clerical_match_score) >= 0.5));
    }
    tables.unshift(calibrationOf('clerical labels', labelled));
    tables.push(calibrationOf('truth, all pairs', scoreAllPairs(input.prepared, model, sameCluster)));
  }
  return tables;
}

/** Every pair of `records` (evenly strided past `MAX_ALL_PAIRS`), scored with one compiled model. */
function scoreAllPairs(
  records: readonly PreparedRecord[],
  model: MatchModel,
  sameCluster: (a: number, b: number) => boolean,
): ScoredPair[] {
  const n = records.length;
  const stride = Math.max(1, Math.ceil((n * (n - 1)) / 2 / MAX_ALL_PAIRS));
  const pairA: number[] = [];
  const pairB: number[] = [];
  let k = 0;
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      if (k++ % stride !== 0) continue;
      pairA.push(a);
      pairB.push(b);
    }
  const pairs = { pairA: Int32Array.from(pairA), pairB: Int32Array.from(pairB) };
  const out = { weights: new Float64Array(pairA.length), conflicts: new Uint32Array(pairA.length) };
  scorePairRange(records, compileModel(model), pairs, 0, pairA.length, out);
  return pairA.map((a, i) => {
    const fellegiSunter = weightToProbability(out.weights[i]!);
    const calibrated = model.calibration ? calibratedProbability(model.calibration, out.weights[i]!, out.conflicts[i] !== 0) : null;
    return { probability: calibrated ?? fellegiSunter, fellegiSunter, match: sameCluster(a, pairB[i]!) };
  });
}

/** Largest gap allowed between a decile's stated probability and its observed rate (the issue's target). */
export const CALIBRATION_TOLERANCE = 0.05;
/** Deciles with fewer labelled pairs are shown but not judged: their observed rate is too noisy. */
export const MIN_DECILE_PAIRS = 30;

function printCalibration(rows: AccuracyRow[]): void {
  for (const r of rows) {
    for (const c of r.calibration) {
      printReliability(`calibration of ${r.dataset} (${c.against}), stated probability`, c);
      printReliability(`  the same pairs at the uncalibrated Fellegi-Sunter probability`, c.fellegiSunter);
    }
  }
}

function printReliability(title: string, { bins, brier }: { bins: ReliabilityBin[]; brier: number }): void {
  const judged = bins.filter((b) => b.pairs >= MIN_DECILE_PAIRS);
  const ok = judged.every((b) => Math.abs(b.meanProbability - b.observedRate) <= CALIBRATION_TOLERANCE);
  console.log(
    `\n${title}: Brier ${brier.toFixed(4)}; deciles with >= ${MIN_DECILE_PAIRS} pairs within ±${CALIBRATION_TOLERANCE}: ${ok ? 'yes' : 'NO'}`,
  );
  console.log('decile     pairs  stated  observed  gap');
  for (const b of bins) {
    if (b.pairs === 0) continue;
    const gap = b.observedRate - b.meanProbability;
    const flag = b.pairs >= MIN_DECILE_PAIRS && Math.abs(gap) > CALIBRATION_TOLERANCE ? ' *' : '';
    console.log(
      `${b.from.toFixed(1)}-${b.to.toFixed(1)}  ${String(b.pairs).padStart(7)}  ${b.meanProbability.toFixed(3)}   ${b.observedRate.toFixed(3)}  ${gap >= 0 ? '+' : ''}${gap.toFixed(3)}${flag}`,
    );
  }
}

/** F1 from the independent Python scorer, or a note why it did not run. */
function crossCheck(d: Dataset, clusters: string): string {
  if (!existsSync(EVAL_PAIRS)) return 'no scorer';
  const args = [EVAL_PAIRS, d.truth, clusters, '--json', ...(d.crossSource ? ['--cross-source-only'] : [])];
  const run = spawnSync('python3', args, { encoding: 'utf8' });
  if (run.status !== 0) return run.error ? 'no python3' : 'scorer failed';
  try {
    const result = JSON.parse(run.stdout) as { f1?: number; precision?: number; recall?: number };
    return `F1 ${result.f1?.toFixed(4)}`;
  } catch {
    return 'unreadable';
  }
}

function printTable(rows: AccuracyRow[]): void {
  const header = [
    'dataset',
    'records',
    'true pairs',
    'pred pairs',
    'precision',
    'recall',
    'F1',
    'seconds',
    'compared',
    'blocking recall',
    'eval_pairs.py',
  ];
  const lines = rows.map((r) => [
    r.dataset,
    String(r.records),
    String(r.truePairs),
    String(r.predictedPairs),
    r.precision.toFixed(4),
    r.recall.toFixed(4),
    r.f1.toFixed(4),
    r.seconds.toFixed(2),
    String(r.pairsCompared),
    r.blockingRecall.toFixed(4),
    r.check ?? '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(format(l));
}

/** The blocking analysis of each dataset: pairs and cumulative recall as each rule is added. */
function printBlocking(rows: AccuracyRow[]): void {
  console.log('\nblocking analysis: candidate pairs added by each rule (in order) and cumulative blocking recall');
  const rules = rows[0]?.blocking.map((b) => b.rule) ?? [];
  const width = Math.max(14, ...rules.map((rule) => rule.length + 1));
  console.log(['rule'.padEnd(width), ...rows.map((r) => r.dataset.padStart(20))].join(''));
  const cumulative = rows.map(() => 0);
  rules.forEach((rule, k) => {
    const cells = rows.map((r, d) => {
      const b = r.blocking[k]!;
      cumulative[d]! += b.newTruePairs;
      const recall = r.truePairs === 0 ? 1 : cumulative[d]! / r.truePairs;
      return `${b.newPairs}${b.skippedBlocks > 0 ? '*' : ''} ${recall.toFixed(3)}`.padStart(20);
    });
    console.log([rule.padEnd(width), ...cells].join(''));
  });
  console.log('(pairs new to the rule, * = some blocks over the size cap skipped; then recall so far)');
}

async function main(): Promise<void> {
  const program = new Command()
    .option('--datasets <names>', 'comma-separated subset (febrl1..4, fake_1000, rldata500, synth, synth-sparse, synth-shapes)')
    .option('--synth-records <n>', 'records in the synthetic registry', '20000')
    .option('--seed <n>', 'seed of the synthetic registry', '7')
    .parse();
  const opts = program.opts<{ datasets?: string; synthRecords: string; seed: string }>();
  const wanted = opts.datasets?.split(',');
  const datasets = existsSync(DATASETS) ? sharedDatasets() : [];
  if (datasets.length === 0) console.error(`shared datasets not found at ${DATASETS}; running the synthetic registry only`);
  const selected = datasets.filter((d) => !wanted || wanted.includes(d.name));
  const asked = (name: string) => !wanted || wanted.includes(name);
  if (asked('synth') || asked('synth-sparse') || asked('synth-shapes')) {
    const synth = synthDataset(Number(opts.synthRecords), Number(opts.seed));
    if (asked('synth')) selected.push(synth);
    if (asked('synth-sparse')) selected.push(feedVariant(synth, 'sparse'), feedVariant(synth, 'sparse', 'lab'));
    if (asked('synth-shapes'))
      selected.push(...(['phone', 'postcode', 'ssn', 'names-dob'] as const).map((shape) => feedVariant(synth, shape)));
  }
  const rows: AccuracyRow[] = [];
  for (const d of selected) rows.push(await evaluateDataset(d));
  printTable(rows);
  printBlocking(rows);
  printCalibration(rows);
  printLookAlikes(rows);
}

/** Twin pairs merged may stay under this share of twin pairs (the issue's target). */
const MAX_TWIN_MERGE_SHARE = 0.05;

function printLookAlikes(rows: AccuracyRow[]): void {
  for (const r of rows) {
    if (!r.lookAlikes) continue;
    console.log(`\nlook-alikes merged into one identity, ${r.dataset} (people pairs; an overlay is a patient-safety event)`);
    for (const k of r.lookAlikes) {
      const share = k.pairs === 0 ? 0 : k.merged / k.pairs;
      const target =
        k.relation === 'twin' ? `  (target < ${MAX_TWIN_MERGE_SHARE}: ${share < MAX_TWIN_MERGE_SHARE ? 'met' : 'NOT met'})` : '';
      console.log(
        `  ${k.relation.padEnd(14)} ${String(k.merged).padStart(6)} of ${String(k.pairs).padStart(7)}  ${share.toFixed(4)}${target}`,
      );
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();

import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import {
  DEFAULT_BLOCKING_RULES,
  DEFAULT_TRAINING_SEED,
  ModelValidationError,
  calibrateModel,
  linkRecords,
  parseModel,
  trainModel,
} from '../matching/index.ts';
import type { LinkMode, MatchModel, ProgressFn } from '../matching/index.ts';
import { LinkInputError } from './link-errors.ts';
import { parseMapping } from './link-mapping.ts';
import type { Mapping } from './link-mapping.ts';
import { readInputs } from './link-input.ts';
import { createProgress, formatSummary, writeClusters } from './link-output.ts';
import { LinkThreads, defaultThreads } from './link-threads.ts';
import { writeFileRowReport } from './row-problems.ts';
import { rerunWithLargerYoungGeneration, semiSpaceMb } from './young-generation.ts';

export interface RunLinkOptions {
  files: string[];
  out: string;
  mapping?: string;
  mode?: LinkMode;
  threshold?: number;
  model?: string;
  saveModel?: string;
  /** Show a progress bar on stderr (the CLI turns it on for terminals). */
  progress?: boolean;
  seed?: number;
  /** Threads for normalising and comparing (default: one per core); the output is the same for any number. */
  threads?: number;
  /** Refuse input with unrecognised columns (else warn on stderr). */
  strict?: boolean | undefined;
  /** Where warnings go (default stderr). */
  warn?: ((message: string) => void) | undefined;
  /** Link rows with values the service refuses without those values, instead of leaving them out (see `readInputs`). */
  keepInvalid?: boolean | undefined;
  /** Report of rows left out (default: `<out>.errors.csv` beside the output); written only when some were. */
  errors?: string | undefined;
}

export interface LinkSummary {
  records: number;
  sources: number;
  pairsCompared: number;
  links: number;
  clusters: number;
  seconds: number;
  peakRssMb: number;
  /** V8's semi-space size in MB when Node was started with one (`rerunWithLargerYoungGeneration`), else null. */
  semiSpaceMb: number | null;
  modelVersion: string;
  trained: boolean;
  conflictVetoes: number;
  refusedMerges: Record<string, number>;
  issues: Record<string, number>;
  threads: number;
  /** Rows left out of the linkage (and of the output): no id, a repeated id, or a value the service refuses. */
  rejected: number;
  /** Where the rows left out are listed (`file,line,field,code,message`); null when none was. */
  errorReport: string | null;
  /** Seconds of each step, in order (they add up to `seconds`): see `LinkPhases`. */
  phases: LinkPhases;
}

/**
 * Where a run's time goes: reading, checking and normalising the files (`read`); blocking, comparing the candidate
 * pairs and sampling what training needs (`compare`); training the model, next to nothing with a given model
 * (`train`); scoring, clustering and, with `--save-model`, calibrating (`cluster`); writing the output and the
 * error report (`write`).
 */
export interface LinkPhases {
  read: number;
  compare: number;
  train: number;
  cluster: number;
  write: number;
}

/** `out/clusters.csv` -> `out/clusters.errors.csv`. */
export function defaultLinkErrorReport(out: string): string {
  return join(dirname(out), `${basename(out, extname(out))}.errors.csv`);
}

function readJson(path: string, code: 'INVALID_MAPPING' | 'INVALID_MODEL', what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LinkInputError('FILE_NOT_FOUND', `${what} file not found: ${path}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LinkInputError(code, `${what} file is not valid JSON: ${path}`, { cause: error });
  }
}

function loadModel(path: string): MatchModel {
  try {
    return parseModel(readJson(path, 'INVALID_MODEL', 'model'));
  } catch (error) {
    if (error instanceof ModelValidationError) throw new LinkInputError('INVALID_MODEL', error.message, { cause: error });
    throw error;
  }
}

/** Peak resident memory of the process so far (the kernel's high-water mark, in bytes). */
const peakRss = () => process.resourceUsage().maxRSS * 1024;

/**
 * The `mpi link` pipeline: read and normalise the files, train a model on them unless one is given, link, write
 * `record_id,cluster_id` for every record. Throws `LinkInputError` for problems with the input.
 */
export async function runLink(options: RunLinkOptions): Promise<LinkSummary> {
  const started = performance.now();
  let lap = started;
  /** Seconds since the last step ended. */
  const step = () => {
    const now = performance.now();
    const seconds = (now - lap) / 1000;
    lap = now;
    return seconds;
  };
  const mapping: Mapping | undefined = options.mapping ? parseMapping(readJson(options.mapping, 'INVALID_MAPPING', 'mapping')) : undefined;
  const givenModel = options.model ? loadModel(options.model) : undefined;
  const bar = createProgress(options.progress ?? false);
  const onProgress: ProgressFn = (stage, done, total) => bar.update(stage, done, total);
  const threads = LinkThreads.start(options.threads ?? defaultThreads());
  try {
    let rows = 0;
    const input = await readInputs(options.files, mapping, {
      strict: options.strict,
      warn: options.warn ?? ((message) => process.stderr.write(message)),
      normalise: threads.size > 1 ? threads.normalise : undefined,
      keepInvalid: options.keepInvalid,
      onRows: (count) => onProgress('read', (rows += count), 0),
    });
    const read = step();
    const mode = options.mode ?? 'link-and-dedupe';
    const common = { sources: input.sources, mode, onProgress };
    const rules = givenModel?.blockingRules ?? DEFAULT_BLOCKING_RULES;
    const seed = options.seed ?? DEFAULT_TRAINING_SEED;
    // The workers sample what training needs from the records while this thread blocks them.
    const samples =
      givenModel || threads.size === 1
        ? undefined
        : threads.trainingSamples({ prepared: input.prepared, sources: input.sources, mode }, seed);
    samples?.catch(() => {}); // awaited below
    const batch = await threads.buildBatch(input.prepared, { rules, ...common });
    const sampled = await samples;
    // Training, scoring and clustering run on this thread: the workers' copies of the records can go.
    await threads.close();
    const compare = step();
    let model = givenModel;
    if (!model) model = trainModel(batch, { ...common, ...sampled, seed, createdAt: new Date().toISOString() }).model;
    const train = step();
    const result = linkRecords(batch, model, { ...common, threshold: options.threshold });
    // A model trained here and written out is calibrated on its own linkage (decisions unchanged; the clusters do
    // not need it, so a run that keeps no model skips the fit). A given model is kept as it is.
    if (!givenModel && options.saveModel) model = calibrateModel(model, batch, result.clusterOf);
    const cluster = step();
    if (options.saveModel) writeFileSync(options.saveModel, `${JSON.stringify(model, null, 2)}\n`);
    await writeClusters(options.out, input.ids, result.clusterOf);
    const errorReport = input.problems.length > 0 ? (options.errors ?? defaultLinkErrorReport(options.out)) : null;
    if (errorReport) await writeFileRowReport(errorReport, input.problems);
    bar.stop();
    const write = step();
    return {
      records: input.ids.length,
      sources: input.sourceNames.length,
      pairsCompared: result.pairsCompared,
      links: result.links.count,
      clusters: result.clusterCount,
      seconds: (lap - started) / 1000,
      peakRssMb: peakRss() / 2 ** 20,
      semiSpaceMb: semiSpaceMb(),
      modelVersion: model.version,
      trained: givenModel === undefined,
      conflictVetoes: result.conflictVetoes,
      refusedMerges: result.refusedMerges,
      issues: input.issues,
      threads: threads.size,
      rejected: input.rejected,
      errorReport,
      phases: { read, compare, train, cluster, write },
    };
  } finally {
    await threads.close();
  }
}
const MODES: readonly LinkMode[] = ['dedupe', 'link', 'link-and-dedupe'];

/** Validates the raw option values (thrown as input errors, so the command exits 2 like other input problems). */
function checkOptions(opts: { mode?: string; threshold?: string; threads?: string }): {
  mode: LinkMode;
  threshold?: number;
  threads?: number;
} {
  const mode = (opts.mode ?? 'link-and-dedupe') as LinkMode;
  if (!MODES.includes(mode)) throw new LinkInputError('INVALID_OPTION', `--mode must be one of ${MODES.join(', ')}`);
  const threads = parseThreads(opts.threads);
  if (opts.threshold === undefined) return { mode, threads };
  const threshold = Number(opts.threshold);
  if (!(threshold > 0 && threshold < 1))
    throw new LinkInputError('INVALID_OPTION', '--threshold must be a probability between 0 and 1 (exclusive)');
  return { mode, threshold, threads };
}

/** Most threads accepted: beyond a few per core they only add memory (each worker holds every record). */
const MAX_THREADS = 64;

/** `--threads N`: a whole number from 1 to MAX_THREADS (undefined: one per core). */
export function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    throw new LinkInputError('INVALID_OPTION', `--threads must be a whole number from 1 to ${MAX_THREADS}`);
  return n;
}

/**
 * `mpi link FILES… --out …`: runs the linkage and prints the summary; exit 1 when some rows were left out (listed
 * in the error report), 2 when the input cannot be linked at all.
 */
export async function linkCommand(
  files: string[],
  opts: {
    out: string;
    mapping?: string;
    mode?: string;
    threshold?: string;
    threads?: string;
    model?: string;
    saveModel?: string;
    strict?: boolean;
    keepInvalid?: boolean;
    errors?: string;
  },
): Promise<void> {
  const rerun = await rerunWithLargerYoungGeneration(files);
  if (rerun !== null) {
    process.exitCode = rerun;
    return;
  }
  try {
    const { out, mapping, model, saveModel, strict, keepInvalid, errors } = opts;
    const summary = await runLink({
      out,
      mapping,
      model,
      saveModel,
      strict,
      keepInvalid,
      errors,
      ...checkOptions(opts),
      files,
      progress: process.stderr.isTTY,
    });
    process.stderr.write(formatSummary(summary));
    if (summary.rejected > 0) process.exitCode = 1;
  } catch (error) {
    if (error instanceof LinkInputError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

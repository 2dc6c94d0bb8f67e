import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ModelValidationError, linkRecords, parseModel, trainModel } from '../matching/index.ts';
import type { LinkMode, MatchModel, ProgressFn } from '../matching/index.ts';
import { LinkInputError } from './link-errors.ts';
import { parseMapping } from './link-mapping.ts';
import type { Mapping } from './link-mapping.ts';
import { readInputs } from './link-input.ts';
import { createProgress, formatSummary, writeClusters } from './link-output.ts';

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
}

export interface LinkSummary {
  records: number;
  sources: number;
  pairsCompared: number;
  links: number;
  clusters: number;
  seconds: number;
  peakRssMb: number;
  modelVersion: string;
  trained: boolean;
  conflictVetoes: number;
  refusedMerges: Record<string, number>;
  issues: Record<string, number>;
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

/** Tracks peak resident memory; sampled at stage boundaries and on progress ticks. */
class PeakMemory {
  peak = process.memoryUsage.rss();
  sample = () => {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  };
}

/**
 * The `mpi link` pipeline: read and normalise the files, train a model on them unless one is given, link, write
 * `record_id,cluster_id` for every record. Throws `LinkInputError` for problems with the input.
 */
export async function runLink(options: RunLinkOptions): Promise<LinkSummary> {
  const started = performance.now();
  const memory = new PeakMemory();
  const mapping: Mapping | undefined = options.mapping ? parseMapping(readJson(options.mapping, 'INVALID_MAPPING', 'mapping')) : undefined;
  const givenModel = options.model ? loadModel(options.model) : undefined;
  const bar = createProgress(options.progress ?? false);
  const onProgress: ProgressFn = (stage, done, total) => {
    memory.sample();
    bar.update(stage, done, total);
  };
  let rows = 0;
  const input = await readInputs(options.files, mapping, () => {
    if ((++rows & 0x3fff) === 0) onProgress('read', rows, 0);
  });
  memory.sample();
  const mode = options.mode ?? 'link-and-dedupe';
  const common = { sources: input.sources, mode, onProgress };
  let model = givenModel;
  let batch;
  if (!model) {
    const trained = trainModel(input.prepared, { ...common, seed: options.seed, createdAt: new Date().toISOString() });
    model = trained.model;
    batch = trained.batch;
    if (options.saveModel) writeFileSync(options.saveModel, `${JSON.stringify(model, null, 2)}\n`);
  } else if (options.saveModel) writeFileSync(options.saveModel, `${JSON.stringify(model, null, 2)}\n`);
  memory.sample();
  const result = linkRecords(batch ?? input.prepared, model, { ...common, threshold: options.threshold });
  memory.sample();
  await writeClusters(options.out, input.ids, result.clusterOf);
  bar.stop();
  memory.sample();
  return {
    records: input.ids.length,
    sources: input.sourceNames.length,
    pairsCompared: result.pairsCompared,
    links: result.links.count,
    clusters: result.clusterCount,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: memory.peak / 2 ** 20,
    modelVersion: model.version,
    trained: givenModel === undefined,
    conflictVetoes: result.conflictVetoes,
    refusedMerges: result.refusedMerges,
    issues: input.issues,
  };
}

function parseThreshold(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError('must be a probability between 0 and 1 (exclusive)');
  return p;
}

/** Registers `mpi link` on the program. */
export function registerLinkCommand(program: Command): void {
  program
    .command('link')
    .description('link and deduplicate patient records from CSV files into identities')
    .argument('<files...>', 'input CSV files (each one source)')
    .requiredOption('--out <file>', 'output CSV: record_id,cluster_id for every input record')
    .option('--mapping <file>', 'JSON mapping of columns to canonical fields')
    .addOption(new Option('--mode <mode>', 'which pairs to compare').choices(['dedupe', 'link', 'link-and-dedupe']).default('link-and-dedupe'))
    .option('--threshold <p>', 'match probability for a link (default: the model threshold)', parseThreshold)
    .option('--model <file>', 'use this trained model instead of training on the input')
    .option('--save-model <file>', 'write the (trained) model as JSON')
    .action(async (files: string[], opts: Omit<RunLinkOptions, 'files'>) => {
      try {
        const summary = await runLink({ ...opts, files, progress: process.stderr.isTTY });
        process.stderr.write(formatSummary(summary));
      } catch (error) {
        if (error instanceof LinkInputError) {
          process.stderr.write(`error: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
    });
}

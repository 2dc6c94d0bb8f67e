// Seeded synthetic patient registry: the library entry point and its command line.
//   npx tsx bench/synth/generate.ts --records 100000 --seed 7 --out bench/out/synth-100k.csv
// writes the records CSV and `<name>_truth.csv` (record_id,cluster_id) beside it. Progress and the summary go
// to stderr, so stdout stays clean.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import type { SynthConfigOverrides } from './config.ts';
import type { RegistrySummary } from './registry.ts';
import { writeRegistry } from './write.ts';

export { generateRegistry } from './registry.ts';
export type { GenerateOptions, RegistrySummary, Relation, RelationKind, SynthRecord } from './registry.ts';
export { DEFAULT_CONFIG, resolveConfig, type SynthConfig, type SynthConfigOverrides } from './config.ts';
export { writeRegistry, siblingPath, RECORD_HEADER, TRUTH_HEADER } from './write.ts';

const percent = (part: number, whole: number): string => `${((100 * part) / Math.max(1, whole)).toFixed(2)}%`;

/** A human-readable account of what was generated (no patient values, only counts). */
export function formatSummary(summary: RegistrySummary): string {
  const histogram = summary.recordsPerPerson
    .map((people, records) => (records > 0 && people > 0 ? `${records}:${people}` : ''))
    .filter((entry) => entry !== '')
    .join(' ');
  const relations = Object.entries(summary.relations)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const errors = Object.entries(summary.errors)
    .map(([kind, count]) => `  ${kind.padEnd(24)} ${String(count).padStart(9)}  ${percent(count, summary.records)}`)
    .join('\n');
  const sources = Object.entries(summary.recordsBySource)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  return [
    `records ${summary.records}, people ${summary.people}, households ${summary.households}, ` +
      `records per person ${(summary.records / Math.max(1, summary.people)).toFixed(2)}`,
    `records per person (records:people) ${histogram}`,
    `records by source: ${sources}`,
    `look-alike pairs: ${relations} (twins with similar names ${summary.similarNamedTwins})`,
    `people with a maiden name in earlier records ${summary.marriedNameChanges}, people whose household moved ${summary.movers}`,
    `records with at least one error ${summary.recordsWithErrors} (${percent(summary.recordsWithErrors, summary.records)}); errors by kind (share of records):`,
    errors,
  ].join('\n');
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}

function scale(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative number');
  return parsed;
}

interface CliOptions {
  records?: number;
  people?: number;
  seed: number;
  out: string;
  sources: number;
  config?: string;
  errorScale?: number;
  missingScale?: number;
  relations?: boolean;
  progress: boolean;
}

function loadOverrides(options: CliOptions): SynthConfigOverrides {
  const overrides: SynthConfigOverrides = options.config ? (JSON.parse(readFileSync(options.config, 'utf8')) as SynthConfigOverrides) : {};
  if (options.errorScale !== undefined) overrides.errorScale = options.errorScale;
  if (options.missingScale !== undefined) overrides.missingScale = options.missingScale;
  return overrides;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('generate')
    .description('Write a seeded synthetic patient registry (records CSV + truth CSV).')
    .option('--records <n>', 'number of records to generate', positiveInteger)
    .option('--people <n>', 'number of people to generate (instead of --records)', positiveInteger)
    .option('--seed <n>', 'random seed', nonNegativeInteger, 1)
    .requiredOption('--out <file.csv>', 'records CSV to write; <name>_truth.csv goes beside it')
    .option('--sources <n>', 'number of sources', positiveInteger, 4)
    .option('--config <file.json>', 'JSON overrides of the default rates (see bench/synth/config.ts)')
    .option('--error-scale <x>', 'multiply every error rate (0 = clean records)', scale)
    .option('--missing-scale <x>', 'multiply every missing-value rate', scale)
    .option('--relations', 'also write <name>_relations.csv with the look-alike pairs')
    .option('--no-progress', 'no progress bar')
    .parse(argv);
  const options = program.opts<CliOptions>();
  if ((options.records === undefined) === (options.people === undefined)) program.error('give exactly one of --records and --people');

  const started = performance.now();
  const bar = new SingleBar({ format: 'synth [{bar}] {percentage}% | {value}/{total} records | {duration}s', stream: process.stderr });
  const showBar = options.progress && options.records !== undefined && process.stderr.isTTY;
  if (showBar) bar.start(options.records as number, 0);
  const { summary, files } = await writeRegistry({
    seed: options.seed,
    records: options.records,
    people: options.people,
    sources: options.sources,
    config: loadOverrides(options),
    out: options.out,
    relations: options.relations,
    onProgress: showBar ? (written) => bar.update(written) : undefined,
  });
  if (showBar) bar.stop();
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${formatSummary(summary)}\n`);
  process.stderr.write(
    `wrote ${[files.records, files.truth, files.relations].filter(Boolean).join(', ')} in ${seconds.toFixed(1)} s ` +
      `(${Math.round(summary.records / seconds)} records/s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB)\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`generate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

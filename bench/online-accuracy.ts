// Online vs batch accuracy: links a labelled dataset record by record through the identity service (as
// pipelines would), then scores the resulting identities pairwise against the truth, beside `mpi link` on the
// same file. Online runs three ways: with `mpi link`'s model imported, with the engine's default model only, and
// with the model lifecycle on (it trains after the first --train-after records and again as the index grows;
// the check that the server's leased job makes every MPI_MODEL_CHECK_SECONDS runs here after every record).
//   npm run bench:online-accuracy -- --datasets febrl3,synth --synth-records 5000 --train-after 100
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { Command } from 'commander';
import { eq } from 'drizzle-orm';
import { createServices, type Services } from '../api/services.ts';
import { runLink } from '../cli/link.ts';
import { detectMapping } from '../cli/link-mapping.ts';
import { rowToInput } from '../cli/link-input.ts';
import { CANONICAL_FIELDS, fromCsvLayouts } from '../matching/index.ts';
import { pairwiseScore } from '../matching/evaluate.ts';
import { loadConfig } from '../platform/config.ts';
import { ValidationError } from '../platform/errors.ts';
import { openDatabase } from '../platform/db/client.ts';
import { links, sourceRecords, sources } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { machine, sharedDir, syntheticRegistry } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DATASETS = join(sharedDir(ROOT), 'datasets');
const OUT = join(ROOT, 'bench/out/online-accuracy');

interface Labelled {
  id: string;
  source: string;
  input: Record<string, string | null>;
  cluster: string;
}

async function readLabelled(file: string, truthFile: string): Promise<Labelled[]> {
  const truth = new Map<string, string>();
  for await (const row of createReadStream(truthFile).pipe(parse({ columns: true }))) truth.set(row.record_id, row.cluster_id);
  const rows: string[][] = [];
  for await (const row of createReadStream(file).pipe(parse())) rows.push(row as string[]);
  const header = rows.shift()!;
  const mapping = detectMapping(header, file);
  const sourceColumn = header.indexOf('source');
  return rows.map((row) => {
    // The API takes ISO dates: a pipeline converts its feed's layout first (here with the engine's parser). A
    // value the service then refuses (a date in the future, ...) is left for `ingestResending` to drop.
    const input = fromCsvLayouts(rowToInput(row, mapping)) as Record<string, string | null>;
    const id = row[mapping.id]!;
    return { id, source: sourceColumn >= 0 ? row[sourceColumn]! : 'feed', input, cluster: truth.get(id)! };
  });
}

interface OnlineSetup {
  /** A model document to import and activate first. */
  modelFile?: string;
  /** Run the model lifecycle with this MPI_MODEL_TRAIN_AFTER. */
  trainAfter?: number;
  /**
   * After the last record, let the lifecycle's schedule come round once (as MPI_MODEL_RETRAIN_HOURS after the
   * feed ends would): a model trained on every record, then the re-match.
   */
  settle?: boolean;
}

/**
 * Ingests one record as a pipeline would: when the service refuses it naming fields (`ValidationError`), sends it
 * again without those fields, once. Returns whether it had to. Anything else fails the run.
 */
async function ingestResending(services: Services, r: Labelled): Promise<boolean> {
  const input = { source: r.source, localId: r.id, ...r.input };
  try {
    await services.ingest.ingest(input, { actor: 'bench' });
    return false;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const refused = new Set(error.problems.map((p) => p.field.split('.').pop()!));
    const without = Object.fromEntries(Object.entries(input).map(([field, value]) => [field, refused.has(field) ? null : value]));
    await services.ingest.ingest(without as typeof input, { actor: 'bench' });
    return true;
  }
}

async function online(
  records: Labelled[],
  url: string | undefined,
  setup: OnlineSetup,
): Promise<{ seconds: number; clusterOf: Map<string, string> }> {
  const handle = await openDatabase({ url, dataDir: 'memory://' });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MPI_AUTO_REGISTER_SOURCES: 'true',
    MPI_MODEL_TRAIN_AFTER: String(setup.trainAfter ?? 0),
  });
  const services = createServices(config, handle, createLogger('silent'));
  if (setup.modelFile) await services.models.import(JSON.parse(readFileSync(setup.modelFile, 'utf8')), 'bench', true);
  const started = performance.now();
  let resent = 0;
  for (const [i, r] of records.entries()) {
    if (await ingestResending(services, r)) resent += 1;
    if (setup.trainAfter) {
      const run = await services.lifecycle.runIfDue();
      if (run)
        process.stderr.write(
          `  after ${i + 1} records: ${run.trigger} ${run.activated ? 'activated' : 'rejected'} (${JSON.stringify({ ...run.comparison, active: undefined, candidate: undefined })})\n`,
        );
    }
    if ((i + 1) % 1000 === 0) process.stderr.write(`  ingested ${i + 1}/${records.length}\n`);
  }
  if (setup.settle) {
    const run = await services.lifecycle.run('SCHEDULE');
    process.stderr.write(
      `  after the feed: SCHEDULE ${run.activated ? 'activated' : 'rejected'} (re-match ${JSON.stringify(run.rematch)})\n`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  if (resent > 0) process.stderr.write(`  ${resent} record(s) refused naming a field, sent again without it\n`);
  const rows = await handle.db
    .select({ localId: sourceRecords.localId, identity: links.identityId })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId));
  await handle.close();
  return { seconds, clusterOf: new Map(rows.map((r) => [r.localId, r.identity])) };
}

function score(records: Labelled[], clusterOf: (id: string) => string) {
  return pairwiseScore(
    records.length,
    (i) => clusterOf(records[i]!.id),
    (i) => records[i]!.cluster,
  );
}

/** `mpi link` on the file (trains its model by EM on the input), saving the model for the online run. */
async function batch(file: string, saveModel: string): Promise<{ seconds: number; clusterOf: Map<string, string> }> {
  mkdirSync(OUT, { recursive: true });
  const out = join(OUT, 'clusters.csv');
  // As bench:accuracy: rows with a refused value are linked without it, as the online pipeline resends them.
  const summary = await runLink({ files: [file], out, saveModel, progress: false, keepInvalid: true });
  const clusterOf = new Map<string, string>();
  for await (const row of createReadStream(out).pipe(parse({ columns: true }))) clusterOf.set(row.record_id, row.cluster_id);
  return { seconds: summary.seconds, clusterOf };
}

/** True pairs one clustering joins and the other does not, by record id (public research datasets only). */
function printDiff(name: string, mode: string, records: Labelled[], batchOf: Map<string, string>, onlineOf: Map<string, string>): void {
  const only = (x: Map<string, string>, y: Map<string, string>) => {
    const out: string[] = [];
    for (let i = 0; i < records.length; i++)
      for (let j = i + 1; j < records.length; j++) {
        const [a, b] = [records[i]!, records[j]!];
        if (a.cluster !== b.cluster || x.get(a.id) !== x.get(b.id) || y.get(a.id) === y.get(b.id)) continue;
        out.push(`${a.id}~${b.id}`);
      }
    return out;
  };
  process.stderr.write(`${name} ${mode}: true pairs batch joins, online not: ${only(batchOf, onlineOf).join(' ') || 'none'}\n`);
  process.stderr.write(`${name} ${mode}: true pairs online joins, batch not: ${only(onlineOf, batchOf).join(' ') || 'none'}\n`);
}

/**
 * The values the service was first sent, as a CSV of canonical columns: the batch run on the same input (its
 * `--keep-invalid` drops what the service refuses, as the pipeline's resend does).
 */
function serviceInputFile(name: string, records: Labelled[]): string {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}-service-input.csv`);
  const columns = ['record_id', ...CANONICAL_FIELDS];
  writeFileSync(file, stringify([columns, ...records.map((r) => [r.id, ...CANONICAL_FIELDS.map((f) => r.input[f] ?? '')])]));
  return file;
}

const program = new Command('bench:online-accuracy')
  .option('--datasets <list>', 'febrl1, febrl2, febrl3, fake_1000, rldata500, synth', 'febrl3,synth')
  .option('--synth-records <n>', 'size of the synthetic registry', '5000')
  .option('--train-after <n>', 'MPI_MODEL_TRAIN_AFTER of the lifecycle run', '100')
  .option(
    '--modes <list>',
    'batch, batch-input, same-model, default-model, lifecycle, settled',
    'batch,batch-input,same-model,default-model,lifecycle,settled',
  )
  .option('--postgres', 'use PostgreSQL (BENCH_DATABASE_URL or DATABASE_URL) instead of in-memory PGlite')
  .option('--diff', 'list the true pairs batch joins and an online mode does not (record ids), and the reverse')
  .parse();
const opts = program.opts<{
  datasets: string;
  synthRecords: string;
  trainAfter: string;
  modes: string;
  postgres?: boolean;
  diff?: boolean;
}>();
const modes = new Set(opts.modes.split(','));
const lines = [
  `online (record by record) vs batch accuracy, ${machine()}, 2 cores`,
  'dataset    records  mode                   precision  recall  F1      seconds',
];
for (const name of opts.datasets.split(',')) {
  const files =
    name === 'synth'
      ? syntheticRegistry(Number(opts.synthRecords), 11)
      : { csv: join(DATASETS, `${name}.csv`), truth: join(DATASETS, `${name}_truth.csv`) };
  const records = await readLabelled(files.csv, files.truth);
  process.stderr.write(`${name}: ${records.length} records\n`);
  const modelFile = join(OUT, `${name}-model.json`);
  const url = opts.postgres ? (process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL) : undefined;
  const trainAfter = Number(opts.trainAfter);
  const runs: Array<[string, string, () => Promise<{ seconds: number; clusterOf: Map<string, string> }>]> = [
    ['batch', 'mpi link (EM-trained)', () => batch(files.csv, modelFile)],
    ['batch-input', 'mpi link, same input', () => batch(serviceInputFile(name, records), join(OUT, `${name}-input-model.json`))],
    ['same-model', 'online, same model', () => online(records, url, { modelFile })],
    ['default-model', 'online, default model', () => online(records, url, {})],
    ['lifecycle', `online, lifecycle ${trainAfter}`, () => online(records, url, { trainAfter })],
    ['settled', `lifecycle, then schedule`, () => online(records, url, { trainAfter, settle: true })],
  ];
  let batchClusters: Map<string, string> | undefined;
  for (const [key, mode, run] of runs) {
    if (!modes.has(key)) continue;
    const result = await run();
    if (key === 'batch' || key === 'batch-input') batchClusters = result.clusterOf;
    else if (opts.diff && batchClusters) printDiff(name, mode, records, batchClusters, result.clusterOf);
    const s = score(records, (id) => result.clusterOf.get(id) ?? `missing-${id}`);
    lines.push(
      `${name.padEnd(10)} ${String(records.length).padStart(7)}  ${mode.padEnd(22)} ${s.precision.toFixed(4)}     ${s.recall.toFixed(4)}  ${s.f1.toFixed(4)}  ${result.seconds.toFixed(1).padStart(7)}`,
    );
  }
}
console.log(lines.join('\n'));

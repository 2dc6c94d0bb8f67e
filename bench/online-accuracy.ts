// Online vs batch accuracy: links a labelled dataset record by record through the identity service (as
// pipelines would), then scores the resulting identities pairwise against the truth, beside `mpi link` on the
// same file. Online runs three ways: with `mpi link`'s model imported, with the engine's default model only, and
// with the model lifecycle on (it trains after the first --train-after records and again as the index grows;
// the check that the server's leased job makes every MPI_MODEL_CHECK_SECONDS runs here after every record).
// The lifecycle is scored at the last record and again after its own next step: the bench waits, in real time,
// for the feed to have been quiet --quiet-seconds (MPI_MODEL_RETRAIN_QUIET_MINUTES), checking as the job does.
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
import { feedVariant } from './accuracy.ts';
import { OTHER_REGISTRY_SEED, machine, sharedDir, syntheticRegistry } from './support.ts';

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
  /** The lifecycle's MPI_MODEL_RETRAIN_GROWTH. */
  retrainGrowth?: number;
  /**
   * The lifecycle's quiet period, in seconds (MPI_MODEL_RETRAIN_QUIET_MINUTES × 60; 0: off). After the last
   * record the bench waits for the lifecycle's own next step: checks every QUIET_CHECK_MS until one trains.
   */
  quietSeconds?: number;
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

interface RunResult {
  seconds: number;
  clusterOf: Map<string, string>;
  /** The lifecycle's own next step after the feed: what it trained on, how long it took, where it left the records. */
  next?: { label: string; seconds: number; clusterOf: Map<string, string> };
}

/** How often the bench checks, after the feed, whether the lifecycle's next step is due (the job's MPI_MODEL_CHECK_SECONDS). */
const QUIET_CHECK_MS = 250;
/** How long past the quiet period the bench still checks before it concludes no step is coming. */
const QUIET_GRACE_S = 5;

async function online(records: Labelled[], url: string | undefined, setup: OnlineSetup): Promise<RunResult> {
  const handle = await openDatabase({ url, dataDir: 'memory://' });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MPI_AUTO_REGISTER_SOURCES: 'true',
    MPI_MODEL_TRAIN_AFTER: String(setup.trainAfter ?? 0),
    ...(setup.retrainGrowth === undefined ? {} : { MPI_MODEL_RETRAIN_GROWTH: String(setup.retrainGrowth) }),
    MPI_MODEL_RETRAIN_QUIET_MINUTES: String((setup.quietSeconds ?? 0) / 60),
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
  const result: RunResult = { seconds, clusterOf: await clustersOf(handle.db) };
  if (setup.trainAfter && !setup.settle && setup.quietSeconds) result.next = await nextStep(services, setup.quietSeconds);
  await handle.close();
  return result;
}

/** Where each record is linked now: local id -> identity. */
async function clustersOf(db: Services['database']['db']): Promise<Map<string, string>> {
  const rows = await db
    .select({ localId: sourceRecords.localId, identity: links.identityId })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId));
  return new Map(rows.map((r) => [r.localId, r.identity]));
}

/**
 * After the feed, waits in real time for the lifecycle's own next step (the quiet period, then the training, the
 * evaluation and the re-match), checking every QUIET_CHECK_MS as the leased job does. A check that finds a step
 * due runs it before it returns, so one that finds none QUIET_GRACE_S after the quiet period has passed means
 * none is coming (the index grew less than a tenth since the last training): the bench stops and says so.
 */
async function nextStep(services: Services, quietSeconds: number): Promise<NonNullable<RunResult['next']>> {
  const started = performance.now();
  const deadline = started + (quietSeconds + QUIET_GRACE_S) * 1000;
  let trigger = 'none';
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, QUIET_CHECK_MS));
    const run = await services.lifecycle.runIfDue();
    if (!run) continue;
    trigger = run.trigger;
    process.stderr.write(
      `  after the feed, ${((performance.now() - started) / 1000).toFixed(1)} s: ${run.trigger} ${run.activated ? 'activated' : 'rejected'} (re-match ${JSON.stringify(run.rematch)})\n`,
    );
    break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (trigger === 'none')
    process.stderr.write(
      `  after the feed: no step of the lifecycle due within ${seconds.toFixed(0)} s (trained on over 10/11 of the index)\n`,
    );
  return {
    label: `quiet ${quietSeconds} s: ${trigger === 'none' ? 'none due' : trigger}`,
    seconds,
    clusterOf: await clustersOf(services.database.db),
  };
}

function score(records: Labelled[], clusterOf: (id: string) => string) {
  return pairwiseScore(
    records.length,
    (i) => clusterOf(records[i]!.id),
    (i) => records[i]!.cluster,
  );
}

/** `mpi link` on the file (trains its model by EM on the input), saving the model for the online run. */
async function batch(file: string, saveModel: string): Promise<RunResult> {
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

/**
 * The synthetic registry as a sparse feed sends it: names, sex and birth date only (`feedVariant`), written under
 * the registry's own name (`synth-N-s<seed>-sparse.csv`), so `bench:accuracy`'s sparse variant of its own registry
 * (`synth-N-sparse.csv`) is another file.
 */
function sparseRegistry(records: number): { csv: string; truth: string } {
  const rich = syntheticRegistry(records, OTHER_REGISTRY_SEED);
  const [csv] = feedVariant({ name: rich.name, files: [rich.csv], truth: rich.truth }, 'sparse').files;
  return { csv: csv!, truth: rich.truth };
}

const program = new Command('bench:online-accuracy')
  .option('--datasets <list>', 'febrl1, febrl2, febrl3, fake_1000, rldata500, synth, synth-sparse', 'febrl3,synth')
  .option('--synth-records <n>', 'size of the synthetic registry', '5000')
  .option('--train-after <n>', 'MPI_MODEL_TRAIN_AFTER of the lifecycle run', '100')
  .option('--retrain-growth <g>', 'MPI_MODEL_RETRAIN_GROWTH of the lifecycle run (default: the service default)')
  .option(
    '--quiet-seconds <n>',
    "the lifecycle's quiet period (MPI_MODEL_RETRAIN_QUIET_MINUTES x 60); after the feed the bench waits for it in real time, then scores the lifecycle again (0: off)",
    '5',
  )
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
  retrainGrowth?: string;
  quietSeconds: string;
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
      ? syntheticRegistry(Number(opts.synthRecords), OTHER_REGISTRY_SEED)
      : name === 'synth-sparse'
        ? sparseRegistry(Number(opts.synthRecords))
        : { csv: join(DATASETS, `${name}.csv`), truth: join(DATASETS, `${name}_truth.csv`) };
  const records = await readLabelled(files.csv, files.truth);
  process.stderr.write(`${name}: ${records.length} records\n`);
  const modelFile = join(OUT, `${name}-model.json`);
  const url = opts.postgres ? (process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL) : undefined;
  const trainAfter = Number(opts.trainAfter);
  const lifecycle = {
    trainAfter,
    quietSeconds: Number(opts.quietSeconds),
    ...(opts.retrainGrowth === undefined ? {} : { retrainGrowth: Number(opts.retrainGrowth) }),
  };
  const runs: Array<[string, string, () => Promise<RunResult>]> = [
    ['batch', 'mpi link (EM-trained)', () => batch(files.csv, modelFile)],
    ['batch-input', 'mpi link, same input', () => batch(serviceInputFile(name, records), join(OUT, `${name}-input-model.json`))],
    ['same-model', 'online, same model', () => online(records, url, { modelFile })],
    ['default-model', 'online, default model', () => online(records, url, {})],
    ['lifecycle', `online, lifecycle ${trainAfter}`, () => online(records, url, lifecycle)],
    ['settled', `lifecycle, then schedule`, () => online(records, url, { ...lifecycle, settle: true })],
  ];
  let batchClusters: Map<string, string> | undefined;
  for (const [key, mode, run] of runs) {
    if (!modes.has(key)) continue;
    const result = await run();
    if (key === 'batch' || key === 'batch-input') batchClusters = result.clusterOf;
    const rows: Array<[string, { seconds: number; clusterOf: Map<string, string> }]> = [[mode, result]];
    if (result.next) rows.push([`  ${result.next.label}`, result.next]);
    for (const [label, r] of rows) {
      if (key !== 'batch' && key !== 'batch-input' && opts.diff && batchClusters)
        printDiff(name, label.trim(), records, batchClusters, r.clusterOf);
      const s = score(records, (id) => r.clusterOf.get(id) ?? `missing-${id}`);
      lines.push(
        `${name.padEnd(10)} ${String(records.length).padStart(7)}  ${label.padEnd(22)} ${s.precision.toFixed(4)}     ${s.recall.toFixed(4)}  ${s.f1.toFixed(4)}  ${r.seconds.toFixed(1).padStart(7)}`,
      );
    }
  }
}
if (modes.has('lifecycle') && Number(opts.quietSeconds) > 0)
  lines.push(
    `"online, lifecycle" is scored at the last record; the line under it after the lifecycle's own next step: the bench waited in real time for the feed to be quiet ${opts.quietSeconds} s (MPI_MODEL_RETRAIN_QUIET_MINUTES, 10 minutes by default), checking every ${QUIET_CHECK_MS} ms; its seconds are the wait, the training and the re-match.`,
  );
console.log(lines.join('\n'));

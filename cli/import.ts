import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, extname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { CliError } from './errors.ts';
import { IngestClient, type IngestInput } from './import-client.ts';
import { countCsvRecords, readCsvRecords, readMappingFile, type CsvRecord, type ReadProgress, type RowProblem } from './import-csv.ts';
import { createProgress } from './link-output.ts';

export const DEFAULT_GRAPHQL_URL = 'http://127.0.0.1:4000/graphql';
export const DEFAULT_BATCH_SIZE = 500;
/** The most `ingestRecords` accepts in one call. */
export const MAX_BATCH_SIZE = 1000;

export interface ImportOptions {
  file: string;
  /** Registered source code every row belongs to. */
  source: string;
  /** Mapping file in the `mpi link` format; default: recognise well-known column names. */
  mapping?: string | undefined;
  url?: string | undefined;
  key?: string | undefined;
  batchSize?: number | undefined;
  /** Where the report of rejected rows goes; default `<file>.errors.csv` beside the input. */
  errors?: string | undefined;
  progress?: boolean | undefined;
  /** Hears the first pass over the file (bytes read of its size), which the progress bar shows too. */
  onRead?: ReadProgress | undefined;
  /** Refuse a file with unrecognised columns (else warn on stderr, before anything is sent). */
  strict?: boolean | undefined;
  /** Where warnings go (default stderr). */
  warn?: ((message: string) => void) | undefined;
  /** Tests and benches pass an in-process fetch. */
  fetch?: typeof fetch | undefined;
}

export interface ImportSummary {
  rows: number;
  linked: number;
  created: number;
  review: number;
  unchanged: number;
  /** Rows rejected (see the error report). */
  errors: number;
  seconds: number;
  recordsPerSecond: number;
  /** Written only when some rows were rejected. */
  errorReport: string | null;
  /** The ingest run the import was recorded as (lineage: `ingestRun(id)`). */
  runId: string | null;
}

/** `data/patients.csv` -> `data/patients.errors.csv`. */
export function defaultErrorReport(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}.errors.csv`);
}

/**
 * Loads a CSV file into the running index through its GraphQL API (`ingestRecords`, the same ingest path as
 * every other client), in batches. Rows the server rejects are dropped from their batch, reported with line,
 * field and reason, and the rest of the batch is resent. Idempotent: a re-run of the same file answers
 * UNCHANGED for every row and changes nothing.
 */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)
    throw new CliError(`--batch-size must be between 1 and ${MAX_BATCH_SIZE}`);
  const mapping = options.mapping ? readMappingFile(options.mapping) : undefined;
  const bar = createProgress(options.progress ?? false);
  const total = await countCsvRecords(
    options.file,
    mapping,
    { strict: options.strict, warn: options.warn ?? ((m) => process.stderr.write(m)) },
    (bytes, size) => {
      bar.update('read-bytes', bytes, size);
      options.onRead?.(bytes, size);
    },
  );
  const client = new IngestClient(options.url ?? DEFAULT_GRAPHQL_URL, options.key, options.fetch);
  const summary: ImportSummary = {
    rows: 0,
    linked: 0,
    created: 0,
    review: 0,
    unchanged: 0,
    errors: 0,
    seconds: 0,
    recordsPerSecond: 0,
    errorReport: null,
    runId: null,
  };
  const problems: RowProblem[] = [];
  const reject = (p: RowProblem) => {
    problems.push(p);
    summary.errors += 1;
  };

  const runId = await client.startRun(options.source, `csv-import:${basename(options.file)}`);
  summary.runId = runId;
  let batch: CsvRecord[] = [];
  const flush = async () => {
    await sendBatch(client, options.source, batch, summary, (p) => problems.push(p), runId);
    batch = [];
    bar.update('importing', summary.rows, total);
  };
  try {
    for await (const record of readCsvRecords(options.file, mapping, (p) => {
      reject(p);
      summary.rows += 1;
    })) {
      batch.push(record);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
  } catch (error) {
    bar.stop();
    await client.finishRun(runId, 'FAILED', problems).catch(() => undefined);
    throw error;
  }
  bar.stop();
  await client.finishRun(
    runId,
    'COMPLETED',
    [...problems].sort((a, b) => a.line - b.line),
  );
  summary.seconds = (performance.now() - started) / 1000;
  summary.recordsPerSecond = summary.rows / Math.max(summary.seconds, 1e-9);
  if (problems.length > 0) {
    summary.errorReport = options.errors ?? defaultErrorReport(options.file);
    await writeErrorReport(summary.errorReport, problems);
  }
  return summary;
}

/** Sends one batch, dropping and reporting the rows the server names as invalid until the rest is accepted. */
async function sendBatch(
  client: IngestClient,
  source: string,
  records: CsvRecord[],
  summary: ImportSummary,
  report: (p: RowProblem) => void,
  runId: string,
): Promise<void> {
  let pending = records;
  while (pending.length > 0) {
    const result = await client.ingestBatch(
      pending.map((r): IngestInput => ({ ...r.fields, source, localId: r.localId })),
      runId,
    );
    if (result.ok) {
      for (const outcome of result.outcomes) count(summary, outcome);
      summary.rows += pending.length;
      return;
    }
    const bad = new Set<number>();
    for (const p of result.problems) {
      const record = pending[p.index];
      if (!record) throw new CliError('the server named a record that was not in the batch');
      bad.add(p.index);
      report({ line: record.line, field: p.field, code: p.code, message: p.message });
    }
    summary.rows += bad.size;
    summary.errors += bad.size;
    pending = pending.filter((_, i) => !bad.has(i));
  }
}

function count(summary: ImportSummary, outcome: string): void {
  if (outcome === 'LINKED') summary.linked += 1;
  else if (outcome === 'CREATED') summary.created += 1;
  else if (outcome === 'REVIEW') summary.review += 1;
  else if (outcome === 'UNCHANGED') summary.unchanged += 1;
}

/** `line,field,code,message`, ordered by line: what to fix, never the value. */
async function writeErrorReport(path: string, problems: RowProblem[]): Promise<void> {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const stream = createWriteStream(path);
  stream.write(stringify([['line', 'field', 'code', 'message'], ...sorted.map((p) => [p.line, p.field, p.code, p.message])]));
  stream.end();
  await once(stream, 'finish');
}

/** The end-of-import summary: counts only. */
export function formatImportSummary(s: ImportSummary, file: string, source: string): string {
  return [
    `imported ${s.rows} rows of ${file} into source ${source} in ${s.seconds.toFixed(1)} s (${Math.round(s.recordsPerSecond)} records/s)`,
    `  linked ${s.linked}  created ${s.created}  review ${s.review}  unchanged ${s.unchanged}  errors ${s.errors}`,
    ...(s.errorReport ? [`  rejected rows: ${s.errorReport}`] : []),
    ...(s.runId ? [`  ingest run: ${s.runId}`] : []),
    '',
  ].join('\n');
}

/** `mpi import FILE --source …`: loads the file and prints the summary; exit 1 when some rows were rejected. */
export async function importCommand(
  file: string,
  opts: { source: string; mapping?: string; url: string; key?: string; batchSize: string; errors?: string; strict?: boolean },
): Promise<void> {
  const summary = await runImport({ ...opts, file, batchSize: Number(opts.batchSize), progress: process.stderr.isTTY });
  process.stderr.write(formatImportSummary(summary, file, opts.source));
  if (summary.errors > 0) process.exitCode = 1;
}

import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { idProblem, prepareRecord, StringPool } from '../matching/index.ts';
import type { PreparedRecord } from '../matching/index.ts';
import { CsvSyntaxError, malformedCsv, readCsvLineChunks } from './link-csv.ts';
import { LinkInputError } from './link-errors.ts';
import {
  checkColumns,
  checkMappedRows,
  detectMapping,
  resolveMapping,
  type CheckedRows,
  type ColumnPolicy,
  type RefusedRow,
} from './link-mapping.ts';
import { duplicateId, EMPTY_ID, type FileRowProblem, type RowProblem } from './row-problems.ts';
import type { Mapping, ResolvedMapping } from './link-mapping.ts';

export { rowToInput } from './link-mapping.ts';

/** All input records, normalised and prepared, with their ids and source per record. */
export interface LinkInput {
  ids: string[];
  prepared: PreparedRecord[];
  sources: Int32Array;
  sourceNames: string[];
  /** Count of normalisation issues by `field:code` (no values: they are PHI). */
  issues: Record<string, number>;
  /** Rows left out, one entry per problem (file, line, field, code, message): what `mpi import` would refuse. */
  problems: FileRowProblem[];
  /** Rows left out. */
  rejected: number;
}

export interface ReadOptions extends ColumnPolicy {
  /** Called after each batch of rows is normalised, with the batch's size. */
  onRows?: (count: number) => void;
  /** How batches of rows are checked and normalised (default: on this thread). */
  normalise?: NormaliseBatch | undefined;
  /**
   * Link rows with values the service refuses (an impossible or future date, a control character, ...) without
   * those values, as the normaliser cleans them, instead of leaving the rows out. Rows without an id, or repeating
   * one, are left out either way.
   */
  keepInvalid?: boolean | undefined;
  /** Today (ISO date) for the FUTURE_DATE check; default: the current UTC date. */
  asOf?: string | undefined;
}

/**
 * A batch of rows checked, normalised and prepared by the threads that share the work (`LinkThreads.normalise`):
 * the records of the rows kept, in order, and the rows refused.
 */
export interface PreparedRows {
  prepared: PreparedRecord[];
  refused: RefusedRow[];
}

/** The rows of one file kept for linking, in file order, before sources are numbered. */
interface FileRows {
  ids: string[];
  sources: string[] | null;
  prepared: PreparedRecord[];
  /** Data rows in the file, kept or not. */
  read: number;
}

interface Accumulator {
  ids: string[];
  /**
   * Where each kept id was first seen: `fileIndex * 2^32 + line` (`files[fileIndex]`), a number rather than an
   * object per id, which at a million ids is tens of megabytes at the moment of peak memory.
   */
  seen: Map<string, number>;
  /** The files read so far, in order. */
  files: string[];
  prepared: PreparedRecord[];
  sources: number[];
  sourceIndex: Map<string, number>;
  issues: Record<string, number>;
  problems: FileRowProblem[];
  rejected: number;
  /** The strings the kept records share (`prepareRecord`). */
  pool: StringPool;
}

/**
 * Checks a batch of mapped rows as the service does (unless `keepInvalid`) and normalises the rows it accepts,
 * in order: on this thread (`checkMappedRows`; this thread then prepares the records), or split across worker
 * threads that also prepare them (`PreparedRows`).
 */
export type NormaliseBatch = (
  rows: string[][],
  mapping: ResolvedMapping,
  issues: Record<string, number>,
  asOf: string,
  keepInvalid: boolean,
) => CheckedRows | PreparedRows | Promise<CheckedRows | PreparedRows>;

/**
 * Rows normalised together: enough to keep every thread busy, few enough that a batch (raw rows, their encodings
 * between threads) is soon garbage. The end of reading is the run's peak memory, and what each thread's heap then
 * holds beyond the records is such garbage, not yet collected: at 50,000 half the main thread's heap; at 10,000
 * still 300-500 MB of the two threads' 1.6 GB at 1M records on two threads. At 2,000 a batch mostly dies young
 * (the worker's heap at the end of reading was its live records, 400 MB instead of 640 MB) and peak memory at 1M
 * fell from 1.8-2.0 GB to 1.5-1.8 GB, at no measurable cost in time.
 */
const READ_BATCH = 2_000;

function sourceNumber(acc: Accumulator, name: string): number {
  let index = acc.sourceIndex.get(name);
  if (index === undefined) acc.sourceIndex.set(name, (index = acc.sourceIndex.size));
  return index;
}

const malformed = (file: string, error: CsvSyntaxError) => new LinkInputError('MALFORMED_CSV', malformedCsv(file, error), { cause: error });

function resolve(header: string[], mapping: Mapping | undefined, file: string): ResolvedMapping {
  return mapping ? resolveMapping(mapping, header, file) : detectMapping(header, file);
}

/** A data row of the batch being read: sent to be checked and normalised, or already refused. */
interface BatchRow {
  line: number;
  id: string;
  source: string | null;
  /** Why the row is left out, when that is known without its values (no id, a repeated id); null: it was sent. */
  refused: Array<Omit<RowProblem, 'line'>> | null;
}

/** A batch sent to be checked and normalised, settled in turn. */
interface SentBatch {
  batch: BatchRow[];
  /** The ids of its rows that were sent. */
  ids: string[];
  checked: Promise<CheckedRows | PreparedRows>;
}

/**
 * Batches being normalised beyond the one just sent. One keeps every thread busy: the others normalise the newest
 * batch while this thread settles the one before it (see `flush` in `readWhole`).
 */
const IN_FLIGHT = 1;

/**
 * Reads one file: header, then the rows kept normalised and prepared in order; refused rows go to `acc.problems`.
 * A row is kept unless it has no id, repeats the id of a row kept before it, or (unless `keepInvalid`) has a
 * value the service refuses (`recordProblems`), in the words `mpi import` and `mpi load` use for the same row.
 * The value checks run with the normalisation, on whichever thread normalises the row; the id checks here, in
 * row order. A row whose id a row of an unsettled batch also has waits until every batch sent is settled, so that
 * an id counts as seen only once a row with it is kept.
 */
async function readWhole(
  file: string,
  mapping: Mapping | undefined,
  acc: Accumulator,
  options: ReadOptions & { asOf: string },
): Promise<FileRows> {
  const rows: FileRows = { ids: [], sources: null, prepared: [], read: 0 };
  let resolved: ResolvedMapping | null = null;
  let batch: BatchRow[] = [];
  let pending: string[][] = [];
  let pendingIdList: string[] = [];
  /** The ids of the rows sent in every batch not settled yet. */
  const pendingIds = new Set<string>();
  /** Batches sent to be normalised and not settled yet, oldest first. */
  const sent: SentBatch[] = [];
  const normalise = options.normalise ?? checkMappedRows;
  const settleOldest = async () => {
    const oldest = sent.shift()!;
    settle(oldest.batch, await oldest.checked, acc, rows, file);
    for (const id of oldest.ids) pendingIds.delete(id);
    options.onRows?.(oldest.batch.length);
  };
  // Sends the batch, then settles the batches before it: while the other threads normalise this one, this thread
  // keeps and prepares the last one's records and reads the next rows, so no thread waits for another's turn.
  const flush = async () => {
    const checked = Promise.resolve(normalise(pending, resolved!, acc.issues, options.asOf, options.keepInvalid ?? false));
    checked.catch(() => {}); // awaited when the batch is settled
    sent.push({ batch, ids: pendingIdList, checked });
    batch = [];
    pending = [];
    pendingIdList = [];
    while (sent.length > IN_FLIGHT) await settleOldest();
  };
  const settleAll = async () => {
    if (batch.length > 0) await flush();
    while (sent.length > 0) await settleOldest();
  };
  try {
    for await (const chunk of readCsvLineChunks(file)) {
      for (let k = 0; k < chunk.rows.length; k++) {
        const row = chunk.rows[k]!;
        if (resolved === null) {
          resolved = resolve(row, mapping, file);
          checkColumns(row, resolved, file, options);
          if (resolved.source !== null) rows.sources = [];
          continue;
        }
        rows.read += 1;
        const id = (row[resolved.id] ?? '').trim();
        if (pendingIds.has(id)) await settleAll();
        const first = id === '' ? undefined : acc.seen.get(id);
        const refused = id === '' ? [EMPTY_ID] : first !== undefined ? [firstSeen(acc, first, file)] : refusedId(id);
        const source = resolved.source === null ? null : (row[resolved.source] ?? '').trim();
        batch.push({ line: chunk.lines[k]!, id, source, refused });
        if (refused === null) {
          pending.push(row);
          pendingIdList.push(id);
          pendingIds.add(id);
        }
        if (pending.length === READ_BATCH) await flush();
      }
    }
    await settleAll();
    return rows;
  } catch (error) {
    throw error instanceof CsvSyntaxError ? malformed(file, error) : error;
  }
}

/**
 * Why a row is left out for its id alone, beyond a blank or repeated one: an id the service refuses (too long, a
 * control character), which no value can be dropped from, with or without `keepInvalid`.
 */
function refusedId(id: string): Array<Omit<RowProblem, 'line'>> | null {
  const problem = idProblem(id);
  return problem === null ? null : [{ field: 'localId', ...problem }];
}

/** Lines per file in `Accumulator.seen`'s numbers. */
const LINES = 2 ** 32;

/** The duplicate-id problem of a row of `file` whose id was first kept at `seen` (see `Accumulator.seen`). */
function firstSeen(acc: Accumulator, seen: number, file: string): Omit<RowProblem, 'line'> {
  const firstFile = acc.files[Math.floor(seen / LINES)]!;
  return duplicateId(seen % LINES, firstFile === file ? undefined : firstFile);
}

/** Keeps or refuses the rows of a checked batch, in row order (preparing the records unless they come prepared). */
function settle(batch: BatchRow[], checked: CheckedRows | PreparedRows, acc: Accumulator, rows: FileRows, file: string): void {
  const prepared =
    'prepared' in checked ? (i: number) => checked.prepared[i]! : (i: number) => prepareRecord(checked.records[i]!, acc.pool);
  let sent = 0;
  let record = 0;
  let refusal = 0;
  for (const row of batch) {
    let problems = row.refused;
    if (problems === null) {
      const refused = checked.refused[refusal];
      if (refused !== undefined && refused[0] === sent) {
        problems = refused[1];
        refusal++;
      }
      sent++;
    }
    if (problems !== null) {
      for (const problem of problems) acc.problems.push({ file, line: row.line, ...problem });
      acc.rejected += 1;
      continue;
    }
    acc.seen.set(row.id, (acc.files.length - 1) * LINES + row.line);
    rows.ids.push(row.id);
    if (row.source !== null) rows.sources!.push(row.source);
    rows.prepared.push(prepared(record++));
  }
}

/** Appends a file's kept rows in order, numbering sources. */
function appendRows(acc: Accumulator, file: string, rows: FileRows): void {
  if (rows.read === 0) throw new LinkInputError('EMPTY_INPUT', `${file}: no records`);
  const fileSource = rows.sources === null ? sourceNumber(acc, basename(file, extname(file))) : -1;
  for (let i = 0; i < rows.ids.length; i++) {
    acc.ids.push(rows.ids[i]!);
    acc.sources.push(rows.sources === null ? fileSource : sourceNumber(acc, rows.sources[i]!));
    acc.prepared.push(rows.prepared[i]!);
  }
}

/** Reads, maps and normalises every input file (each file one source unless the mapping names a source column). */
export async function readInputs(files: readonly string[], mapping?: Mapping, options: ReadOptions = {}): Promise<LinkInput> {
  if (files.length === 0) throw new LinkInputError('EMPTY_INPUT', 'no input files');
  const acc: Accumulator = {
    ids: [],
    seen: new Map(),
    files: [],
    prepared: [],
    sources: [],
    sourceIndex: new Map(),
    issues: {},
    problems: [],
    rejected: 0,
    pool: new StringPool(),
  };
  const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
  for (const file of files) {
    if (!existsSync(file) || !statSync(file).isFile()) throw new LinkInputError('FILE_NOT_FOUND', `input file not found: ${file}`);
    acc.files.push(file);
    appendRows(acc, file, await readWhole(file, mapping, acc, { ...options, asOf }));
  }
  return {
    ids: acc.ids,
    prepared: acc.prepared,
    sources: Int32Array.from(acc.sources),
    sourceNames: [...acc.sourceIndex.keys()],
    issues: acc.issues,
    problems: acc.problems,
    rejected: acc.rejected,
  };
}

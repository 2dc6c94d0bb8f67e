import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fromCsvLayouts, prepareRecord, recordProblems } from '../matching/index.ts';
import type { NormalisedRecord, PreparedRecord } from '../matching/index.ts';
import { CsvSyntaxError, malformedCsv, readCsvLineChunks } from './link-csv.ts';
import { LinkInputError } from './link-errors.ts';
import { checkColumns, detectMapping, normaliseMappedRows, resolveMapping, rowToInput, type ColumnPolicy } from './link-mapping.ts';
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
  /** How batches of rows are normalised (default: on this thread). */
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
  /** Where each kept id was first seen. */
  seen: Map<string, { file: string; line: number }>;
  prepared: PreparedRecord[];
  sources: number[];
  sourceIndex: Map<string, number>;
  issues: Record<string, number>;
  problems: FileRowProblem[];
  rejected: number;
}

/** Normalises a batch of mapped rows in order (on this thread, or split across worker threads). */
export type NormaliseBatch = (
  rows: string[][],
  mapping: ResolvedMapping,
  issues: Record<string, number>,
  asOf: string,
) => NormalisedRecord[] | Promise<NormalisedRecord[]>;

/**
 * Rows normalised together: enough to keep every thread busy, few enough that a batch (raw rows, their encodings
 * between threads) is soon garbage. At 50,000, half the main thread's heap at the end of reading 1M records on
 * two threads was such garbage, and that moment was the run's peak memory.
 */
const READ_BATCH = 10_000;

function sourceNumber(acc: Accumulator, name: string): number {
  let index = acc.sourceIndex.get(name);
  if (index === undefined) acc.sourceIndex.set(name, (index = acc.sourceIndex.size));
  return index;
}

const malformed = (file: string, error: CsvSyntaxError) => new LinkInputError('MALFORMED_CSV', malformedCsv(file, error), { cause: error });

function resolve(header: string[], mapping: Mapping | undefined, file: string): ResolvedMapping {
  return mapping ? resolveMapping(mapping, header, file) : detectMapping(header, file);
}

/**
 * What keeps a row out of the linkage, in the words `mpi import` and `mpi load` use for the same row: no id, an
 * id seen before, or (unless `keepInvalid`) a value the service refuses (`recordProblems`).
 */
function rowProblems(
  row: string[],
  id: string,
  mapping: ResolvedMapping,
  acc: Accumulator,
  file: string,
  options: ReadOptions & { asOf: string },
): Array<Omit<RowProblem, 'line'>> {
  if (id === '') return [EMPTY_ID];
  const first = acc.seen.get(id);
  if (first) return [duplicateId(first.line, first.file === file ? undefined : first.file)];
  return options.keepInvalid ? [] : recordProblems(fromCsvLayouts(rowToInput(row, mapping)), options.asOf);
}

/** Reads one file: header, then the rows kept normalised and prepared in order; refused rows go to `acc.problems`. */
async function readWhole(
  file: string,
  mapping: Mapping | undefined,
  acc: Accumulator,
  options: ReadOptions & { asOf: string },
): Promise<FileRows> {
  const rows: FileRows = { ids: [], sources: null, prepared: [], read: 0 };
  let resolved: ResolvedMapping | null = null;
  let pending: string[][] = [];
  const flush = async () => {
    const normalise = options.normalise ?? normaliseMappedRows;
    for (const record of await normalise(pending, resolved!, acc.issues, options.asOf)) rows.prepared.push(prepareRecord(record));
    options.onRows?.(pending.length);
    pending = [];
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
        if (keepRow(row, chunk.lines[k]!, resolved, acc, rows, file, options)) pending.push(row);
        if (pending.length === READ_BATCH) await flush();
      }
    }
    if (pending.length > 0) await flush();
    return rows;
  } catch (error) {
    throw error instanceof CsvSyntaxError ? malformed(file, error) : error;
  }
}

/** Counts a data row and says whether it is linked; a refused row goes to `acc.problems` with its line. */
function keepRow(
  row: string[],
  line: number,
  resolved: ResolvedMapping,
  acc: Accumulator,
  rows: FileRows,
  file: string,
  options: ReadOptions & { asOf: string },
): boolean {
  rows.read += 1;
  const id = (row[resolved.id] ?? '').trim();
  const problems = rowProblems(row, id, resolved, acc, file, options);
  if (problems.length > 0) {
    for (const problem of problems) acc.problems.push({ file, line, ...problem });
    acc.rejected += 1;
    return false;
  }
  acc.seen.set(id, { file, line });
  rows.ids.push(id);
  if (resolved.source !== null) rows.sources!.push((row[resolved.source] ?? '').trim());
  return true;
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
    prepared: [],
    sources: [],
    sourceIndex: new Map(),
    issues: {},
    problems: [],
    rejected: 0,
  };
  const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
  for (const file of files) {
    if (!existsSync(file) || !statSync(file).isFile()) throw new LinkInputError('FILE_NOT_FOUND', `input file not found: ${file}`);
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

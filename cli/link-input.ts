import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { prepareRecord } from '../matching/index.ts';
import type { NormalisedRecord, PreparedRecord } from '../matching/index.ts';
import { CsvSyntaxError, readCsvRows } from './link-csv.ts';
import { LinkInputError } from './link-errors.ts';
import { checkColumns, detectMapping, normaliseMappedRows, resolveMapping, type ColumnPolicy } from './link-mapping.ts';
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
}

export interface ReadOptions extends ColumnPolicy {
  /** Called after each batch of rows is normalised, with the batch's size. */
  onRows?: (count: number) => void;
  /** How batches of rows are normalised (default: on this thread). */
  normalise?: NormaliseBatch | undefined;
}

/** The rows of one file in file order, before ids are checked and sources numbered. */
interface FileRows {
  ids: string[];
  sources: string[] | null;
  prepared: PreparedRecord[];
}

interface Accumulator {
  ids: string[];
  seen: Set<string>;
  prepared: PreparedRecord[];
  sources: number[];
  sourceIndex: Map<string, number>;
  issues: Record<string, number>;
}

/** Normalises a batch of mapped rows in order (on this thread, or split across worker threads). */
export type NormaliseBatch = (
  rows: string[][],
  mapping: ResolvedMapping,
  issues: Record<string, number>,
) => NormalisedRecord[] | Promise<NormalisedRecord[]>;

/** Rows normalised together: large enough to keep every thread busy, small enough to bound the raw rows held. */
const READ_BATCH = 50_000;

function sourceNumber(acc: Accumulator, name: string): number {
  let index = acc.sourceIndex.get(name);
  if (index === undefined) acc.sourceIndex.set(name, (index = acc.sourceIndex.size));
  return index;
}

const malformed = (file: string, error: CsvSyntaxError) =>
  new LinkInputError('MALFORMED_CSV', `${file}: malformed CSV at line ${error.line}: ${error.problem}`, { cause: error });

function resolve(header: string[], mapping: Mapping | undefined, file: string): ResolvedMapping {
  return mapping ? resolveMapping(mapping, header, file) : detectMapping(header, file);
}

/** Reads one file: header, then rows normalised and prepared in order. */
async function readWhole(
  file: string,
  mapping: Mapping | undefined,
  issues: Record<string, number>,
  options: ReadOptions,
): Promise<FileRows> {
  const rows: FileRows = { ids: [], sources: null, prepared: [] };
  const iterator = readCsvRows(file)[Symbol.asyncIterator]();
  try {
    const header = await iterator.next();
    if (header.done) return rows;
    const resolved = resolve(header.value, mapping, file);
    checkColumns(header.value, resolved, file, options);
    if (resolved.source !== null) rows.sources = [];
    const normalise = options.normalise ?? normaliseMappedRows;
    let pending: string[][] = [];
    const flush = async () => {
      for (const record of await normalise(pending, resolved, issues)) rows.prepared.push(prepareRecord(record));
      options.onRows?.(pending.length);
      pending = [];
    };
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const row = next.value;
      rows.ids.push((row[resolved.id] ?? '').trim());
      if (resolved.source !== null) rows.sources!.push((row[resolved.source] ?? '').trim());
      pending.push(row);
      if (pending.length === READ_BATCH) await flush();
    }
    if (pending.length > 0) await flush();
    return rows;
  } catch (error) {
    throw error instanceof CsvSyntaxError ? malformed(file, error) : error;
  }
}

/** Appends a file's rows in order: checks ids (empty, repeated across inputs) and numbers sources. */
function appendRows(acc: Accumulator, file: string, rows: FileRows): void {
  if (rows.ids.length === 0) throw new LinkInputError('EMPTY_INPUT', `${file}: no records`);
  const fileSource = rows.sources === null ? sourceNumber(acc, basename(file, extname(file))) : -1;
  for (let i = 0; i < rows.ids.length; i++) {
    const id = rows.ids[i]!;
    if (id === '') throw new LinkInputError('MALFORMED_CSV', `${file}: data row ${i + 1}: empty record id`);
    if (acc.seen.has(id))
      throw new LinkInputError('DUPLICATE_ID', `${file}: data row ${i + 1}: record id "${id}" appears more than once across the inputs`);
    acc.seen.add(id);
    acc.ids.push(id);
    acc.sources.push(rows.sources === null ? fileSource : sourceNumber(acc, rows.sources[i]!));
    acc.prepared.push(rows.prepared[i]!);
  }
}

/** Reads, maps and normalises every input file (each file one source unless the mapping names a source column). */
export async function readInputs(files: readonly string[], mapping?: Mapping, options: ReadOptions = {}): Promise<LinkInput> {
  if (files.length === 0) throw new LinkInputError('EMPTY_INPUT', 'no input files');
  const acc: Accumulator = { ids: [], seen: new Set(), prepared: [], sources: [], sourceIndex: new Map(), issues: {} };
  for (const file of files) {
    if (!existsSync(file) || !statSync(file).isFile()) throw new LinkInputError('FILE_NOT_FOUND', `input file not found: ${file}`);
    appendRows(acc, file, await readWhole(file, mapping, acc.issues, options));
  }
  return {
    ids: acc.ids,
    prepared: acc.prepared,
    sources: Int32Array.from(acc.sources),
    sourceNames: [...acc.sourceIndex.keys()],
    issues: acc.issues,
  };
}

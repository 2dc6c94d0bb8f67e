import { existsSync, readFileSync, statSync } from 'node:fs';
import { CliError } from './errors.ts';
import { fromCsvLayouts } from '../matching/index.ts';
import { CsvSyntaxError, malformedCsv, readCsvLines } from './link-csv.ts';
import { LinkInputError } from './link-errors.ts';
import { duplicateId, EMPTY_ID, type RowProblem } from './row-problems.ts';
import { rowToInput } from './link-input.ts';
import {
  checkColumns,
  detectMapping,
  parseMapping,
  resolveMapping,
  type ColumnPolicy,
  type Mapping,
  type ResolvedMapping,
} from './link-mapping.ts';

/** Bytes of a file read so far, and its size: the progress of a first pass over it. */
export type ReadProgress = (bytes: number, total: number) => void;

/** One data row of the file: its line number, the source's local id and the canonical fields. */
export interface CsvRecord {
  line: number;
  localId: string;
  fields: Record<string, string | null>;
}

export type { RowProblem } from './row-problems.ts';

/** Reads and validates a mapping file in the format of `mpi link --mapping`. */
export function readMappingFile(path: string): Mapping {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`mapping file not found: ${path}`, 'mapping');
  }
  try {
    return parseMapping(JSON.parse(text));
  } catch (error) {
    if (error instanceof LinkInputError) throw new CliError(error.message, 'mapping');
    throw new CliError(`mapping file is not valid JSON: ${path}`, 'mapping');
  }
}

/** The row's canonical fields, mapped as `mpi link` maps them, with dates in the layouts CSV files use sent as ISO dates. */
function fieldsOf(row: string[], mapping: ResolvedMapping): Record<string, string | null> {
  return fromCsvLayouts(rowToInput(row, mapping)) as Record<string, string | null>;
}

/**
 * Streams the data rows of a CSV file with their line numbers, mapped to canonical fields by `mapping` (else by
 * the well-known column names `mpi link` recognises). Rows without a local id, and repeats of a local id, are
 * reported to `onProblem` instead of returned. Malformed CSV, a missing file or an unknown mapped column throw
 * a CliError naming the file and line.
 */
export async function* readCsvRecords(
  file: string,
  mapping: Mapping | undefined,
  onProblem: (p: RowProblem) => void,
  columns: ColumnPolicy = {},
  onRead?: ReadProgress,
): AsyncGenerator<CsvRecord> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`input file not found: ${file}`, 'file');
  const size = statSync(file).size;
  onRead?.(0, size);
  let resolved: ResolvedMapping | null = null;
  const seen = new Map<string, number>();
  try {
    for await (const { row: record, line } of readCsvLines(file, onRead && ((bytes) => onRead(bytes, size)))) {
      if (resolved === null) {
        resolved = mapping ? resolveMapping(mapping, record, file) : detectMapping(record, file);
        checkColumns(record, resolved, file, columns);
        continue;
      }
      const localId = record[resolved.id]?.trim() ?? '';
      if (localId === '') {
        onProblem({ line, ...EMPTY_ID });
        continue;
      }
      const first = seen.get(localId);
      if (first !== undefined) {
        onProblem({ line, ...duplicateId(first) });
        continue;
      }
      seen.set(localId, line);
      yield { line, localId, fields: fieldsOf(record, resolved) };
    }
  } catch (error) {
    if (error instanceof LinkInputError) throw new CliError(error.message);
    if (error instanceof CsvSyntaxError) throw new CliError(malformedCsv(file, error), 'file');
    throw error;
  }
  if (resolved === null) throw new CliError(`${file}: no header row`, 'file');
}

/** Counts the data rows (and checks the whole file parses) before anything is sent. */
export async function countCsvRecords(
  file: string,
  mapping: Mapping | undefined,
  columns: ColumnPolicy = {},
  onRead?: ReadProgress,
): Promise<number> {
  let rows = 0;
  for await (const _ of readCsvRecords(
    file,
    mapping,
    () => {
      rows += 1;
    },
    columns,
    onRead,
  ))
    rows += 1;
  return rows;
}

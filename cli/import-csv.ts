import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { CliError } from './errors.ts';
import { normaliseRecord } from '../matching/index.ts';
import { LinkInputError } from './link-errors.ts';
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

/** One data row of the file: its line number, the source's local id and the canonical fields. */
export interface CsvRecord {
  line: number;
  localId: string;
  fields: Record<string, string | null>;
}

/** A row that cannot be sent: which line, which field, why. Never the value. */
export interface RowProblem {
  line: number;
  field: string;
  code: string;
  message: string;
}

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

/**
 * The row's canonical fields, mapped as `mpi link` maps them. Birth dates in the layouts `mpi link` reads
 * (YYYYMMDD, MM/DD/YYYY, ...) are sent as the ISO dates the API takes; anything else is sent as it is, for the
 * server to report.
 */
function fieldsOf(row: string[], mapping: ResolvedMapping): Record<string, string | null> {
  const fields = rowToInput(row, mapping) as Record<string, string | null>;
  const raw = fields.birthDate?.trim();
  if (raw) {
    const iso = normaliseRecord({ birthDate: raw }).record.birthDate;
    if (iso && iso.length === 10) fields.birthDate = iso;
  }
  return fields;
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
): AsyncGenerator<CsvRecord> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`input file not found: ${file}`, 'file');
  const parser = createReadStream(file).pipe(parse({ bom: true, skip_empty_lines: true, info: true }));
  let resolved: ResolvedMapping | null = null;
  const seen = new Map<string, number>();
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (resolved === null) {
        resolved = mapping ? resolveMapping(mapping, record, file) : detectMapping(record, file);
        checkColumns(record, resolved, file, columns);
        continue;
      }
      const line = info.lines;
      const localId = record[resolved.id]?.trim() ?? '';
      if (localId === '') {
        onProblem({ line, field: 'localId', code: 'REQUIRED', message: 'the id column is empty' });
        continue;
      }
      const first = seen.get(localId);
      if (first !== undefined) {
        onProblem({ line, field: 'localId', code: 'DUPLICATE_ID', message: `the same id is on line ${first}; only the first is imported` });
        continue;
      }
      seen.set(localId, line);
      yield { line, localId, fields: fieldsOf(record, resolved) };
    }
  } catch (error) {
    if (error instanceof LinkInputError) throw new CliError(error.message);
    if (error instanceof CliError) throw error;
    const line = (error as { lines?: number }).lines;
    const reason = (error as Error).message.split(':')[0];
    throw new CliError(`${file}: malformed CSV${line === undefined ? '' : ` at line ${line}`}: ${reason}`, 'file');
  }
  if (resolved === null) throw new CliError(`${file}: no header row`, 'file');
}

/** Counts the data rows (and checks the whole file parses) before anything is sent. */
export async function countCsvRecords(file: string, mapping: Mapping | undefined, columns: ColumnPolicy = {}): Promise<number> {
  let rows = 0;
  for await (const _ of readCsvRecords(
    file,
    mapping,
    () => {
      rows += 1;
    },
    columns,
  ))
    rows += 1;
  return rows;
}

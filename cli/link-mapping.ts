import { z } from 'zod';
import { CANONICAL_FIELDS, fromCsvLayouts, normaliseRecord, recordProblems } from '../matching/index.ts';
import type { CanonicalField, NormalisedRecord, RecordInput, ValueProblem } from '../matching/index.ts';
import { ID_COLUMNS, KNOWN_COLUMNS } from './columns.ts';
import { LinkInputError } from './link-errors.ts';

/** `{"id": col, "source": col?, "fields": {CANONICAL: col | [col, ...]}}`; a list is joined with spaces. */
export const MappingSchema = z.object({
  id: z.string().min(1),
  source: z.string().min(1).optional(),
  fields: z.partialRecord(z.enum(CANONICAL_FIELDS), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])),
});
export type Mapping = z.infer<typeof MappingSchema>;

/** Column indices per canonical field, resolved against one file's header. */
export interface ResolvedMapping {
  id: number;
  source: number | null;
  fields: [CanonicalField, number[]][];
}

function indexOfColumn(header: readonly string[], name: string): number {
  const wanted = name.toLowerCase();
  return header.findIndex((h) => h.trim().toLowerCase() === wanted);
}

/** Resolves a mapping against a header; names the file and column when a mapped column is missing. */
export function resolveMapping(mapping: Mapping, header: readonly string[], file: string): ResolvedMapping {
  const need = (column: string) => {
    const index = header.indexOf(column);
    if (index < 0) throw new LinkInputError('UNKNOWN_COLUMN', `${file}: mapping names column "${column}", which the file does not have`);
    return index;
  };
  const fields: [CanonicalField, number[]][] = [];
  for (const field of CANONICAL_FIELDS) {
    const spec = mapping.fields[field];
    if (spec === undefined) continue;
    fields.push([field, (Array.isArray(spec) ? spec : [spec]).map(need)]);
  }
  return { id: need(mapping.id), source: mapping.source === undefined ? null : need(mapping.source), fields };
}

/** Recognises well-known columns in a header (see `KNOWN_COLUMNS`). */
export function detectMapping(header: readonly string[], file: string): ResolvedMapping {
  const id = ID_COLUMNS.map((c) => indexOfColumn(header, c)).find((i) => i >= 0);
  if (id === undefined) {
    throw new LinkInputError('NO_ID_COLUMN', `${file}: no id column (expected one of ${ID_COLUMNS.join(', ')}); pass --mapping`);
  }
  const fields: [CanonicalField, number[]][] = [];
  for (const field of CANONICAL_FIELDS) {
    for (const alternative of KNOWN_COLUMNS[field]) {
      const names = Array.isArray(alternative) ? alternative : [alternative];
      const indices = names.map((n) => indexOfColumn(header, n));
      if (indices.every((i) => i >= 0)) {
        fields.push([field, indices]);
        break;
      }
    }
  }
  if (fields.length === 0) throw new LinkInputError('UNKNOWN_COLUMN', `${file}: no recognised person columns; pass --mapping`);
  return { id, source: null, fields };
}

/** What to do with columns neither recognised nor mapped: warn (through `warn`) or, when strict, refuse the file. */
export interface ColumnPolicy {
  strict?: boolean | undefined;
  warn?: ((message: string) => void) | undefined;
}

/** The positions of the columns a mapping reads: the id, the source and every mapped field's. */
function readColumns(mapping: ResolvedMapping): Set<number> {
  return new Set([mapping.id, ...(mapping.source === null ? [] : [mapping.source]), ...mapping.fields.flatMap(([, columns]) => columns)]);
}

/** Header columns that feed nothing: not the id, the source or any mapped field. */
export function unrecognisedColumns(header: readonly string[], mapping: ResolvedMapping): string[] {
  const used = readColumns(mapping);
  return header.filter((name, index) => !used.has(index) && name.trim() !== '');
}

const columnKey = (name: string) => name.trim().toLowerCase();

/**
 * The same check and the same words for `mpi link` and `mpi import`: a column the file has but nothing reads
 * (a typo, or a name we do not know, such as `birth`) would silently drop its values.
 */
export function checkColumns(header: readonly string[], mapping: ResolvedMapping, file: string, policy: ColumnPolicy): void {
  const unread = unrecognisedColumns(header, mapping);
  if (unread.length === 0) return;
  // A column named twice is read once (the first): its other copies are no unknown name, and their values are lost.
  const used = readColumns(mapping);
  const read = new Set(header.filter((_, index) => used.has(index)).map(columnKey));
  const repeated = [...new Set(unread.filter((name) => read.has(columnKey(name))))];
  const ignored = unread.filter((name) => !read.has(columnKey(name)));
  if (repeated.length > 0) {
    const names = repeated.map((c) => `"${c.trim()}"`).join(', ');
    if (policy.strict)
      throw new LinkInputError(
        'UNRECOGNISED_COLUMNS',
        `${file}: columns named more than once: ${names} (rename them, or map them with --mapping)`,
      );
    policy.warn?.(
      `warning: ${file}: columns named more than once: ${names}; only the first of each is read (rename the others, or map them with --mapping)\n`,
    );
  }
  if (ignored.length === 0) return;
  const names = ignored.map((c) => `"${c}"`).join(', ');
  if (policy.strict) {
    throw new LinkInputError(
      'UNRECOGNISED_COLUMNS',
      `${file}: unrecognised columns ${names} (map them with --mapping, or leave out --strict to ignore them)`,
    );
  }
  policy.warn?.(
    `warning: ${file}: unrecognised columns ${names} are ignored (map them with --mapping; --strict refuses such a file; --help lists the recognised names)\n`,
  );
}

/** Parses and validates a mapping document. */
export function parseMapping(json: unknown): Mapping {
  const result = MappingSchema.safeParse(json);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new LinkInputError('INVALID_MAPPING', `invalid mapping: ${detail}`);
}

/** One CSV row as canonical fields; a field mapped to several columns joins them with spaces. */
export function rowToInput(row: string[], mapping: ResolvedMapping): RecordInput {
  const input: RecordInput = {};
  for (const [field, columns] of mapping.fields) {
    if (columns.length === 1) {
      input[field] = row[columns[0]!] ?? null;
      continue;
    }
    const parts: string[] = [];
    for (const c of columns) {
      const v = row[c]?.trim();
      if (v) parts.push(v);
    }
    input[field] = parts.length === 0 ? null : parts.join(' ');
  }
  return input;
}

/** Normalises one mapped row (`rowToInput`), counting its field issues into `issues` by `field:code` (never values). */
function normaliseInput(input: RecordInput, issues: Record<string, number>, asOf?: string): NormalisedRecord {
  const { record, issues: found } = normaliseRecord(input, { asOf });
  for (const issue of found) {
    const key = `${issue.field}:${issue.code}`;
    issues[key] = (issues[key] ?? 0) + 1;
  }
  return record;
}

/**
 * Normalises mapped rows in order, counting field issues into `issues` by `field:code` (never values). With
 * `asOf` (ISO date), a birth date after it is dropped as FUTURE_DATE, as the service's normaliser does.
 */
export function normaliseMappedRows(
  rows: readonly string[][],
  mapping: ResolvedMapping,
  issues: Record<string, number>,
  asOf?: string,
): NormalisedRecord[] {
  const records = new Array<NormalisedRecord>(rows.length);
  for (let i = 0; i < rows.length; i++) records[i] = normaliseInput(rowToInput(rows[i]!, mapping), issues, asOf);
  return records;
}

/** A row the service refuses, by its index in the batch, with what is wrong with it. */
export type RefusedRow = [index: number, problems: ValueProblem[]];

/** A batch of rows checked and normalised: the records of the rows kept, in order, and the rows refused. */
export interface CheckedRows {
  records: NormalisedRecord[];
  refused: RefusedRow[];
}

/**
 * Checks mapped rows as the service checks a record (`recordProblems`; skipped with `keepInvalid`) and
 * normalises the rows it accepts, in order: the same records and issue counts `normaliseMappedRows` gives for
 * the accepted rows alone. Pure work on the rows, so any thread can do a share of a batch.
 */
export function checkMappedRows(
  rows: readonly string[][],
  mapping: ResolvedMapping,
  issues: Record<string, number>,
  asOf: string,
  keepInvalid: boolean,
): CheckedRows {
  const out: CheckedRows = { records: [], refused: [] };
  for (let i = 0; i < rows.length; i++) {
    const input = rowToInput(rows[i]!, mapping);
    const problems = keepInvalid ? [] : recordProblems(fromCsvLayouts(input), asOf);
    if (problems.length > 0) out.refused.push([i, problems]);
    else out.records.push(normaliseInput(input, issues, asOf));
  }
  return out;
}

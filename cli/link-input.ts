import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse } from 'csv-parse';
import { normaliseRecord, prepareRecord } from '../matching/index.ts';
import type { PreparedRecord, RecordInput } from '../matching/index.ts';
import { LinkInputError } from './link-errors.ts';
import { detectMapping, resolveMapping } from './link-mapping.ts';
import type { Mapping, ResolvedMapping } from './link-mapping.ts';

/** All input records, normalised and prepared, with their ids and source per record. */
export interface LinkInput {
  ids: string[];
  prepared: PreparedRecord[];
  sources: Int32Array;
  sourceNames: string[];
  /** Count of normalisation issues by `field:code` (no values: they are PHI). */
  issues: Record<string, number>;
}

interface Accumulator {
  ids: string[];
  seen: Set<string>;
  prepared: PreparedRecord[];
  sources: number[];
  sourceIndex: Map<string, number>;
  issues: Record<string, number>;
}

function sourceNumber(acc: Accumulator, name: string): number {
  let index = acc.sourceIndex.get(name);
  if (index === undefined) acc.sourceIndex.set(name, (index = acc.sourceIndex.size));
  return index;
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

function addRow(acc: Accumulator, row: string[], mapping: ResolvedMapping, fileSource: number, file: string, line: number): void {
  const id = row[mapping.id]?.trim() ?? '';
  if (id === '') throw new LinkInputError('MALFORMED_CSV', `${file}: line ${line}: empty record id`);
  if (acc.seen.has(id)) throw new LinkInputError('DUPLICATE_ID', `${file}: line ${line}: record id "${id}" appears more than once across the inputs`);
  acc.seen.add(id);
  acc.ids.push(id);
  const source = mapping.source === null ? fileSource : sourceNumber(acc, (row[mapping.source] ?? '').trim());
  acc.sources.push(source);
  const { record, issues } = normaliseRecord(rowToInput(row, mapping));
  for (const issue of issues) {
    const key = `${issue.field}:${issue.code}`;
    acc.issues[key] = (acc.issues[key] ?? 0) + 1;
  }
  acc.prepared.push(prepareRecord(record));
}

async function readFile(acc: Accumulator, file: string, mapping: Mapping | undefined, onRow?: () => void): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new LinkInputError('FILE_NOT_FOUND', `input file not found: ${file}`);
  const fileSource = mapping?.source === undefined ? sourceNumber(acc, basename(file, extname(file))) : -1;
  const parser = createReadStream(file).pipe(parse({ bom: true, skip_empty_lines: true, info: true }));
  let resolved: ResolvedMapping | null = null;
  let rows = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (resolved === null) {
        resolved = mapping ? resolveMapping(mapping, record, file) : detectMapping(record, file);
        continue;
      }
      addRow(acc, record, resolved, fileSource, file, info.lines);
      rows++;
      onRow?.();
    }
  } catch (error) {
    if (error instanceof LinkInputError) throw error;
    const line = (error as { lines?: number }).lines;
    const where = line === undefined ? '' : ` at line ${line}`;
    throw new LinkInputError('MALFORMED_CSV', `${file}: malformed CSV${where}: ${(error as Error).message.split(':')[0]}`, { cause: error });
  }
  if (rows === 0) throw new LinkInputError('EMPTY_INPUT', `${file}: no records`);
}

/** Reads, maps and normalises every input file (each file one source unless the mapping names a source column). */
export async function readInputs(files: readonly string[], mapping?: Mapping, onRow?: () => void): Promise<LinkInput> {
  if (files.length === 0) throw new LinkInputError('EMPTY_INPUT', 'no input files');
  const acc: Accumulator = {
    ids: [],
    seen: new Set(),
    prepared: [],
    sources: [],
    sourceIndex: new Map(),
    issues: {},
  };
  for (const file of files) await readFile(acc, file, mapping, onRow);
  return {
    ids: acc.ids,
    prepared: acc.prepared,
    sources: Int32Array.from(acc.sources),
    sourceNames: [...acc.sourceIndex.keys()],
    issues: acc.issues,
  };
}

// Writes a generated registry to CSV: the records file, `<name>_truth.csv` beside it and, on request,
// `<name>_relations.csv` listing the look-alike pairs (twins, Jr/Sr, spouses, ...) for error analysis.
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { RECORD_FIELDS } from './config.ts';
import { type GenerateOptions, type Relation, type RegistrySummary, generateRegistry } from './registry.ts';

/** The records file header, in contract order. */
export const RECORD_HEADER = ['record_id', 'source', ...RECORD_FIELDS] as const;
export const TRUTH_HEADER = ['record_id', 'cluster_id'] as const;
export const RELATIONS_HEADER = ['cluster_a', 'cluster_b', 'relation', 'similar_names'] as const;

const BATCH_ROWS = 4096;
/** Characters that make csv-stringify quote a field (with its default options). */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV line, identical to csv-stringify's output. Most rows need no quoting, so they are joined directly
 * (ten times faster than the library); rows with a comma, quote or line break go through csv-stringify.
 */
export function csvLine(row: readonly string[]): string {
  for (const field of row) if (NEEDS_QUOTES.test(field)) return stringify([row as string[]]);
  return `${row.join(',')}\n`;
}

export interface WriteOptions extends Omit<GenerateOptions, 'onRelation'> {
  /** Path of the records CSV; the truth file goes beside it. */
  out: string;
  /** Also write `<name>_relations.csv`. */
  relations?: boolean;
  /** Called every few thousand records with the number written so far. */
  onProgress?: (records: number) => void;
}

export interface WrittenFiles {
  records: string;
  truth: string;
  relations: string | null;
}

/** `dir/name.csv` -> `dir/name_<suffix>.csv`. */
export function siblingPath(out: string, suffix: string): string {
  const extension = out.toLowerCase().endsWith('.csv') ? out.slice(-4) : '';
  return `${out.slice(0, out.length - extension.length)}_${suffix}${extension || '.csv'}`;
}

/** A CSV file written in batches of lines, respecting stream back-pressure. */
class CsvSink {
  private readonly stream: WriteStream;
  private text = '';
  private rows = 0;

  constructor(path: string, header: readonly string[]) {
    this.stream = createWriteStream(path);
    this.text = csvLine(header);
  }

  /** Adds a line; true when the batch is full and should be flushed. */
  push(row: readonly string[]): boolean {
    this.text += csvLine(row);
    this.rows += 1;
    return this.rows >= BATCH_ROWS;
  }

  async flush(): Promise<void> {
    if (this.text === '') return;
    const text = this.text;
    this.text = '';
    this.rows = 0;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** Generates a registry straight to disk and returns its summary and the paths written. */
export async function writeRegistry(options: WriteOptions): Promise<{ summary: RegistrySummary; files: WrittenFiles }> {
  const { out, relations: wantRelations, onProgress, ...generate } = options;
  mkdirSync(dirname(out), { recursive: true });
  const files: WrittenFiles = {
    records: out,
    truth: siblingPath(out, 'truth'),
    relations: wantRelations ? siblingPath(out, 'relations') : null,
  };
  const recordSink = new CsvSink(files.records, RECORD_HEADER);
  const truthSink = new CsvSink(files.truth, TRUTH_HEADER);
  const pairs: Relation[] = [];
  const iterator = generateRegistry({ ...generate, onRelation: wantRelations ? (relation) => pairs.push(relation) : undefined });
  let written = 0;
  for (;;) {
    const step = iterator.next();
    if (step.done) {
      await Promise.all([recordSink.close(), truthSink.close()]);
      if (files.relations) await writeRelations(files.relations, pairs);
      onProgress?.(written);
      return { summary: step.value, files };
    }
    const record = step.value;
    const full = recordSink.push([record.recordId, record.source, ...RECORD_FIELDS.map((field) => record[field])]);
    if (truthSink.push([record.recordId, record.clusterId]) || full) await Promise.all([recordSink.flush(), truthSink.flush()]);
    written += 1;
    if (written % 10_000 === 0) onProgress?.(written);
  }
}

async function writeRelations(path: string, pairs: readonly Relation[]): Promise<void> {
  const sink = new CsvSink(path, RELATIONS_HEADER);
  for (const pair of pairs) if (sink.push([pair.a, pair.b, pair.kind, pair.similarNames ? '1' : '0'])) await sink.flush();
  await sink.close();
}

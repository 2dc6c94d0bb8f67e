import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  addLevelCounts,
  assembleBatch,
  candidatePairs,
  compareRange,
  compileModel,
  countLevels,
  decodeRecords,
  defaultRandomPairs,
  encodeRecords,
  preparedOf,
  randomPairs,
  scorePairRange,
} from '../matching/index.ts';
import type { Batch, BatchOptions, MatchModel, NormalisedRecord, PreparedRecord, RandomLevels } from '../matching/index.ts';
import { normaliseMappedRows } from './link-mapping.ts';
import type { ResolvedMapping } from './link-mapping.ts';

/** What the main thread asks of a worker (see link-worker.ts). */
export type WorkerTask =
  | { kind: 'normalise'; rows: string; mapping: ResolvedMapping; asOf: string }
  /** Not answered: a failure fails the worker's next task (see link-worker.ts). */
  | { kind: 'append'; slices: Array<string | null> }
  | { kind: 'records'; chunks: string[] }
  | { kind: 'compare'; pairA: Int32Array; pairB: Int32Array }
  | { kind: 'count'; pairA: Int32Array; pairB: Int32Array }
  | { kind: 'score'; model: MatchModel; pairA: Int32Array; pairB: Int32Array };

export type WorkerReply =
  | { kind: 'normalised'; records: string; issues: Record<string, number> }
  | { kind: 'ready'; count: number }
  | { kind: 'compared'; lo: Uint32Array; hi: Uint32Array }
  | { kind: 'counted'; counts: Float64Array[] }
  | { kind: 'scored'; weights: Float64Array; conflicts: Uint32Array }
  | { kind: 'failed'; message: string };

/** Threads the batch engine uses unless told otherwise: one per core. */
export const defaultThreads = (): number => availableParallelism();

/** Where tsx's ESM loader API is (`import.meta.resolve` where the runtime has it, else from tsx's package.json). */
function tsxLoaderUrl(from: string): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const manifest = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } | string }> };
  const entry = pkg.exports['./esm/api']!.import;
  return new URL(typeof entry === 'string' ? entry : entry.default, pathToFileURL(manifest)).href;
}

/**
 * Starts one worker. The built CLI (dist/cli) has the worker bundled beside it; run from the TypeScript source
 * (through tsx, or the test runner), the worker first registers tsx's loader, then imports its module.
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./link-worker.js', here));
  const tsx = tsxLoaderUrl(here);
  const entry = new URL('./link-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

/** Records per encoded string when copying records to the workers. */
const SHARE_CHUNK = 50_000;

/** `[start, end)` ranges splitting `count` items into `parts` near-equal, ordered parts. */
function split(count: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, k) => [Math.floor((count * k) / parts), Math.floor((count * (k + 1)) / parts)]);
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/**
 * The batch engine's threads: this one plus `threads - 1` workers. Work is split into ordered ranges, one per
 * thread (this thread takes the first), and results are put back in range order, so the outcome is the same
 * for any number of threads. Every worker builds its own copy of the records for the comparisons while the
 * files are read: it keeps the rows it normalised and is sent the others, a batch at a time, so no thread
 * holds every record encoded at once.
 */
export class LinkThreads {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `threads - 1` workers (none for one thread: then everything runs here, as without threads). */
  static start(threads: number): LinkThreads {
    return new LinkThreads(Array.from({ length: Math.max(0, threads - 1) }, spawnWorker));
  }

  get size(): number {
    return this.workers.length + 1;
  }

  private run(w: number, task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const worker = this.workers[w]!;
    return new Promise((resolve, reject) => {
      const done = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (reply: WorkerReply) => {
        done();
        if (reply.kind === 'failed') reject(new Error(`link worker failed: ${reply.message}`));
        else resolve(reply);
      };
      const onError = (error: Error) => {
        done();
        reject(error);
      };
      const onExit = (code: number) => {
        done();
        reject(new Error(`link worker exited early (code ${code})`));
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.postMessage(task, transfer);
    });
  }

  /** Normalises rows across the threads, in order; the same records `normaliseMappedRows` gives. */
  normalise = async (
    rows: string[][],
    mapping: ResolvedMapping,
    issues: Record<string, number>,
    asOf: string,
  ): Promise<NormalisedRecord[]> => {
    const parts = split(rows.length, this.size);
    const pending = parts
      .slice(1)
      .map(([start, end], w) => this.run(w, { kind: 'normalise', rows: JSON.stringify(rows.slice(start, end)), mapping, asOf }));
    const records = normaliseMappedRows(rows.slice(parts[0]![0], parts[0]![1]), mapping, issues, asOf);
    if (this.workers.length === 0) return records;
    const slices = [encodeRecords(records)];
    for (const reply of await Promise.all(pending)) {
      if (reply.kind !== 'normalised') throw new Error(`link worker replied ${reply.kind} to normalise`);
      for (const record of decodeRecords(reply.records)) records.push(record);
      addCounts(issues, reply.issues);
      slices.push(reply.records);
    }
    // Each worker appends the batch in order: the slices of the other threads, and its own, which it kept.
    for (let w = 0; w < this.workers.length; w++)
      this.workers[w]!.postMessage({ kind: 'append', slices: slices.map((slice, t) => (t === w + 1 ? null : slice)) } satisfies WorkerTask);
    return records;
  };

  /** `buildBatch` with the comparisons split across the threads: the same batch, pair for pair. */
  async buildBatch(prepared: PreparedRecord[], options: BatchOptions): Promise<Batch> {
    const pairs = candidatePairs(prepared, options);
    const levels = { lo: new Uint32Array(pairs.count), hi: new Uint32Array(pairs.count) };
    const parts = split(pairs.count, this.size);
    const pending = parts.slice(1).map(async ([start, end], w) => {
      const pairA = pairs.pairA.slice(start, end);
      const pairB = pairs.pairB.slice(start, end);
      const reply = await this.run(w, { kind: 'compare', pairA, pairB }, [pairA.buffer, pairB.buffer]);
      if (reply.kind !== 'compared') throw new Error(`link worker replied ${reply.kind} to compare`);
      levels.lo.set(reply.lo, start);
      levels.hi.set(reply.hi, start);
    });
    compareRange(prepared, pairs, 0, parts[0]![1], levels, options.onProgress);
    await Promise.all(pending);
    return assembleBatch(prepared, options, pairs, levels);
  }

  /**
   * The level counts of `trainModel`'s random pairs (`randomPairs` with the same count and seed), counted in
   * ordered ranges across the threads: whole numbers, so the totals are the same on any number of threads.
   */
  async randomLevels(batch: Batch, seed: number): Promise<RandomLevels> {
    const pairs = randomPairs(batch, defaultRandomPairs(batch.prepared.length), seed);
    const count = pairs.pairA.length;
    const parts = split(count, this.size);
    const pending = parts.slice(1).map(async ([start, end], w) => {
      const pairA = pairs.pairA.slice(start, end);
      const pairB = pairs.pairB.slice(start, end);
      const reply = await this.run(w, { kind: 'count', pairA, pairB }, [pairA.buffer, pairB.buffer]);
      if (reply.kind !== 'counted') throw new Error(`link worker replied ${reply.kind} to count`);
      return reply.counts;
    });
    const counts = countLevels(batch.prepared, pairs, 0, parts[0]![1]);
    for (const share of await Promise.all(pending)) addLevelCounts(counts, share);
    return { counts, sampled: count };
  }

  /**
   * Weights and conflict bits of the pairs `(pairA[k], pairB[k])` of `records`, split in ordered ranges across
   * the threads (each worker first gets a copy of the records): the same numbers `scorePairRange` gives on one.
   */
  scorePairs = async (
    records: NormalisedRecord[],
    model: MatchModel,
    pairs: { pairA: Int32Array; pairB: Int32Array },
  ): Promise<{ weights: Float64Array; conflicts: Uint32Array }> => {
    const count = pairs.pairA.length;
    const out = { weights: new Float64Array(count), conflicts: new Uint32Array(count) };
    if (this.workers.length > 0) {
      const chunks: string[] = [];
      for (let start = 0; start < records.length; start += SHARE_CHUNK)
        chunks.push(encodeRecords(records.slice(start, start + SHARE_CHUNK)));
      await Promise.all(this.workers.map((_, w) => this.run(w, { kind: 'records', chunks })));
    }
    const parts = split(count, this.size);
    const pending = parts.slice(1).map(async ([start, end], w) => {
      const pairA = pairs.pairA.slice(start, end);
      const pairB = pairs.pairB.slice(start, end);
      const reply = await this.run(w, { kind: 'score', model, pairA, pairB }, [pairA.buffer, pairB.buffer]);
      if (reply.kind !== 'scored') throw new Error(`link worker replied ${reply.kind} to score`);
      out.weights.set(reply.weights, start);
      out.conflicts.set(reply.conflicts, start);
    });
    scorePairRange(records.map(preparedOf), compileModel(model), pairs, 0, parts[0]![1], out);
    await Promise.all(pending);
    return out;
  };

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

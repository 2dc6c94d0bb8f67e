import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import {
  addLevelCounts,
  assembleBatch,
  candidatePairs,
  compareRange,
  compileModel,
  countClaimedChunks,
  countLevels,
  defaultRandomPairs,
  preparedOf,
  PreparedBatchReader,
  PreparedBatchWriter,
  StringPool,
  randomPairs,
  sameAddressHistogram,
  scorePairRange,
} from '../matching/index.ts';
import type {
  Batch,
  BatchOptions,
  LinkMode,
  MatchModel,
  NormalisedRecord,
  PatternHistogram,
  PreparedBatch,
  PreparedRecord,
  RandomLevels,
} from '../matching/index.ts';
import { startWorker } from '../platform/worker.ts';
import { checkMappedRows } from './link-mapping.ts';
import { packRecords } from './link-packing.ts';
import type { PackedRecords } from './link-packing.ts';
import type { CheckedRows, RefusedRow, ResolvedMapping } from './link-mapping.ts';
import type { PreparedRows } from './link-input.ts';

/** What the main thread asks of a worker (see link-worker.ts). */
export type WorkerTask =
  | { kind: 'normalise'; rows: string[][]; mapping: ResolvedMapping; asOf: string; keepInvalid: boolean }
  /**
   * The records of the next batch normalised, in order: the part each thread prepared (`normalise`), this
   * thread's first, as written with that thread's pool; null for the worker's own part, which it kept. Not
   * answered: a failure fails the worker's next task (see link-worker.ts).
   */
  | { kind: 'append'; parts: Array<PreparedBatch | null> }
  /**
   * The records of the next pairs to score: `reuse[i]` is the position of record i in the records sent last (its
   * values unchanged), or -1 for the next record of `chunks`.
   */
  | { kind: 'records'; chunks: PackedRecords[]; reuse: Int32Array }
  | { kind: 'compare'; pairA: Int32Array; pairB: Int32Array }
  /**
   * Counts the levels of chunks of the random pairs (shared memory) until none is left: each chunk is claimed by
   * whichever thread takes `next` first, this one included, so no thread waits while another has work queued.
   */
  | { kind: 'count'; pairA: Int32Array; pairB: Int32Array; next: Int32Array; chunk: number }
  | { kind: 'household'; sources: Int32Array | undefined; mode: LinkMode }
  | { kind: 'score'; model: MatchModel; pairA: Int32Array; pairB: Int32Array };

export type WorkerReply =
  /**
   * The rows kept, prepared with the worker's own pool (`batch`); `idle`: milliseconds the worker waited for work
   * since it last normalised.
   */
  | { kind: 'normalised'; batch: PreparedBatch; refused: RefusedRow[]; issues: Record<string, number>; idle: number }
  | { kind: 'ready'; count: number }
  | { kind: 'compared'; lo: Uint32Array; hi: Uint32Array }
  /** The counts of the chunks the worker claimed (null: it claimed none). */
  | { kind: 'counted'; counts: Float64Array[] | null }
  | { kind: 'household'; histogram: PatternHistogram }
  | { kind: 'scored'; weights: Float64Array; conflicts: Uint32Array }
  | { kind: 'failed'; message: string };

/** Threads the batch engine uses unless told otherwise: one per core. */
export const defaultThreads = (): number => availableParallelism();

/** Starts one worker (see platform/worker.ts for how it runs from the build and from the source). */
const spawnWorker = (): Worker => startWorker(import.meta.url, 'link-worker');

/** Records per packed chunk when copying records to the workers. */
const SHARE_CHUNK = 50_000;

/** `[start, end)` ranges splitting `count` items into `parts` near-equal, ordered parts. */
function split(count: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, k) => [Math.floor((count * k) / parts), Math.floor((count * (k + 1)) / parts)]);
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/** Fewest rows this thread normalises for their time to count as a measure of a row's cost. */
const MIN_TIMED_ROWS = 100;
/** How far one batch's waits move the split of the normalising (see `LinkThreads.rebalance`). */
const REBALANCE_DAMPING = 0.5;

/** Pairs per share of the comparisons: small enough to even out the threads, large enough to cost little to send. */
const COMPARE_CHUNK = 1 << 14;
/** Random pairs per claim when the threads count training's sample (about 50-70 ms of comparing). */
const COUNT_CHUNK = 1 << 14;

/** `values` in memory every thread can read. */
function shared(values: Int32Array): Int32Array {
  const copy = new Int32Array(new SharedArrayBuffer(values.byteLength));
  copy.set(values);
  return copy;
}

/** A worker and the replies it owes, in the order of the tasks sent (a worker answers its tasks in turn). */
class LinkWorker {
  private waiting: Array<{ resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }> = [];
  /** Why the worker can take no more tasks (it failed or exited). */
  private dead: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      const next = this.waiting.shift();
      if (reply.kind === 'failed') next?.reject(new Error(`link worker failed: ${reply.message}`));
      else next?.resolve(reply);
    });
    worker.on('error', (error: Error) => this.fail(error));
    worker.on('exit', (code: number) => this.fail(new Error(`link worker exited early (code ${code})`)));
  }

  private fail(error: Error): void {
    this.dead ??= error;
    for (const next of this.waiting.splice(0)) next.reject(error);
  }

  /** Sends a task and resolves with its reply. */
  run(task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(task, transfer);
    });
  }

  /** Sends a task the worker does not answer (`append`). */
  send(task: WorkerTask): void {
    this.worker.postMessage(task);
  }
}

/**
 * The batch engine's threads: this one plus `threads - 1` workers. Work is split into ordered ranges and every
 * range's results go to its own positions (or, for counts, are added up), so the outcome is the same for any
 * number of threads and whichever thread ran a range. Every worker builds its own copy of the records for the
 * comparisons while the files are read: each thread prepares the rows it normalises with a string pool of its own
 * and the others copy those records from its pool ids (`normalise`), so no record is prepared twice and no thread
 * holds every record encoded at once.
 */
export class LinkThreads {
  private readonly workers: LinkWorker[];

  private constructor(workers: Worker[]) {
    this.workers = workers.map((worker) => new LinkWorker(worker));
    this.readers = workers.map(() => new PreparedBatchReader());
    this.ownShare = 1 / (workers.length + 1);
  }

  /** Starts `threads - 1` workers (none for one thread: then everything runs here, as without threads). */
  static start(threads: number): LinkThreads {
    return new LinkThreads(Array.from({ length: Math.max(0, threads - 1) }, spawnWorker));
  }

  get size(): number {
    return this.workers.length + 1;
  }

  private run(w: number, task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return this.workers[w]!.run(task, transfer);
  }

  /**
   * Runs items `0..count-1` in ranges of `chunk`, handed out in order to whichever thread is free: each worker
   * has two ranges queued so it never waits for this thread, which takes the next range between them.
   */
  private async shareOut(
    count: number,
    chunk: number,
    onWorker: (w: number, start: number, end: number) => Promise<void>,
    onHere: (start: number, end: number) => void,
  ): Promise<void> {
    let next = 0;
    const take = (): [number, number] | null => {
      if (next >= count) return null;
      const start = next;
      next = Math.min(count, next + chunk);
      return [start, next];
    };
    const queue = async (w: number) => {
      for (let range = take(); range; range = take()) await onWorker(w, range[0], range[1]);
    };
    const queues = Promise.all(this.workers.flatMap((_, w) => [queue(w), queue(w)]));
    queues.catch(() => {}); // awaited below, after this thread's ranges
    for (let range = take(); range; range = take()) {
      onHere(range[0], range[1]);
      // Lets the workers' replies in, so they are handed their next ranges.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await queues;
  }

  /**
   * The share of each batch of rows this thread checks and normalises itself; the workers split the rest evenly.
   * It starts even and moves, batch by batch, towards the share at which neither side waits for the other: this
   * thread also reads the file and keeps every record, so an even split would leave the workers idle.
   */
  private ownShare: number;
  /** Milliseconds this thread takes to normalise, prepare and write down a row, as last measured. */
  private rowCost = 0;
  /** When this thread last measured how long it waited (`performance.eventLoopUtilization`). */
  private lastUse = performance.eventLoopUtilization();

  /** Prepares this thread's share of the rows with a pool of its own, and writes them down for the workers. */
  private writer = new PreparedBatchWriter(new StringPool());
  /** Per worker, this thread's copy of the pool that worker prepares its share with. */
  private readers: PreparedBatchReader[];

  /**
   * Checks, normalises and prepares rows across the threads, in order: the same records `checkMappedRows` and
   * `prepareRecord` give. Each thread prepares its share with a pool of its own and the others copy them from
   * its pool ids (`PreparedBatch`), so no thread looks a value up in a pool for a record it did not normalise.
   * Every worker is then sent the batch's records (`append`).
   */
  normalise = async (
    rows: string[][],
    mapping: ResolvedMapping,
    issues: Record<string, number>,
    asOf: string,
    keepInvalid: boolean,
  ): Promise<CheckedRows | PreparedRows> => {
    if (this.workers.length === 0) return checkMappedRows(rows, mapping, issues, asOf, keepInvalid);
    const use = performance.eventLoopUtilization();
    const waited = performance.eventLoopUtilization(use, this.lastUse).idle;
    this.lastUse = use;
    const own = Math.round(rows.length * this.ownShare);
    const parts: Array<[number, number]> = [
      [0, own],
      ...split(rows.length - own, this.workers.length).map(([start, end]): [number, number] => [own + start, own + end]),
    ];
    const pending = parts
      .slice(1)
      .map(([start, end], w) => this.run(w, { kind: 'normalise', rows: rows.slice(start, end), mapping, asOf, keepInvalid }));
    const started = performance.now();
    const checked = checkMappedRows(rows.slice(0, own), mapping, issues, asOf, keepInvalid);
    const prepared = this.writer.prepare(checked.records);
    // Taken before this thread's next share is prepared: the workers read this thread's batches in this order.
    const ownBatch = this.writer.take();
    if (own >= MIN_TIMED_ROWS) this.rowCost = (performance.now() - started) / own;
    const replies = await Promise.all(pending);
    let workersWaited = Infinity;
    const batches = replies.map((reply, w) => {
      if (reply.kind !== 'normalised') throw new Error(`link worker replied ${reply.kind} to normalise`);
      this.readers[w]!.read(reply.batch, prepared);
      for (const [index, problems] of reply.refused) checked.refused.push([parts[w + 1]![0] + index, problems]);
      addCounts(issues, reply.issues);
      workersWaited = Math.min(workersWaited, reply.idle);
      return reply.batch;
    });
    this.workers.forEach((worker, w) => worker.send({ kind: 'append', parts: [ownBatch, ...batches.map((b, k) => (k === w ? null : b))] }));
    this.rebalance(waited, workersWaited, rows.length);
    return { prepared, refused: checked.refused };
  };

  /** Batches normalised so far (the first one's waits are the threads starting, not the split). */
  private batches = 0;

  /**
   * Moves this thread's share towards the split at which it and the busiest worker wait alike: half the
   * difference of their waits, in rows, damped so that one noisy batch moves it little.
   */
  private rebalance(waited: number, workersWaited: number, rows: number): void {
    if (this.batches++ === 0 || this.rowCost === 0 || rows === 0) return;
    const rowsToMove = (workersWaited - waited) / 2 / this.rowCost;
    this.ownShare = Math.min(1, Math.max(0, this.ownShare - (REBALANCE_DAMPING * rowsToMove) / rows));
  }

  /** `buildBatch` with the comparisons shared out across the threads: the same batch, pair for pair. */
  async buildBatch(prepared: PreparedRecord[], options: BatchOptions): Promise<Batch> {
    const pairs = candidatePairs(prepared, options);
    // Training's random pairs the workers have not counted yet are counted here first, alongside them.
    this.countHere?.();
    const levels = { lo: new Uint32Array(pairs.count), hi: new Uint32Array(pairs.count) };
    let done = 0;
    const progress = (n: number) => options.onProgress?.('compare', (done += n), pairs.count);
    options.onProgress?.('compare', 0, pairs.count);
    await this.shareOut(
      pairs.count,
      COMPARE_CHUNK,
      async (w, start, end) => {
        const pairA = pairs.pairA.slice(start, end);
        const pairB = pairs.pairB.slice(start, end);
        const reply = await this.run(w, { kind: 'compare', pairA, pairB }, [pairA.buffer, pairB.buffer]);
        if (reply.kind !== 'compared') throw new Error(`link worker replied ${reply.kind} to compare`);
        levels.lo.set(reply.lo, start);
        levels.hi.set(reply.hi, start);
        progress(end - start);
      },
      (start, end) => {
        compareRange(prepared, pairs, start, end, { lo: levels.lo.subarray(start, end), hi: levels.hi.subarray(start, end) });
        progress(end - start);
      },
    );
    return assembleBatch(prepared, options, pairs, levels);
  }

  /** This thread's part of the counting `trainingSamples` started: the chunks no worker has claimed yet. */
  private countHere: (() => void) | null = null;

  /**
   * What `trainModel` samples from the records alone, made by the workers while this thread blocks the records
   * (here when there are none): the level counts of its random pairs (`randomPairs` with the same count and
   * seed; whole numbers, so the totals are the same however they are split) and the same-address histogram.
   * The random pairs are counted in chunks that each thread claims in turn from shared memory; this thread joins
   * in once it has blocked the records (`buildBatch`), so a worker still counting when the comparisons start
   * leaves no thread idle.
   */
  async trainingSamples(
    records: Pick<Batch, 'prepared' | 'sources' | 'mode'>,
    seed: number,
  ): Promise<{ randomLevels: RandomLevels; householdHistogram: PatternHistogram }> {
    const drawn = randomPairs(records, defaultRandomPairs(records.prepared.length), seed);
    const count = drawn.pairA.length;
    if (this.workers.length === 0)
      return {
        randomLevels: { counts: countLevels(records.prepared, drawn, 0, count), sampled: count },
        householdHistogram: sameAddressHistogram(records),
      };
    const pairs = { pairA: shared(drawn.pairA), pairB: shared(drawn.pairB) };
    const next = new Int32Array(new SharedArrayBuffer(4));
    // The histogram first: its worker then claims fewer chunks of the count, which any thread can take.
    const household = this.run(this.workers.length - 1, { kind: 'household', sources: records.sources, mode: records.mode });
    const shares: Array<Float64Array[] | null> = [];
    const counted = this.workers.map(async (_, w) => {
      const reply = await this.run(w, { kind: 'count', ...pairs, next, chunk: COUNT_CHUNK });
      if (reply.kind !== 'counted') throw new Error(`link worker replied ${reply.kind} to count`);
      shares.push(reply.counts);
    });
    this.countHere = () => {
      this.countHere = null;
      shares.push(countClaimedChunks(records.prepared, pairs, next, COUNT_CHUNK));
    };
    // Had no batch been built meanwhile, this thread counts what is left once the workers have answered.
    await Promise.all(counted);
    this.countHere?.();
    let totals: Float64Array[] | null = null;
    for (const share of shares) {
      if (share && totals) addLevelCounts(totals, share);
      else if (share) totals = share;
    }
    const reply = await household;
    if (reply.kind !== 'household') throw new Error(`link worker replied ${reply.kind} to household`);
    return {
      randomLevels: { counts: totals ?? countLevels(records.prepared, pairs, 0, 0), sampled: count },
      householdHistogram: reply.histogram,
    };
  }

  /** Where each record of the last `scorePairs` call is in the workers' copy (by values object). */
  private scored = new Map<NormalisedRecord, number>();

  /**
   * Weights and conflict bits of the pairs `(pairA[k], pairB[k])` of `records`, split in ordered ranges across
   * the threads (each worker first gets a copy of the records): the same numbers `scorePairRange` gives on one.
   * A record (the same values object) of the call before is not sent again: the workers keep it from then. A
   * bulk load meets the first records of its common keys window after window, so most of what it scores against
   * stays the same.
   */
  scorePairs = async (
    records: NormalisedRecord[],
    model: MatchModel,
    pairs: { pairA: Int32Array; pairB: Int32Array },
  ): Promise<{ weights: Float64Array; conflicts: Uint32Array }> => {
    const count = pairs.pairA.length;
    const out = { weights: new Float64Array(count), conflicts: new Uint32Array(count) };
    if (this.workers.length > 0) {
      const reuse = new Int32Array(records.length);
      const fresh: NormalisedRecord[] = [];
      const positions = new Map<NormalisedRecord, number>();
      records.forEach((record, i) => {
        reuse[i] = this.scored.get(record) ?? -1;
        if (reuse[i] === -1) fresh.push(record);
        positions.set(record, i);
      });
      const chunks: PackedRecords[] = [];
      for (let start = 0; start < fresh.length; start += SHARE_CHUNK) chunks.push(packRecords(fresh.slice(start, start + SHARE_CHUNK)));
      // Forgotten until every worker holds the new records: a call after a failed one sends all again.
      this.scored = new Map();
      await Promise.all(this.workers.map((_, w) => this.run(w, { kind: 'records', chunks, reuse })));
      this.scored = positions;
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

  /**
   * Stops the workers (once they are stopped, again is a no-op) and lets go of the pools the records were read
   * with: the records keep the strings they hold, and the pools' tables are garbage from here on.
   */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.writer = new PreparedBatchWriter(new StringPool());
    this.readers = [];
  }
}

import { forEachCandidatePair } from './blocking.ts';
import type { BlockingStats, LinkMode } from './blocking.ts';
import { COMPARISONS, compareAll } from './comparisons.ts';
import type { BlockingRule } from './model.ts';
import type { NormalisedRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';
import type { PreparedRecord } from './prepared.ts';
import type { PatternHistogram } from './em.ts';

/** Reports progress of a long stage: `done` out of `total` units (total 0 when unknown). */
export type ProgressFn = (stage: string, done: number, total: number) => void;

/** Progress reports per phase with a known total: about one per percent, so a bar moves on any input size. */
const PROGRESS_STEPS = 100;

/**
 * A progress reporter for a phase of `total` items: call it after each item; it reports the start, about every
 * hundredth of the way, and the end (`done === total`). A no-op without `onProgress`.
 */
export function phaseProgress(onProgress: ProgressFn | undefined, stage: string, total: number): () => void {
  if (!onProgress) return () => {};
  const step = Math.max(1, Math.ceil(total / PROGRESS_STEPS));
  let done = 0;
  let next = step;
  onProgress(stage, 0, total);
  if (total === 0) return () => {};
  return () => {
    done += 1;
    if (done < next && done < total) return;
    next += step;
    onProgress(stage, done, total);
  };
}

/**
 * A set of records with their candidate pairs and each pair's comparison levels. Levels do not depend on m/u,
 * so one batch serves training and linking.
 */
export interface Batch {
  prepared: PreparedRecord[];
  sources: Int32Array | undefined;
  mode: LinkMode;
  rules: BlockingRule[];
  pairCount: number;
  pairA: Int32Array;
  pairB: Int32Array;
  /** Levels packed 4 bits each: comparisons 0-7 in `levelsLo`, 8-12 in `levelsHi`. */
  levelsLo: Uint32Array;
  levelsHi: Uint32Array;
  /** Bit r set when blocking rule r holds both records. */
  ruleMask: Uint32Array;
  blocking: BlockingStats[];
}

export interface BatchOptions {
  rules: BlockingRule[];
  sources?: ArrayLike<number>;
  mode?: LinkMode;
  maxBlockSize?: number;
  onProgress?: ProgressFn;
}

export const LEVEL_BITS = 4;
const LO_COMPARISONS = 8;
const MAX_RULES = 32;

/** Packs the levels of one pair into two 32-bit words. */
export function packLevels(levels: Uint8Array): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let k = 0; k < LO_COMPARISONS; k++) lo |= levels[k]! << (k * LEVEL_BITS);
  for (let k = LO_COMPARISONS; k < levels.length; k++) hi |= levels[k]! << ((k - LO_COMPARISONS) * LEVEL_BITS);
  return [lo >>> 0, hi >>> 0];
}

/** Unpacks two 32-bit words into `out` (one level per comparison). */
export function unpackLevels(lo: number, hi: number, out: Uint8Array): void {
  for (let k = 0; k < LO_COMPARISONS; k++) out[k] = (lo >>> (k * LEVEL_BITS)) & 15;
  for (let k = LO_COMPARISONS; k < out.length; k++) out[k] = (hi >>> ((k - LO_COMPARISONS) * LEVEL_BITS)) & 15;
}

const isPrepared = (r: NormalisedRecord): r is PreparedRecord => 'givenCompact' in r;

/** Prepares records for comparison; already prepared records pass through. */
export function prepareAll(records: readonly NormalisedRecord[]): PreparedRecord[] {
  if (records.length > 0 && isPrepared(records[0]!)) return records as PreparedRecord[];
  return records.map((r) => prepareRecord(r));
}

/** Pairs per chunk of a `PairBuffer`. */
const PAIR_CHUNK = 1 << 20;

/**
 * Candidate pairs collected in fixed chunks and joined once at the end: an array grown by doubling holds up to
 * twice the pairs it needs, and three times while it is copied (millions of pairs are tens of megabytes).
 */
class PairBuffer {
  count = 0;
  private chunks: Array<{ a: Int32Array; b: Int32Array; mask: Uint32Array }> = [];
  private a = new Int32Array(0);
  private b = new Int32Array(0);
  private mask = new Uint32Array(0);
  private used = 0;
  push(i: number, j: number, mask: number): void {
    if (this.used === this.a.length) this.nextChunk();
    const c = this.used++;
    this.a[c] = i;
    this.b[c] = j;
    this.mask[c] = mask;
    this.count++;
  }
  private nextChunk(): void {
    this.a = new Int32Array(PAIR_CHUNK);
    this.b = new Int32Array(PAIR_CHUNK);
    this.mask = new Uint32Array(PAIR_CHUNK);
    this.chunks.push({ a: this.a, b: this.b, mask: this.mask });
    this.used = 0;
  }
  /** The pairs in push order, as one array per column (the chunks are released). */
  join(): { pairA: Int32Array; pairB: Int32Array; ruleMask: Uint32Array } {
    const out = { pairA: new Int32Array(this.count), pairB: new Int32Array(this.count), ruleMask: new Uint32Array(this.count) };
    let at = 0;
    for (const chunk of this.chunks) {
      const n = Math.min(PAIR_CHUNK, this.count - at);
      out.pairA.set(chunk.a.subarray(0, n), at);
      out.pairB.set(chunk.b.subarray(0, n), at);
      out.ruleMask.set(chunk.mask.subarray(0, n), at);
      at += n;
    }
    this.chunks = [];
    return out;
  }
}

/** The candidate pairs of a set of records (each once, i < j, in blocking order) before they are compared. */
export interface CandidatePairs {
  count: number;
  pairA: Int32Array;
  pairB: Int32Array;
  ruleMask: Uint32Array;
  blocking: BlockingStats[];
}

/** Blocks prepared records into their candidate pairs (the comparison is a separate step, `compareRange`). */
export function candidatePairs(prepared: readonly PreparedRecord[], options: BatchOptions): CandidatePairs {
  if (options.rules.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} blocking rules`);
  const buffer = new PairBuffer();
  const { sources, mode, maxBlockSize } = options;
  const blocking = forEachCandidatePair(prepared, options.rules, { sources, mode, maxBlockSize }, (i, j, mask) => buffer.push(i, j, mask));
  return { count: buffer.count, ...buffer.join(), blocking };
}

/**
 * Compares pairs `from..to-1` of `pairA`/`pairB`, writing their packed levels at the same positions of `lo`
 * and `hi` (offset by `from`): the unit of work that can run on any thread, since each pair is independent.
 */
export function compareRange(
  prepared: readonly PreparedRecord[],
  pairs: { pairA: Int32Array; pairB: Int32Array },
  from: number,
  to: number,
  out: { lo: Uint32Array; hi: Uint32Array },
  onProgress?: ProgressFn,
): void {
  const levels = new Uint8Array(COMPARISONS.length);
  const progress = phaseProgress(onProgress, 'compare', to - from);
  for (let p = from; p < to; p++, progress()) {
    compareAll(prepared[pairs.pairA[p]!]!, prepared[pairs.pairB[p]!]!, levels);
    let lo = 0;
    for (let k = 0; k < LO_COMPARISONS; k++) lo |= levels[k]! << (k * LEVEL_BITS);
    let hi = 0;
    for (let k = LO_COMPARISONS; k < levels.length; k++) hi |= levels[k]! << ((k - LO_COMPARISONS) * LEVEL_BITS);
    out.lo[p - from] = lo >>> 0;
    out.hi[p - from] = hi >>> 0;
  }
}

/** A batch from candidate pairs and their levels (as `compareRange` wrote them, for every pair). */
export function assembleBatch(
  prepared: PreparedRecord[],
  options: BatchOptions,
  pairs: CandidatePairs,
  levels: { lo: Uint32Array; hi: Uint32Array },
): Batch {
  return {
    prepared,
    sources: options.sources ? Int32Array.from(options.sources) : undefined,
    mode: options.mode ?? 'link-and-dedupe',
    rules: options.rules,
    pairCount: pairs.count,
    pairA: pairs.pairA,
    pairB: pairs.pairB,
    levelsLo: levels.lo,
    levelsHi: levels.hi,
    ruleMask: pairs.ruleMask,
    blocking: pairs.blocking,
  };
}

/** Blocks the records (normalised, or already prepared) and compares every candidate pair once. */
export function buildBatch(records: readonly NormalisedRecord[], options: BatchOptions): Batch {
  const prepared = prepareAll(records);
  const pairs = candidatePairs(prepared, options);
  const levels = { lo: new Uint32Array(pairs.count), hi: new Uint32Array(pairs.count) };
  compareRange(prepared, pairs, 0, pairs.count, levels, options.onProgress);
  return assembleBatch(prepared, options, pairs, levels);
}

/** A pattern histogram from counts keyed by packed levels (`hi * 2^32 + lo`). */
export function histogramFromMap(map: Map<number, number>): PatternHistogram {
  const size = map.size;
  const levels = new Uint8Array(size * COMPARISONS.length);
  const counts = new Float64Array(size);
  const scratch = new Uint8Array(COMPARISONS.length);
  let p = 0;
  for (const [key, count] of map) {
    unpackLevels(key % 4294967296, Math.floor(key / 4294967296), scratch);
    levels.set(scratch, p * COMPARISONS.length);
    counts[p++] = count;
  }
  return { width: COMPARISONS.length, levels, counts, size };
}

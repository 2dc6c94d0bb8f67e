import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import {
  compareRange,
  compileModel,
  countClaimedChunks,
  prepareRecord,
  PreparedBatchReader,
  PreparedBatchWriter,
  sameAddressHistogram,
  scorePairRange,
  StringPool,
} from '../matching/index.ts';
import type { PreparedRecord } from '../matching/index.ts';
import { checkMappedRows } from './link-mapping.ts';
import { unpackRecords } from './link-packing.ts';
import type { WorkerReply, WorkerTask } from './link-threads.ts';

/**
 * A linkage worker thread: normalises rows, then holds every record to compare the pairs it is given. Pure
 * work on values: the main thread owns the files, the order and the results.
 */
let records: PreparedRecord[] = [];
/**
 * Per part of an `append`, this thread's copy of the pool the thread that prepared that part prepares with (the
 * main thread's first, then each worker's; none for this worker's own part).
 */
const copies: PreparedBatchReader[] = [];
/** Prepares this worker's share of the rows with a pool of its own, and writes them down for the other threads. */
const writer = new PreparedBatchWriter(new StringPool());
/** The records this worker prepared and has not appended yet, per batch normalised, oldest first. */
const kept: PreparedRecord[][] = [];
/** Why an unanswered task failed: every later task fails with it, so no result rests on missing records. */
let broken: string | null = null;
/** One instance of each value the records of the last `records` task share (`prepareRecord`). */
let pool = new StringPool();
/** The records of the last `records` task (those a later one reuses by position). */
let scoring: PreparedRecord[] = [];

/** When this thread last measured how long it waited for work (`performance.eventLoopUtilization`). */
let lastUse = performance.eventLoopUtilization();

/** Milliseconds this thread waited for work since it was last asked. */
function idleSinceLast(): number {
  const now = performance.eventLoopUtilization();
  const idle = performance.eventLoopUtilization(now, lastUse).idle;
  lastUse = now;
  return idle;
}

function handle(task: WorkerTask): { reply: WorkerReply; transfer: ArrayBuffer[] } | null {
  switch (task.kind) {
    case 'normalise': {
      const issues: Record<string, number> = {};
      const checked = checkMappedRows(task.rows, task.mapping, issues, task.asOf, task.keepInvalid);
      kept.push(writer.prepare(checked.records));
      const batch = writer.take();
      return { reply: { kind: 'normalised', batch, refused: checked.refused, issues, idle: idleSinceLast() }, transfer: [] };
    }
    case 'append':
      task.parts.forEach((part, p) => {
        if (part === null) for (const record of kept.shift()!) records.push(record);
        else (copies[p] ??= new PreparedBatchReader()).read(part, records);
      });
      return null;
    case 'records': {
      pool = new StringPool();
      const fresh = task.chunks.flatMap((chunk) => unpackRecords(chunk));
      const before = scoring;
      let next = 0;
      records = Array.from(task.reuse, (at) => (at >= 0 ? before[at]! : prepareRecord(fresh[next++]!, pool)));
      if (next !== fresh.length) throw new Error(`records: ${fresh.length} sent, ${next} placed`);
      scoring = records;
      return { reply: { kind: 'ready', count: records.length }, transfer: [] };
    }
    case 'compare': {
      const levels = { lo: new Uint32Array(task.pairA.length), hi: new Uint32Array(task.pairA.length) };
      compareRange(records, task, 0, task.pairA.length, levels);
      return { reply: { kind: 'compared', ...levels }, transfer: [levels.lo.buffer, levels.hi.buffer] };
    }
    case 'count': {
      const counts = countClaimedChunks(records, task, task.next, task.chunk);
      return { reply: { kind: 'counted', counts }, transfer: (counts ?? []).map((c) => c.buffer as ArrayBuffer) };
    }
    case 'household':
      return {
        reply: { kind: 'household', histogram: sameAddressHistogram({ prepared: records, sources: task.sources, mode: task.mode }) },
        transfer: [],
      };
    case 'score': {
      const out = { weights: new Float64Array(task.pairA.length), conflicts: new Uint32Array(task.pairA.length) };
      scorePairRange(records, compileModel(task.model), task, 0, task.pairA.length, out);
      return { reply: { kind: 'scored', ...out }, transfer: [out.weights.buffer, out.conflicts.buffer] };
    }
  }
}

parentPort!.on('message', (task: WorkerTask) => {
  try {
    if (broken !== null) throw new Error(broken);
    const answer = handle(task);
    if (answer) parentPort!.postMessage(answer.reply, answer.transfer);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (task.kind === 'append') broken = message;
    else parentPort!.postMessage({ kind: 'failed', message } satisfies WorkerReply);
  }
});

import { parentPort } from 'node:worker_threads';
import { compareRange, compileModel, decodeRecords, encodeRecords, prepareRecord, scorePairRange } from '../matching/index.ts';
import type { PreparedRecord } from '../matching/index.ts';
import { normaliseMappedRows } from './link-mapping.ts';
import type { WorkerReply, WorkerTask } from './link-threads.ts';

/**
 * A linkage worker thread: normalises rows, then holds every record to compare the pairs it is given. Pure
 * work on values: the main thread owns the files, the order and the results.
 */
let records: PreparedRecord[] = [];

function handle(task: WorkerTask): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  switch (task.kind) {
    case 'normalise': {
      const issues: Record<string, number> = {};
      const normalised = normaliseMappedRows(JSON.parse(task.rows) as string[][], task.mapping, issues, task.asOf);
      return { reply: { kind: 'normalised', records: encodeRecords(normalised), issues }, transfer: [] };
    }
    case 'records':
      records = task.chunks.flatMap((chunk: string) => decodeRecords(chunk).map((r) => prepareRecord(r)));
      return { reply: { kind: 'ready', count: records.length }, transfer: [] };
    case 'compare': {
      const levels = { lo: new Uint32Array(task.pairA.length), hi: new Uint32Array(task.pairA.length) };
      compareRange(records, task, 0, task.pairA.length, levels);
      return { reply: { kind: 'compared', ...levels }, transfer: [levels.lo.buffer, levels.hi.buffer] };
    }
    case 'score': {
      const out = { weights: new Float64Array(task.pairA.length), conflicts: new Uint32Array(task.pairA.length) };
      scorePairRange(records, compileModel(task.model), task, 0, task.pairA.length, out);
      return { reply: { kind: 'scored', ...out }, transfer: [out.weights.buffer, out.conflicts.buffer] };
    }
  }
}

parentPort!.on('message', (task: WorkerTask) => {
  try {
    const { reply, transfer } = handle(task);
    parentPort!.postMessage(reply, transfer);
  } catch (error) {
    parentPort!.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply);
  }
});

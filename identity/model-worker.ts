import { parentPort } from 'node:worker_threads';
import { decodeRecords, type NormalisedRecord } from '../matching/index.ts';
import { rematchProposals, trainCandidateModel } from './model-compute.ts';
import type { ModelReply, ModelTask } from './model-thread.ts';

/**
 * A model worker thread: answers one task of the model lifecycle (train and evaluate a candidate, or propose the
 * merges of re-matching) on the values it is sent. Pure work: the service owns the database and the events.
 */
const decodeAll = (chunks: string[]): NormalisedRecord[] => chunks.flatMap((chunk) => decodeRecords(chunk));

function handle(task: ModelTask): ModelReply {
  switch (task.kind) {
    case 'train': {
      const { active, seed, createdAt, version } = task;
      const evaluate = task.evaluate ? { on: task.evaluateOn ? decodeAll(task.evaluateOn) : undefined } : undefined;
      const result = trainCandidateModel({ records: decodeAll(task.records), active, seed, createdAt, version, evaluate });
      return { kind: 'trained', result };
    }
    case 'propose':
      return { kind: 'proposed', proposals: rematchProposals(decodeAll(task.records), task.identityOf, task.model) };
  }
}

parentPort!.once('message', (task: ModelTask) => {
  let reply: ModelReply;
  try {
    reply = handle(task);
  } catch (error) {
    reply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});

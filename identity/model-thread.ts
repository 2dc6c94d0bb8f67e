import type { ResourceLimits } from 'node:worker_threads';
import { encodeRecords, type MatchModel, type NormalisedRecord } from '../matching/index.ts';
import { DomainError } from '../platform/errors.ts';
import { startWorker } from '../platform/worker.ts';
import type { ModelCompute, ProposedMerge, TrainedCandidate, TrainingJob } from './model-compute.ts';

/** What the service asks of a model worker (see model-worker.ts): one task per worker. Records cross encoded. */
export type ModelTask =
  | {
      kind: 'train';
      records: string[];
      /** Encoded records to evaluate on; null: the training records. */
      evaluateOn: string[] | null;
      evaluate: boolean;
      active: MatchModel;
      seed: number;
      createdAt: string;
      version: string;
    }
  | { kind: 'propose'; records: string[]; identityOf: readonly string[]; model: MatchModel };

export type ModelReply =
  { kind: 'trained'; result: TrainedCandidate } | { kind: 'proposed'; proposals: ProposedMerge[] } | { kind: 'failed'; message: string };

/** A lifecycle step that failed in its worker thread (it threw, ran out of memory or exited); the worker's error is on `cause`. */
export class ModelWorkerError extends DomainError {
  constructor(step: ModelTask['kind'], cause: unknown) {
    super(
      'MODEL_WORKER_FAILED',
      `The match model worker failed (${step === 'train' ? 'training' : 're-matching'}); nothing of it was stored`,
      {
        cause,
      },
    );
  }
}

/**
 * Records per encoded chunk: encoding is synchronous work on the event loop, so it is done a chunk at a time
 * (a few milliseconds each) with requests let in between.
 */
const ENCODE_CHUNK = 2_000;

async function encodeInChunks(records: readonly NormalisedRecord[]): Promise<string[]> {
  const chunks: string[] = [];
  for (let start = 0; start < records.length; start += ENCODE_CHUNK) {
    chunks.push(encodeRecords(records.slice(start, start + ENCODE_CHUNK)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return chunks;
}

/**
 * Runs the lifecycle's heavy steps (`model-compute.ts`) in a worker thread, one worker per step, so training on
 * hundreds of thousands of records never holds up the requests this process serves. The results are the same
 * values the calling thread would compute: the records cross as their encoded values, the models and
 * evaluations as structured clones. A worker that throws, runs out of memory (`resourceLimits`) or exits fails
 * the step with a `ModelWorkerError`; the process goes on.
 */
export class ModelThread implements ModelCompute {
  constructor(private readonly options: { resourceLimits?: ResourceLimits } = {}) {}

  async train(job: TrainingJob): Promise<TrainedCandidate> {
    const { active, seed, createdAt, version } = job;
    const records = await encodeInChunks(job.records);
    const on = job.evaluate?.on;
    const evaluateOn = on ? await encodeInChunks(on) : null;
    const reply = await this.run({
      kind: 'train',
      records,
      evaluateOn,
      evaluate: job.evaluate !== undefined,
      active,
      seed,
      createdAt,
      version,
    });
    if (reply.kind !== 'trained') throw new ModelWorkerError('train', new Error(`replied ${reply.kind}`));
    return reply.result;
  }

  async proposeMerges(records: readonly NormalisedRecord[], identityOf: readonly string[], model: MatchModel): Promise<ProposedMerge[]> {
    const reply = await this.run({ kind: 'propose', records: await encodeInChunks(records), identityOf, model });
    if (reply.kind !== 'proposed') throw new ModelWorkerError('propose', new Error(`replied ${reply.kind}`));
    return reply.proposals;
  }

  /** Starts a worker, sends it `task`, and resolves with its answer; the worker ends either way. */
  private run(task: ModelTask): Promise<ModelReply> {
    const worker = startWorker(import.meta.url, 'model-worker', this.options);
    return new Promise<ModelReply>((resolve, reject) => {
      const fail = (cause: unknown) => reject(new ModelWorkerError(task.kind, cause));
      worker.once('message', (reply: ModelReply) => (reply.kind === 'failed' ? fail(new Error(reply.message)) : resolve(reply)));
      worker.once('messageerror', fail);
      worker.once('error', fail);
      // After an answer this settles nothing (a promise settles once); before one, the worker died without it.
      worker.once('exit', (code) => fail(new Error(`exited with code ${code} before answering`)));
      worker.postMessage(task);
    }).finally(() => void worker.terminate());
  }
}

import { buildBatch, calibrateModel, compareModels, linkRecords, trainModel } from '../matching/index.ts';
import type { LinkResult, MatchModel, ModelEvaluation, NormalisedRecord } from '../matching/index.ts';

/**
 * The CPU-heavy steps of the model lifecycle as values in, values out: training a candidate, comparing it with
 * the active model, and clustering the stored records with an activated model. No database and no logger, so
 * they run the same in the calling thread or in a worker thread (`model-thread.ts`), where they do not hold up
 * the event loop that serves ingest.
 */

/** What training a candidate model needs. */
export interface TrainingJob {
  records: readonly NormalisedRecord[];
  /** The active model: the candidate blocks on its rules (the stored blocking keys were made with them). */
  active: MatchModel;
  seed: number;
  createdAt: string;
  version: string;
  /**
   * Compare the candidate with the active model: on `on` when given (the stored records, when training read a
   * sample of them), else on the training records' own candidate pairs. Omitted: no comparison.
   */
  evaluate?: { on?: readonly NormalisedRecord[] | undefined };
}

export interface TrainedCandidate {
  model: MatchModel;
  evaluation: ModelEvaluation | null;
  /** Seconds training took (the comparison not included). */
  seconds: number;
}

/** Two identities the clustering joined, with the strongest link between them. */
export interface ProposedMerge {
  identityA: string;
  identityB: string;
  recordA: number;
  recordB: number;
}

/** Trains a candidate model (EM, no labels) and, when asked, compares it with the active model. Deterministic for a seed. */
export function trainCandidateModel(job: TrainingJob): TrainedCandidate {
  const started = performance.now();
  const { seed, createdAt, version, active } = job;
  const trained = trainModel(job.records, { seed, createdAt, version, blockingRules: active.blockingRules });
  const { batch } = trained;
  // Calibrated on its own linkage of the training records, as `mpi link` does; decisions are unchanged.
  const model = calibrateModel(trained.model, batch, linkRecords(batch, trained.model).clusterOf);
  const seconds = Math.round(performance.now() - started) / 1000;
  if (!job.evaluate) return { model, evaluation: null, seconds };
  const on = job.evaluate.on;
  const evaluation = compareModels(on ? buildBatch(on, { rules: active.blockingRules }) : batch, active, model);
  return { model, evaluation, seconds };
}

/**
 * The identity pairs that the links of `result` join within one cluster, strongest link first, each pair once.
 * `identityOf[i]` is record i's current identity.
 */
export function proposedMerges(identityOf: readonly string[], result: Pick<LinkResult, 'links' | 'clusterOf'>): ProposedMerge[] {
  const { links, clusterOf } = result;
  const order = Array.from({ length: links.count }, (_, k) => k).sort((x, y) => links.weight[y]! - links.weight[x]!);
  const seen = new Set<string>();
  const out: ProposedMerge[] = [];
  for (const k of order) {
    const a = links.a[k]!;
    const b = links.b[k]!;
    if (clusterOf[a] !== clusterOf[b]) continue;
    const [ia, ib] = [identityOf[a]!, identityOf[b]!];
    if (ia === ib) continue;
    const key = ia < ib ? `${ia}|${ib}` : `${ib}|${ia}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ identityA: ia, identityB: ib, recordA: a, recordB: b });
  }
  return out;
}

/** The merges `mpi link`'s clustering with `model` proposes among `records` (`identityOf[i]`: record i's identity). */
export function rematchProposals(records: readonly NormalisedRecord[], identityOf: readonly string[], model: MatchModel): ProposedMerge[] {
  return proposedMerges(identityOf, linkRecords(records, model));
}

/** Where the lifecycle's heavy steps run: in the calling thread, or in a worker thread (`ModelThread`). */
export interface ModelCompute {
  train(job: TrainingJob): Promise<TrainedCandidate>;
  proposeMerges(records: readonly NormalisedRecord[], identityOf: readonly string[], model: MatchModel): Promise<ProposedMerge[]>;
}

/** The steps run in the calling thread (the CLI, tests, and the reference the worker thread must equal). */
export const IN_PROCESS_COMPUTE: ModelCompute = {
  train: async (job) => trainCandidateModel(job),
  proposeMerges: async (records, identityOf, model) => rematchProposals(records, identityOf, model),
};

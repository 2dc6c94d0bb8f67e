import type { ModelEvaluation, NormalisedRecord } from '../matching/index.ts';
import type { Database } from '../platform/db/client.ts';
import { startElectedJob, type ElectedJob } from '../platform/lease.ts';
import type { Logger } from '../platform/logger.ts';
import { loadTrainingRecords } from './model-store.ts';
import type { ModelEventRow, ModelRegistry } from './models.ts';
import { rematchIdentities, type RematchSummary } from './rematch.ts';

/** Who the lifecycle's model events name as their actor. */
export const LIFECYCLE_ACTOR = 'model-lifecycle';

/**
 * Why a candidate is trained: the index reached its first N records, grew by the set factor, the schedule came
 * round, or the feed went quiet after the index grew (an initial load finished).
 */
export type TrainingTrigger = 'FIRST_RECORDS' | 'GROWTH' | 'SCHEDULE' | 'QUIET';

/**
 * How much the index must have grown since the last training before a quiet feed retrains it. Without a floor a
 * feed that pauses every few minutes would retrain a large index after each pause; with it the quiet trainings
 * of an index's whole life number at most log(size / trainAfter) / log(1.1) (73 from 1,000 to a million), and
 * a training reads at most MAX_TRAINING_RECORDS, so they cost little more than the trainings on growth.
 */
export const QUIET_RETRAIN_MIN_GROWTH = 1.1;

export interface LifecycleSettings {
  /** Train the first model once this many records are stored (MPI_MODEL_TRAIN_AFTER); 0 turns the lifecycle off. */
  trainAfter: number;
  /** Retrain this long after the last training, if records were added since (MPI_MODEL_RETRAIN_HOURS); 0: never. */
  retrainMs: number;
  /**
   * Retrain once the stored records reach this multiple of those stored at the last training
   * (MPI_MODEL_RETRAIN_GROWTH); 0: never.
   */
  retrainGrowth: number;
  /**
   * Retrain once no record has been added for this long, if the index grew by QUIET_RETRAIN_MIN_GROWTH since the
   * last training (MPI_MODEL_RETRAIN_QUIET_MINUTES); 0: never.
   */
  retrainQuietMs: number;
  seed?: number;
  /**
   * What training reads, given the stored records (tests feed a degenerate sample here to prove the evaluation
   * rejects its model). The candidate is always evaluated on the stored records themselves.
   */
  trainingSample?: (records: NormalisedRecord[]) => NormalisedRecord[];
}

export interface LifecycleRun {
  trigger: TrainingTrigger;
  version: string;
  activated: boolean;
  comparison: ModelEvaluation;
  /** What re-matching the stored records with the activated model merged (null when none was activated). */
  rematch: RematchSummary | null;
}

/**
 * The self-running model lifecycle: trains a candidate model from the stored records when one is due, compares
 * it with the active model on the stored records' candidate pairs (`compareModels`), and activates it only when
 * it is not worse, else keeps the active model and says why. Every step is a model event and a log line.
 * After an activation the stored records are re-matched with the new model (`rematch.ts`): identities it joins
 * merge where the merge guard passes, so records linked under the old model end where `mpi link` with the new
 * one puts them. Manual links and not-duplicate decisions are kept, and no identity is split.
 */
export class ModelLifecycle {
  /**
   * The stored-record count this process last saw and since when it has not changed: the feed has been quiet
   * since `since`. Kept in memory by the replica running the checks; one that takes the lease over starts its
   * own watch, so a quiet training waits a little longer, never comes early.
   */
  private watch: { records: number; since: number } | null = null;

  constructor(
    private readonly db: Database,
    private readonly models: ModelRegistry,
    private readonly logger: Logger,
    private readonly settings: LifecycleSettings,
  ) {}

  /** Whether a training is due now, and on what trigger. */
  async due(now = Date.now()): Promise<TrainingTrigger | null> {
    const { trainAfter, retrainMs, retrainGrowth, retrainQuietMs } = this.settings;
    if (trainAfter <= 0) return null;
    const stored = await this.models.storedRecords();
    const quietFor = this.watchRecords(stored, now);
    if (stored < trainAfter) return null;
    const last = await this.models.lastTraining();
    if (!last) return 'FIRST_RECORDS';
    const trainedOn = indexSizeAtTraining(last);
    if (retrainGrowth > 0 && stored >= trainedOn * retrainGrowth) return 'GROWTH';
    if (retrainMs > 0 && now - last.at.getTime() >= retrainMs && stored > trainedOn) return 'SCHEDULE';
    if (retrainQuietMs > 0 && quietFor >= retrainQuietMs && stored >= trainedOn * QUIET_RETRAIN_MIN_GROWTH) return 'QUIET';
    return null;
  }

  /** Trains, evaluates and activates or rejects a candidate when one is due; null when none was. */
  async runIfDue(now = Date.now()): Promise<LifecycleRun | null> {
    const trigger = await this.due(now);
    return trigger ? this.run(trigger) : null;
  }

  /** Notes the stored-record count seen at `now`; returns how long it has stayed the same (0 on a change). */
  private watchRecords(stored: number, now: number): number {
    if (this.watch?.records !== stored) this.watch = { records: stored, since: now };
    return now - this.watch.since;
  }

  /** One round of the lifecycle on `trigger`: train a candidate, compare it with the active model, decide. */
  async run(trigger: TrainingTrigger): Promise<LifecycleRun> {
    const records = await loadTrainingRecords(this.db);
    const sample = this.settings.trainingSample?.(records) ?? records;
    // Training and the comparison run where the registry computes (a worker thread in the service); the events
    // are written here, in the same order as ever: TRAINED, the stored candidate, EVALUATED.
    const { model, active, evaluation } = await this.models.trainCandidate(sample, LIFECYCLE_ACTOR, {
      seed: this.settings.seed,
      trigger,
      evaluate: { on: sample === records ? undefined : records },
    });
    this.logger.info(
      { model: model.version, trigger, records: sample.length, candidatePairs: model.training?.candidatePairs },
      'match model trained',
    );
    await this.models.import(model, LIFECYCLE_ACTOR, false);
    const comparison = evaluation!;
    await this.models.addEvents([{ version: model.version, type: 'EVALUATED', actor: LIFECYCLE_ACTOR, data: { ...comparison } }]);
    const numbers = {
      model: model.version,
      active: active.version,
      agreement: comparison.agreement,
      linkRetention: comparison.linkRetention,
      expectedPrecision: comparison.candidate.expectedPrecision,
      expectedRecall: comparison.candidate.expectedRecall,
    };
    this.logger.info(numbers, 'match model evaluated');
    let rematch: RematchSummary | null = null;
    if (comparison.accept) {
      await this.models.activate(model.version, LIFECYCLE_ACTOR, { trigger, ...numbers });
      this.logger.info(numbers, 'match model activated');
      rematch = await rematchIdentities(this.db, model, { actor: LIFECYCLE_ACTOR }, { compute: this.models.compute });
      this.logger.info({ model: model.version, ...rematch }, 'stored records re-matched with the activated model');
    } else {
      await this.models.addEvents([
        {
          version: model.version,
          type: 'REJECTED',
          actor: LIFECYCLE_ACTOR,
          data: { trigger, kept: active.version, reasons: comparison.reasons },
        },
      ]);
      this.logger.warn({ ...numbers, reasons: comparison.reasons }, 'match model rejected; the active model stays');
    }
    return { trigger, version: model.version, activated: comparison.accept, comparison, rematch };
  }
}

/**
 * The records stored in the index when `training` was trained. Its `records` is what training read, a sample of
 * MAX_TRAINING_RECORDS on a larger index: growth measured against that would be due at every check.
 */
function indexSizeAtTraining(training: ModelEventRow): number {
  return Number(training.data.stored ?? training.data.records ?? 0);
}

/**
 * Runs the lifecycle's check every `everyMs` on the one replica holding the `model-lifecycle` lease, so a
 * candidate is trained once across replicas.
 */
export function startModelLifecycle(
  db: Database,
  lifecycle: ModelLifecycle,
  options: { everyMs: number; holder: string; leaseMs: number; logger: Logger },
): ElectedJob {
  return startElectedJob(db, {
    name: 'model-lifecycle',
    holder: options.holder,
    everyMs: options.everyMs,
    leaseMs: options.leaseMs,
    logger: options.logger,
    job: async () => {
      await lifecycle.runIfDue();
    },
  });
}

import { defaultModel, parseModel, type MatchModel, type ModelEvaluation, type NormalisedRecord } from '../matching/index.ts';
import { recordChanges } from '../events/index.ts';
import type { Database, Executor } from '../platform/db/client.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { IN_PROCESS_COMPUTE, type ModelCompute } from './model-compute.ts';
import * as store from './model-store.ts';
import type { MatchModelRow, ModelEventRow, ModelEventType, NewModelEvent } from './model-store.ts';

export { MODEL_EVENT_TYPES, type MatchModelRow, type ModelEventRow, type ModelEventType, type NewModelEvent } from './model-store.ts';

/** How long a process trusts its cached copy of the active model before checking for a newer one. */
const ACTIVE_MODEL_TTL_MS = 5_000;

/**
 * Keeps match models versioned in the database and the active one in memory. Without any stored model the
 * engine's default (untrained) model is used, so a new index links well from its first record.
 */
export class ModelRegistry {
  private cached: { model: MatchModel; at: number } | null = null;

  /**
   * @param compute where training and re-matching run: in this thread by default; the service gives a
   *   `ModelThread`, so they run in a worker thread and its requests are not held up.
   */
  constructor(
    private readonly db: Database,
    readonly compute: ModelCompute = IN_PROCESS_COMPUTE,
  ) {}

  async active(): Promise<MatchModel> {
    if (this.cached && Date.now() - this.cached.at < ACTIVE_MODEL_TTL_MS) return this.cached.model;
    const row = await store.activeModelRow(this.db);
    const model = row ? parseModel(row.spec) : defaultModel();
    this.cached = { model, at: Date.now() };
    return model;
  }

  /**
   * The version of the active model, read through `db` (a transaction in progress: on PGlite, with its single
   * connection, a read outside the transaction would wait for it forever).
   */
  async activeVersion(db: Executor): Promise<string> {
    return (await store.activeModelVersion(db)) ?? defaultModel().version;
  }

  invalidate(): void {
    this.cached = null;
  }

  async list(): Promise<MatchModelRow[]> {
    return store.listModels(this.db);
  }

  async get(version: string): Promise<MatchModelRow | null> {
    return store.modelByVersion(this.db, version);
  }

  /** Validates and stores a model (from `mpi link --save-model` or another instance); optionally activates it. */
  async import(spec: unknown, actor: string, activate: boolean): Promise<MatchModelRow> {
    let model: MatchModel;
    try {
      model = parseModel(spec);
    } catch (error) {
      const issues = (error as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
      throw new ValidationError(
        issues.length > 0
          ? issues.map((i) => ({ field: `model.${i.path}`, code: 'INVALID_MODEL', message: i.message }))
          : [{ field: 'model', code: 'INVALID_MODEL', message: 'is not a valid match model' }],
      );
    }
    if (await this.get(model.version))
      throw ValidationError.of('model.version', 'DUPLICATE_VERSION', 'a model with this version already exists');
    await store.insertModel(this.db, { version: model.version, spec: model, summary: model.training ?? null, createdBy: actor });
    if (activate) await this.activate(model.version, actor);
    return (await this.get(model.version))!;
  }

  /** Makes `version` the active model; `data` (why: the trigger, the evaluation) goes on its ACTIVATED model event. */
  async activate(version: string, actor = 'system', data: Record<string, unknown> = {}): Promise<MatchModelRow> {
    const row = await this.db.transaction(async (tx) => {
      const target = await store.modelByVersion(tx, version);
      if (!target) throw new NotFoundError('Match model', 'version');
      const previous = await this.activeVersion(tx);
      await store.setActiveModel(tx, version);
      await store.addModelEvents(tx, [{ version, type: 'ACTIVATED', actor, data: { previous, ...data } }]);
      await recordChanges(tx, [{ type: 'MODEL_ACTIVATED', actor, data: { version }, versions: { model: version } }]);
      return { ...target, active: true };
    });
    this.invalidate();
    return row;
  }

  /**
   * Trains a new model version from the stored records (EM, no labels) and stores it. Existing links are not
   * touched: manual decisions stay, and the new model applies to what is ingested from now on.
   */
  async train(actor: string, options: { activate: boolean; seed?: number }): Promise<MatchModelRow> {
    const records = await store.loadTrainingRecords(this.db);
    const { model } = await this.trainCandidate(records, actor, { seed: options.seed, trigger: 'MANUAL' });
    return this.import(model, actor, options.activate);
  }

  /**
   * Trains a model version from `records` with the active model's blocking rules (the stored blocking keys were
   * made with them) and records a TRAINED model event. With `evaluate`, the candidate is also compared with the
   * active model (`compareModels`, on `evaluate.on` or else the training records). The model is returned, not
   * stored.
   */
  async trainCandidate(
    records: NormalisedRecord[],
    actor: string,
    options: { seed?: number | undefined; trigger: string; evaluate?: { on?: NormalisedRecord[] | undefined } },
  ): Promise<{ model: MatchModel; active: MatchModel; evaluation: ModelEvaluation | null }> {
    if (records.length < 2) throw ValidationError.of('records', 'TOO_FEW_RECORDS', 'training needs at least two stored records');
    const active = await this.active();
    // The index's size, beside what training read (a sample on a large index): growth is measured against it.
    const stored = await this.storedRecords();
    const createdAt = new Date().toISOString();
    const version = `model-${createdAt.replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    const { model, evaluation, seconds } = await this.compute.train({
      records,
      active,
      seed: options.seed ?? 1,
      createdAt,
      version,
      ...(options.evaluate ? { evaluate: options.evaluate } : {}),
    });
    const t = model.training!;
    await store.addModelEvents(this.db, [
      {
        version,
        type: 'TRAINED',
        actor,
        data: {
          trigger: options.trigger,
          records: t.records,
          stored,
          candidatePairs: t.candidatePairs,
          expectedMatches: Math.round(t.expectedMatches * 10) / 10,
          prior: model.prior,
          matchThreshold: model.thresholds.matchThreshold,
          conflictRules: model.conflictRules,
          seconds,
        },
      },
    ]);
    return { model, active, evaluation };
  }

  /** Model events, newest first; optionally of one version or type, and before an id (paging). */
  async events(filter: {
    version?: string | null;
    type?: ModelEventType | null;
    before?: number | null;
    limit: number;
  }): Promise<ModelEventRow[]> {
    return store.modelEvents(this.db, filter);
  }

  /** The newest TRAINED event, by any actor: when and on how many records the last model was trained. */
  async lastTraining(): Promise<ModelEventRow | null> {
    const [row] = await this.events({ type: 'TRAINED', limit: 1 });
    return row ?? null;
  }

  /** Source records stored and not deleted: what training would read. */
  async storedRecords(): Promise<number> {
    return store.countStoredRecords(this.db);
  }

  async addEvents(events: NewModelEvent[]): Promise<void> {
    await store.addModelEvents(this.db, events);
  }
}

import { desc, eq, isNull } from 'drizzle-orm';
import { defaultModel, parseModel, trainModel, type MatchModel, type NormalisedRecord } from '../matching/index.ts';
import { recordChanges } from '../events/index.ts';
import type { Database, Executor } from '../platform/db/client.ts';
import { matchModels, sourceRecords } from '../platform/db/schema/index.ts';
import { NotFoundError, ValidationError } from '../platform/errors.ts';

export type MatchModelRow = typeof matchModels.$inferSelect;

/** How long a process trusts its cached copy of the active model before checking for a newer one. */
const ACTIVE_MODEL_TTL_MS = 5_000;
/** Most stored records read for training; EM converges long before this on blocked pairs. */
export const MAX_TRAINING_RECORDS = 300_000;

/**
 * Keeps match models versioned in the database and the active one in memory. Without any stored model the
 * engine's default (untrained) model is used, so a new index links well from its first record.
 */
export class ModelRegistry {
  private cached: { model: MatchModel; at: number } | null = null;

  constructor(private readonly db: Database) {}

  async active(): Promise<MatchModel> {
    if (this.cached && Date.now() - this.cached.at < ACTIVE_MODEL_TTL_MS) return this.cached.model;
    const [row] = await this.db.select().from(matchModels).where(eq(matchModels.active, true)).limit(1);
    const model = row ? parseModel(row.spec) : defaultModel();
    this.cached = { model, at: Date.now() };
    return model;
  }

  /**
   * The version of the active model, read through `db` (a transaction in progress: on PGlite, with its single
   * connection, a read outside the transaction would wait for it forever).
   */
  async activeVersion(db: Executor): Promise<string> {
    const [row] = await db.select({ version: matchModels.version }).from(matchModels).where(eq(matchModels.active, true)).limit(1);
    return row?.version ?? defaultModel().version;
  }

  invalidate(): void {
    this.cached = null;
  }

  async list(): Promise<MatchModelRow[]> {
    return this.db.select().from(matchModels).orderBy(desc(matchModels.createdAt));
  }

  async get(version: string): Promise<MatchModelRow | null> {
    const [row] = await this.db.select().from(matchModels).where(eq(matchModels.version, version)).limit(1);
    return row ?? null;
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
    await this.db.insert(matchModels).values({ version: model.version, spec: model, summary: model.training ?? null, createdBy: actor });
    if (activate) await this.activate(model.version, actor);
    return (await this.get(model.version))!;
  }

  async activate(version: string, actor = 'system'): Promise<MatchModelRow> {
    const row = await this.db.transaction(async (tx) => {
      const [target] = await tx.select().from(matchModels).where(eq(matchModels.version, version)).limit(1);
      if (!target) throw new NotFoundError('Match model', 'version');
      await tx.update(matchModels).set({ active: false }).where(eq(matchModels.active, true));
      await tx.update(matchModels).set({ active: true }).where(eq(matchModels.version, version));
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
    const records = await loadTrainingRecords(this.db);
    if (records.length < 2) throw ValidationError.of('records', 'TOO_FEW_RECORDS', 'training needs at least two stored records');
    const createdAt = new Date().toISOString();
    const version = `model-${createdAt.replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    const { model } = trainModel(records, { seed: options.seed ?? 1, createdAt, version });
    return this.import(model, actor, options.activate);
  }
}

async function loadTrainingRecords(db: Executor): Promise<NormalisedRecord[]> {
  const rows = await db
    .select({ normalised: sourceRecords.normalised })
    .from(sourceRecords)
    .where(isNull(sourceRecords.deletedAt))
    .limit(MAX_TRAINING_RECORDS);
  return rows.map((r) => r.normalised as unknown as NormalisedRecord);
}

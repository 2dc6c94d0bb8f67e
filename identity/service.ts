import { createHash } from 'node:crypto';
import {
  blockingKeys,
  normaliseRecord,
  scorePairVerdict,
  type MatchModel,
  type NormalisedRecord,
  type RecordInput,
} from '../matching/index.ts';
import { ensureSource, getSourceByCode } from '../catalog/index.ts';
import { recordChanges } from '../events/index.ts';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import { stableStringify } from '../platform/audit.ts';
import type { Database, Executor } from '../platform/db/client.ts';
import { withTransaction } from '../platform/db/retry.ts';
import { DomainError, NotFoundError, ValidationError, type FieldProblem } from '../platform/errors.ts';
import { withSpan } from '../platform/telemetry.ts';
import { findCandidatesByKey, replaceBlockKeysMany } from './bulk-store.ts';
import { rankIdentities, type RecordScore } from './decide.ts';
import { ingestBatch, type BatchOptions, type IngestResultData, type PreparedRecord, type StoredRecordRef } from './ingest-batch.ts';
import type { ModelRegistry } from './models.ts';
import * as store from './store.ts';
import { INGEST_OUTCOMES, type Actor, type ScoredCandidate, type SourceRecordInput } from './types.ts';
import { checkInputShape, classifyIssues, cleanInput, throwIfProblems } from './validate.ts';

/** Candidates below this probability are not worth showing to a caller of `match`. */
export const MIN_CANDIDATE_PROBABILITY = 0.01;
export const MAX_BATCH_SIZE = 1000;

/** Candidates `match` returns when the caller does not say, and the most it returns. */
export const DEFAULT_MATCH_COUNT = 10;
export const MAX_MATCH_COUNT = 100;

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * The identity service: ingest and resolution of source records into golden identities, using the same
 * match model as the batch linker.
 */
export type { IngestResultData };

export interface IngestOptions {
  runId?: string | null;
  /** Runs first inside the ingest transaction, before any lock is taken. */
  beforeIngest?: (tx: Executor) => Promise<void>;
  /** Runs last inside the ingest transaction (e.g. the audit entry, so change and entry commit together). */
  beforeCommit?: (tx: Executor, results: IngestResultData[]) => Promise<void>;
  /**
   * Writes that belong to the records themselves (a FHIR resource version), run inside the ingest transaction
   * once each record's id is known: under the records' locks, sent together with the record writes (one round
   * trip) before the match decision is made. Throwing rolls the ingest back.
   */
  withRecords?: (tx: Executor, records: StoredRecordRef[]) => Promise<void>;
}

export class IdentityService {
  constructor(
    readonly db: Database,
    readonly models: ModelRegistry,
    private readonly options: {
      autoRegisterSources: boolean;
      reader?: Executor | undefined;
      /** Where `match` reads candidates: a read replica's routed handle (default: `db`). */
      reads?: Database | undefined;
    },
  ) {}

  /** Runs `work` in a transaction, retrying on deadlocks and serialisation failures only (`withTransaction`). */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return withTransaction(this.db, work);
  }

  /** Validates and normalises one input; throws a ValidationError naming every bad field. */
  prepare(input: SourceRecordInput, model: MatchModel, path = 'input'): PreparedRecord {
    throwIfProblems(checkInputShape(input, path));
    const clean = cleanInput(input);
    const { record, issues } = normaliseRecord(clean, { asOf: today() });
    const { errors, warnings } = classifyIssues(issues, path);
    throwIfProblems(errors);
    const stored = { ...clean, birthDate: record.birthDate ?? clean.birthDate, sex: record.sex ?? clean.sex };
    return {
      input,
      source: input.source.trim(),
      localId: input.localId.trim(),
      clean: stored,
      normalised: record,
      keys: blockingKeys(record, model),
      hash: createHash('sha256').update(stableStringify(clean)).digest('hex'),
      warnings,
    };
  }

  /** Idempotent upsert of one source record, then the match decision, in one transaction. */
  async ingest(input: SourceRecordInput, actor: Actor, options: IngestOptions = {}): Promise<IngestResultData> {
    return (await this.ingestMany([input], actor, { ...options, single: true }))[0]!;
  }

  /**
   * Ingests a batch in one transaction. Every record is validated first, so one bad record stores nothing;
   * records of the same patient within the batch resolve to one identity.
   */
  async ingestMany(
    inputs: SourceRecordInput[],
    actor: Actor,
    options: IngestOptions & { single?: boolean } = {},
  ): Promise<IngestResultData[]> {
    if (inputs.length > MAX_BATCH_SIZE) throw ValidationError.of('input', 'TOO_MANY', `at most ${MAX_BATCH_SIZE} records per batch`);
    const model = await this.models.active();
    const problems: FieldProblem[] = [];
    const seen = new Map<string, number>();
    const prepared = inputs.map((input, i) => {
      const path = options.single ? 'input' : `input[${i}]`;
      try {
        const p = this.prepare(input, model, path);
        const ref = `${p.source}\u0000${p.localId}`;
        if (seen.has(ref))
          problems.push({
            field: `${path}.localId`,
            code: 'DUPLICATE_IN_BATCH',
            message: `repeats input[${seen.get(ref)}] (same source and localId)`,
          });
        seen.set(ref, i);
        return p;
      } catch (error) {
        if (error instanceof ValidationError) problems.push(...error.problems);
        else throw error;
        return null;
      }
    });
    throwIfProblems(problems);
    const batch = { ...this.batchOptions(model, actor, options.runId ?? null), withRecords: options.withRecords };
    return withSpan('identity.ingest', { 'mpi.model_version': model.version, 'mpi.batch_size': inputs.length }, async (span) => {
      const results = await this.transaction(async (tx) => {
        await options.beforeIngest?.(tx);
        const done = await ingestBatch(tx, prepared as PreparedRecord[], batch);
        await options.beforeCommit?.(tx, done);
        return done;
      });
      for (const outcome of INGEST_OUTCOMES)
        span.setAttribute(`mpi.outcome.${outcome.toLowerCase()}`, results.filter((r) => r.outcome === outcome).length);
      return results;
    });
  }

  /**
   * Places stored records again in the caller's transaction, against what is stored now, as if they had just
   * been sent with the content they have (`replan`): a record that now matches another identity moves there, and
   * an identity it leaves empty redirects to it. `records` are the stored records' inputs (`raw`), prepared.
   */
  async replanStored(tx: Executor, records: PreparedRecord[], model: MatchModel, actor: Actor): Promise<IngestResultData[]> {
    if (records.length === 0) return [];
    return ingestBatch(tx, records, { ...this.batchOptions(model, actor, null), replan: true });
  }

  private batchOptions(model: MatchModel, actor: Actor, runId: string | null): BatchOptions {
    return { model, actor, runId, reader: this.options.reader, checkSource: (tx, code, row) => this.checkSource(tx, code, row) };
  }

  /**
   * The id of the source an ingest run is started for: registered through the catalog first when
   * auto-registration is on, as the run's first record would register it; refused (UNKNOWN_SOURCE) otherwise.
   */
  async runSource(code: string): Promise<string> {
    return this.transaction(async (tx) => (await ensureSource(tx, code, { autoRegister: this.options.autoRegisterSources })).id);
  }

  /**
   * Checks a source found by the batch; an unknown one is registered through the catalog (with its dataset,
   * classified fields and glossary) when auto-registration is on, and refused otherwise.
   */
  async checkSource(tx: Executor, code: string, source: store.SourceRow | null): Promise<string> {
    if (source?.active) return source.id;
    try {
      return (await ensureSource(tx, code, { autoRegister: this.options.autoRegisterSources })).id;
    } catch (error) {
      // The batch names its fields `input…`; the catalog names the field `source`.
      if (error instanceof DomainError && error.field === 'source')
        throw new DomainError(error.code, error.message, { field: 'input.source', cause: error });
      throw error;
    }
  }

  /** Scores a record against every stored record sharing a blocking key and ranks their identities. */
  async rankCandidates(db: Executor, normalised: NormalisedRecord, keys: string[], model: MatchModel): Promise<ScoredCandidate[]> {
    const byKey = await findCandidatesByKey(db, keys, []);
    const candidates = new Set([...byKey.values()].flat());
    const scores: RecordScore[] = [...candidates].map((c) => ({
      recordId: c.recordId,
      identityId: c.identityId,
      ...scorePairVerdict(normalised, c.normalised, model),
    }));
    return rankIdentities(scores, model.thresholds);
  }

  /** Ranked identities for a record, without storing anything. */
  async match(input: RecordInput, options: { count?: number | null; onlyCertain?: boolean | null } = {}): Promise<ScoredCandidate[]> {
    const asked = options.count;
    if (asked !== null && asked !== undefined && !(Number.isInteger(asked) && asked >= 1 && asked <= MAX_MATCH_COUNT))
      throw ValidationError.of('count', 'OUT_OF_RANGE', `must be between 1 and ${MAX_MATCH_COUNT}`);
    const model = await this.models.active();
    const prepared = this.prepare({ ...input, source: 'match', localId: 'match' } as SourceRecordInput, model);
    return withSpan('identity.match', { 'mpi.model_version': model.version }, async () => {
      const ranked = await this.rankCandidates(this.options.reads ?? this.db, prepared.normalised, prepared.keys, model);
      const count = asked ?? DEFAULT_MATCH_COUNT;
      return ranked
        .filter((c) => c.probability >= MIN_CANDIDATE_PROBABILITY && (!options.onlyCertain || c.grade === 'CERTAIN'))
        .slice(0, count);
    });
  }

  /** The current identity of a source record, following merges. */
  async resolve(source: string, localId: string): Promise<store.IdentityRow | null> {
    const src = await getSourceByCode(this.db, source);
    if (!src) return null;
    const found = await store.findRecord(this.db, src.id, localId);
    if (!found?.link || found.record.deletedAt) return null;
    return store.resolveSurvivor(this.db, found.link.identityId);
  }

  /** Soft-deletes a source record; its identity's golden record is rebuilt without it. */
  async deleteRecord(
    source: string,
    localId: string,
    actor: Actor,
    options: { beforeCommit?: (tx: Executor, deleted: { recordId: string }) => Promise<void> } = {},
  ): Promise<{ recordId: string; identityId: string | null }> {
    const policy = await loadActivePolicy(this.db);
    return this.transaction(async (tx) => {
      await store.lockKeys(tx, [store.recordLockKey(source, localId)]);
      const src = await getSourceByCode(tx, source);
      const found = src ? await store.findRecord(tx, src.id, localId) : null;
      if (!src || !found || found.record.deletedAt) throw new NotFoundError('Source record', 'localId');
      await store.softDeleteRecord(tx, found.record.id);
      await replaceBlockKeysMany(tx, [{ recordId: found.record.id, keys: [], stored: true }]);
      const identityId = found.link ? ((await store.resolveSurvivor(tx, found.link.identityId))?.id ?? found.link.identityId) : null;
      if (identityId) {
        // Two deletes (or a delete and an ingest) of one identity's records must rebuild its golden record in turn.
        await store.lockIdentities(tx, [identityId]);
        await store.addEvents(tx, [
          { identityId, type: 'RECORD_DELETED', recordId: found.record.id, actor: actor.actor, reason: actor.reason ?? null },
        ]);
      }
      await recordChanges(tx, [{ type: 'RECORD_DELETED', actor: actor.actor, identityId, recordId: found.record.id }]);
      if (identityId) await rebuildGoldenMany(tx, [identityId], { policy, actor: actor.actor });
      await options.beforeCommit?.(tx, { recordId: found.record.id });
      return { recordId: found.record.id, identityId };
    });
  }
}

import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import {
  blockingKeys, normaliseRecord, NORMALISER_VERSION, scorePair, type MatchModel, type NormalisedRecord, type RecordInput,
} from '../matching/index.ts';
import { loadActivePolicy, rebuildGolden, type SurvivorshipPolicy } from '../lineage/index.ts';
import { stableStringify } from '../platform/audit.ts';
import type { Database, Executor } from '../platform/db/client.ts';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { DomainError, NotFoundError, ValidationError, type FieldProblem } from '../platform/errors.ts';
import { withSpan } from '../platform/telemetry.ts';
import { decide, gradeFor, rankIdentities, reviewPriority, type Decision, type RecordScore } from './decide.ts';
import type { ModelRegistry } from './models.ts';
import * as store from './store.ts';
import type { Actor, IngestOutcome, ScoredCandidate, SourceRecordInput } from './types.ts';
import { checkInputShape, classifyIssues, cleanInput, throwIfProblems } from './validate.ts';

export interface IngestResultData {
  outcome: IngestOutcome;
  recordId: string;
  identityId: string;
  candidates: ScoredCandidate[];
  warnings: FieldProblem[];
  reviewItemId: string | null;
}

/** A record checked and normalised, ready for the transaction. */
interface PreparedRecord {
  input: SourceRecordInput;
  source: string;
  localId: string;
  clean: ReturnType<typeof cleanInput>;
  normalised: NormalisedRecord;
  keys: string[];
  hash: string;
  warnings: FieldProblem[];
}

/** Candidates below this probability are not worth showing to a caller of `match`. */
export const MIN_CANDIDATE_PROBABILITY = 0.01;
/** Transactions retried after a deadlock or serialisation failure before the error is surfaced. */
const MAX_TX_ATTEMPTS = 4;
const RETRYABLE_SQLSTATES = new Set(['40P01', '40001', '23505']);
/** Records in a batch ingested concurrently; same-patient records still serialise on their blocking-key locks. */
export const BATCH_CONCURRENCY = 4;
export const MAX_BATCH_SIZE = 1000;

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * The identity service: ingest and resolution of source records into golden identities, using the same
 * match model as the batch linker.
 */
export class IdentityService {
  constructor(
    readonly db: Database,
    readonly models: ModelRegistry,
    private readonly options: { autoRegisterSources: boolean },
  ) {}

  /** Runs `work` in a transaction, retrying on deadlocks and serialisation failures. */
  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction(work);
      } catch (error) {
        const state = sqlState(error);
        if (attempt >= MAX_TX_ATTEMPTS || !state || !RETRYABLE_SQLSTATES.has(state)) throw error;
      }
    }
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
      input, source: input.source.trim(), localId: input.localId.trim(), clean: stored, normalised: record,
      keys: blockingKeys(record, model), hash: createHash('sha256').update(stableStringify(clean)).digest('hex'), warnings,
    };
  }

  /** Idempotent upsert of one source record, then the match decision, in one transaction. */
  async ingest(input: SourceRecordInput, actor: Actor, options: { runId?: string | null } = {}): Promise<IngestResultData> {
    const model = await this.models.active();
    const prepared = this.prepare(input, model);
    const policy = await loadActivePolicy(this.db);
    return withSpan('identity.ingest', { 'mpi.model_version': model.version }, (span) =>
      this.transaction(async (tx) => {
        const result = await this.ingestPrepared(tx, prepared, model, policy, actor, options.runId ?? null);
        span.setAttribute('mpi.outcome', result.outcome);
        span.setAttribute('mpi.candidates', result.candidates.length);
        return result;
      }));
  }

  /** Ingests a batch: every record is validated first, so a bad record stores nothing. */
  async ingestMany(inputs: SourceRecordInput[], actor: Actor, options: { runId?: string | null } = {}): Promise<IngestResultData[]> {
    if (inputs.length > MAX_BATCH_SIZE) throw ValidationError.of('input', 'TOO_MANY', `at most ${MAX_BATCH_SIZE} records per batch`);
    const model = await this.models.active();
    const problems: FieldProblem[] = [];
    const prepared = inputs.map((input, i) => {
      try {
        return this.prepare(input, model, `input[${i}]`);
      } catch (error) {
        if (error instanceof ValidationError) problems.push(...error.problems);
        else throw error;
        return null;
      }
    });
    throwIfProblems(problems);
    const policy = await loadActivePolicy(this.db);
    const results = new Array<IngestResultData>(inputs.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < prepared.length; i = next++) {
        results[i] = await this.transaction((tx) => this.ingestPrepared(tx, prepared[i]!, model, policy, actor, options.runId ?? null));
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, inputs.length) }, worker));
    return results;
  }

  private async ingestPrepared(
    tx: Executor, p: PreparedRecord, model: MatchModel, policy: SurvivorshipPolicy, actor: Actor, runId: string | null,
  ): Promise<IngestResultData> {
    const source = await this.sourceFor(tx, p.source);
    await store.lockKeys(tx, [`record:${source.id}:${p.localId}`, ...p.keys]);
    const existing = await store.findRecord(tx, source.id, p.localId);
    if (existing?.link && !existing.record.deletedAt && existing.record.contentHash === p.hash) {
      return { outcome: 'UNCHANGED', recordId: existing.record.id, identityId: await this.survivorId(tx, existing.link.identityId), candidates: [], warnings: p.warnings, reviewItemId: null };
    }
    const recordId = await this.saveRecord(tx, source.id, p, existing?.record ?? null, runId);
    await store.replaceBlockKeys(tx, recordId, p.keys);
    const base = { recordId, warnings: p.warnings, actor, model, policy, runId };
    if (existing?.link?.linkSource === 'MANUAL') {
      // A steward placed this record: the matcher never moves it.
      const identityId = await this.survivorId(tx, existing.link.identityId);
      await store.addEvents(tx, [{ identityId, type: 'RECORD_UPDATED', recordId, actor: actor.actor, reason: actor.reason ?? null, modelVersion: model.version }]);
      await rebuildGolden(tx, identityId, { policy, ingestRunId: runId });
      return { outcome: 'LINKED', recordId, identityId, candidates: [], warnings: p.warnings, reviewItemId: null };
    }
    const currentIdentity = existing?.link ? await this.survivorId(tx, existing.link.identityId) : null;
    const ranked = await this.rankCandidates(tx, p.normalised, p.keys, recordId, model, currentIdentity);
    const decision = decide(ranked, model.thresholds);
    const placed = currentIdentity
      ? await this.reevaluate(tx, currentIdentity, decision, ranked, base)
      : await this.place(tx, decision, base);
    return { ...placed, recordId, candidates: ranked.slice(0, 5), warnings: p.warnings };
  }

  private async sourceFor(tx: Executor, code: string) {
    const source = await store.findSourceByCode(tx, code);
    if (source) {
      if (!source.active) throw new DomainError('INACTIVE_SOURCE', 'Source is not active', { field: 'input.source' });
      return source;
    }
    if (this.options.autoRegisterSources) return store.insertSource(tx, code);
    throw new DomainError('UNKNOWN_SOURCE', 'Source is not registered; register it first', { field: 'input.source' });
  }

  private async survivorId(tx: Executor, identityId: string): Promise<string> {
    return (await store.resolveSurvivor(tx, identityId))?.id ?? identityId;
  }

  private async saveRecord(tx: Executor, sourceId: string, p: PreparedRecord, existing: store.SourceRecordRow | null, runId: string | null): Promise<string> {
    const values = {
      ...p.clean, raw: p.input as unknown as Record<string, unknown>, normalised: p.normalised as unknown as Record<string, unknown>,
      normaliserVersion: NORMALISER_VERSION, contentHash: p.hash, ingestRunId: runId, updatedAt: new Date(), deletedAt: null,
    };
    if (existing) {
      await tx.update(sourceRecords).set({ ...values, version: existing.version + 1 }).where(eq(sourceRecords.id, existing.id));
      return existing.id;
    }
    const [row] = await tx.insert(sourceRecords).values({ ...values, sourceId, localId: p.localId }).returning({ id: sourceRecords.id });
    return row!.id;
  }

  /** Scores the record against every candidate sharing a blocking key and ranks the identities. */
  async rankCandidates(
    db: Executor, normalised: NormalisedRecord, keys: string[], selfId: string | null, model: MatchModel, currentIdentity: string | null,
  ): Promise<ScoredCandidate[]> {
    const candidates = await store.findCandidates(db, keys, selfId);
    const scores: RecordScore[] = candidates.map((c) => {
      const s = scorePair(normalised, c.normalised as unknown as NormalisedRecord, model);
      return { recordId: c.record_id, identityId: c.identity_id, probability: s.probability, weight: s.weight, explanation: s.explanation };
    });
    const identityIds = [...new Set(scores.map((s) => s.identityId))];
    const excluded = currentIdentity ? await store.notDuplicatesOf(db, currentIdentity, identityIds) : new Set<string>();
    return rankIdentities(scores, model.thresholds, excluded);
  }

  /** Places a record that has no identity yet. */
  private async place(tx: Executor, decision: Decision, ctx: PlaceContext): Promise<Placement> {
    if (decision.kind === 'LINK') {
      const target = await this.lockActive(tx, decision.target.identityId);
      await this.link(tx, ctx, target, 'MATCH', decision.target);
      await this.raisePossibleDuplicates(tx, ctx, target, decision.alsoMatching);
      await rebuildGolden(tx, target, { policy: ctx.policy, ingestRunId: ctx.runId });
      return { outcome: 'LINKED', identityId: target, reviewItemId: null };
    }
    const identityId = (await store.createIdentity(tx)).id;
    await store.addEvents(tx, [{ identityId, type: 'CREATED', recordId: ctx.recordId, actor: ctx.actor.actor, reason: ctx.actor.reason ?? null, modelVersion: ctx.model.version }]);
    await this.link(tx, ctx, identityId, decision.kind === 'REVIEW' ? 'POSSIBLE_MATCH' : 'MATCH', null);
    await rebuildGolden(tx, identityId, { policy: ctx.policy, ingestRunId: ctx.runId });
    if (decision.kind === 'NEW') return { outcome: 'CREATED', identityId, reviewItemId: null };
    const reviewItemId = await this.openRecordReview(tx, ctx, identityId, decision.target);
    return { outcome: 'REVIEW', identityId, reviewItemId };
  }

  /**
   * Re-decides a changed record that the matcher had linked. It stays while it still matches its identity;
   * a record alone in its identity that now matches another one joins it; otherwise it is split out.
   */
  private async reevaluate(tx: Executor, current: string, decision: Decision, ranked: ScoredCandidate[], ctx: PlaceContext): Promise<Placement> {
    const own = ranked.find((c) => c.identityId === current);
    const others = (await store.recordIdsOfIdentity(tx, current)).filter((id) => id !== ctx.recordId);
    const staysWithOwn = own !== undefined && own.probability >= ctx.model.thresholds.reviewThreshold && own.blockers.length === 0;
    if (others.length > 0 && (staysWithOwn || (decision.kind === 'LINK' && decision.target.identityId === current))) {
      await rebuildGolden(tx, current, { policy: ctx.policy, ingestRunId: ctx.runId });
      return { outcome: 'LINKED', identityId: current, reviewItemId: null };
    }
    if (others.length === 0) {
      if (decision.kind === 'LINK' && decision.target.identityId !== current) {
        const target = await this.lockActive(tx, decision.target.identityId);
        await this.link(tx, ctx, target, 'MATCH', decision.target);
        await store.markIdentityMerged(tx, current, target);
        await store.addEvents(tx, [{ identityId: current, type: 'MERGED', otherIdentityId: target, recordId: ctx.recordId, actor: ctx.actor.actor, reason: 'record now matches another identity', modelVersion: ctx.model.version }]);
        await store.moveNotDuplicates(tx, current, target);
        await rebuildGolden(tx, current, { policy: ctx.policy, ingestRunId: ctx.runId });
        await rebuildGolden(tx, target, { policy: ctx.policy, ingestRunId: ctx.runId });
        return { outcome: 'LINKED', identityId: target, reviewItemId: null };
      }
      await rebuildGolden(tx, current, { policy: ctx.policy, ingestRunId: ctx.runId });
      const reviewItemId = decision.kind === 'REVIEW' && decision.target.identityId !== current ? await this.openRecordReview(tx, ctx, current, decision.target) : null;
      return { outcome: reviewItemId ? 'REVIEW' : 'LINKED', identityId: current, reviewItemId };
    }
    // The record no longer belongs with the rest of its identity: split it out, then place it afresh.
    await store.addEvents(tx, [{ identityId: current, type: 'UNLINKED', recordId: ctx.recordId, actor: ctx.actor.actor, reason: 'record changed and no longer matches', modelVersion: ctx.model.version }]);
    const placed = await this.place(tx, decision.kind === 'LINK' && decision.target.identityId === current ? { kind: 'NEW' } : decision, ctx);
    await rebuildGolden(tx, current, { policy: ctx.policy, ingestRunId: ctx.runId });
    return placed;
  }

  /** Locks an identity for linking, following a merge that committed since the candidates were read. */
  private async lockActive(tx: Executor, identityId: string): Promise<string> {
    const [row] = await store.lockIdentities(tx, [identityId]);
    if (row?.status === 'ACTIVE') return row.id;
    const survivor = await store.resolveSurvivor(tx, identityId);
    if (!survivor || survivor.status !== 'ACTIVE') throw new NotFoundError('Identity');
    await store.lockIdentities(tx, [survivor.id]);
    return survivor.id;
  }

  private async link(tx: Executor, ctx: PlaceContext, identityId: string, matchResult: 'MATCH' | 'POSSIBLE_MATCH', evidence: ScoredCandidate | null): Promise<void> {
    await store.upsertLink(tx, {
      recordId: ctx.recordId, identityId, matchResult, linkSource: 'AUTO', weight: evidence?.weight ?? null,
      probability: evidence?.probability ?? null, modelVersion: ctx.model.version,
    });
    await store.addEvents(tx, [{
      identityId, type: 'LINKED', recordId: ctx.recordId, actor: ctx.actor.actor, reason: ctx.actor.reason ?? null, modelVersion: ctx.model.version,
      evidence: evidence ? { probability: evidence.probability, weight: evidence.weight, grade: evidence.grade, explanation: evidence.explanation, matchedRecordId: evidence.recordId } : { matchResult },
    }]);
  }

  private async openRecordReview(tx: Executor, ctx: PlaceContext, recordIdentity: string, target: ScoredCandidate): Promise<string | null> {
    if (await store.openReviewExists(tx, 'RECORD_MATCH', target.identityId, null, ctx.recordId)) return null;
    const affected = (await store.recordIdsOfIdentity(tx, target.identityId)).length + 1;
    const item = await store.insertReviewItem(tx, {
      kind: 'RECORD_MATCH', recordId: ctx.recordId, identityA: target.identityId, identityB: recordIdentity, probability: target.probability,
      weight: target.weight, priority: reviewPriority(target.probability, affected), explanation: { ...target.explanation, blockers: target.blockers }, modelVersion: ctx.model.version,
    });
    return item.id;
  }

  private async raisePossibleDuplicates(tx: Executor, ctx: PlaceContext, linkedTo: string, others: ScoredCandidate[]): Promise<void> {
    if (others.length === 0) return;
    const declared = await store.notDuplicatesOf(tx, linkedTo, others.map((o) => o.identityId));
    for (const other of others) {
      if (declared.has(other.identityId) || other.identityId === linkedTo) continue;
      if (await store.openReviewExists(tx, 'POSSIBLE_DUPLICATE', linkedTo, other.identityId, null)) continue;
      await store.insertReviewItem(tx, {
        kind: 'POSSIBLE_DUPLICATE', recordId: ctx.recordId, identityA: linkedTo, identityB: other.identityId, probability: other.probability,
        weight: other.weight, priority: reviewPriority(other.probability, 2), explanation: other.explanation, modelVersion: ctx.model.version,
      });
    }
  }

  /** Ranked identities for a record, without storing anything. */
  async match(input: RecordInput, options: { count?: number | null; onlyCertain?: boolean | null } = {}): Promise<ScoredCandidate[]> {
    const model = await this.models.active();
    const prepared = this.prepare({ ...input, source: 'match', localId: 'match' } as SourceRecordInput, model);
    return withSpan('identity.match', { 'mpi.model_version': model.version }, async () => {
      const ranked = await this.rankCandidates(this.db, prepared.normalised, prepared.keys, null, model, null);
      const count = Math.min(Math.max(options.count ?? 10, 1), 100);
      return ranked
        .filter((c) => c.probability >= MIN_CANDIDATE_PROBABILITY && (!options.onlyCertain || c.grade === 'CERTAIN'))
        .slice(0, count);
    });
  }

  /** The current identity of a source record, following merges. */
  async resolve(source: string, localId: string): Promise<store.IdentityRow | null> {
    const src = await store.findSourceByCode(this.db, source);
    if (!src) return null;
    const found = await store.findRecord(this.db, src.id, localId);
    if (!found?.link || found.record.deletedAt) return null;
    return store.resolveSurvivor(this.db, found.link.identityId);
  }

  /** Soft-deletes a source record; its identity's golden record is rebuilt without it. */
  async deleteRecord(source: string, localId: string, actor: Actor): Promise<{ recordId: string; identityId: string | null }> {
    const policy = await loadActivePolicy(this.db);
    return this.transaction(async (tx) => {
      const src = await store.findSourceByCode(tx, source);
      const found = src ? await store.findRecord(tx, src.id, localId) : null;
      if (!src || !found || found.record.deletedAt) throw new NotFoundError('Source record', 'localId');
      await store.lockKeys(tx, [`record:${src.id}:${localId}`]);
      await tx.update(sourceRecords).set({ deletedAt: new Date(), updatedAt: new Date() }).where(eq(sourceRecords.id, found.record.id));
      await store.replaceBlockKeys(tx, found.record.id, []);
      const identityId = found.link ? await this.survivorId(tx, found.link.identityId) : null;
      if (identityId) {
        await store.addEvents(tx, [{ identityId, type: 'RECORD_DELETED', recordId: found.record.id, actor: actor.actor, reason: actor.reason ?? null }]);
        await rebuildGolden(tx, identityId, { policy });
      }
      return { recordId: found.record.id, identityId };
    });
  }
}

interface PlaceContext {
  recordId: string;
  actor: Actor;
  model: MatchModel;
  policy: SurvivorshipPolicy;
  runId: string | null;
  warnings: FieldProblem[];
}

interface Placement {
  outcome: IngestOutcome;
  identityId: string;
  reviewItemId: string | null;
}

export { gradeFor };

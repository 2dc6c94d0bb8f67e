import { NORMALISER_VERSION, scorePairVerdict, type MatchModel, type NormalisedRecord, type PairVerdict } from '../matching/index.ts';
import { recordChanges, type NewChange } from '../events/index.ts';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import type { Executor } from '../platform/db/client.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import type { links, reviewItems } from '../platform/db/schema/index.ts';
import { ConflictError, type FieldProblem } from '../platform/errors.ts';
import { auditMerges, mergedTarget, mergeOps, checkMerges, writeMerges } from './auto-merge.ts';
import * as bulk from './bulk-store.ts';
import { planBatch, type Plan, type PlanInput, type PlannedOp, type StoredCandidate, type StoredMember } from './plan.ts';
import * as store from './store.ts';
import type { Actor, IngestOutcome, ScoredCandidate, SourceRecordInput } from './types.ts';
import type { cleanInput } from './validate.ts';

/** A record checked and normalised, ready for the transaction. */
export interface PreparedRecord {
  input: SourceRecordInput;
  source: string;
  localId: string;
  clean: ReturnType<typeof cleanInput>;
  normalised: NormalisedRecord;
  keys: string[];
  hash: string;
  warnings: FieldProblem[];
}

/** The source-record row stored for a prepared record; shared by batch ingest and the bulk load. */
export function recordRow(p: PreparedRecord, id: string, sourceId: string, ingestRunId: string | null) {
  return {
    id,
    sourceId,
    localId: p.localId,
    ...p.clean,
    raw: p.input,
    normalised: p.normalised,
    normaliserVersion: NORMALISER_VERSION,
    contentHash: p.hash,
    ingestRunId,
  };
}

export interface IngestResultData {
  outcome: IngestOutcome;
  recordId: string;
  identityId: string;
  candidates: ScoredCandidate[];
  warnings: FieldProblem[];
  reviewItemId: string | null;
  /** Identities this record bridged and that were merged into `identityId` (see `mergeIfAllowed`). */
  mergedIdentityIds: string[];
  /** Whether the record was stored and live before this ingest (read under its lock, in the ingest's transaction). */
  existed: boolean;
}

export interface BatchOptions {
  model: MatchModel;
  actor: Actor;
  runId: string | null;
  /** Connections besides the transaction's for the candidate read of a large batch (see `loadPlanContext`). */
  reader?: Executor | undefined;
  /** Accepts a source found by code (or null when unknown) and returns its id, or throws. */
  checkSource: (tx: Executor, code: string, row: store.SourceRow | null) => Promise<string>;
  /** Writes that belong to the batch's records, sent with the record writes (see `IngestOptions.withRecords`). */
  withRecords?: ((tx: Executor, records: StoredRecordRef[]) => Promise<void>) | undefined;
  /**
   * Plans every record again, those stored with the same content too, against what is stored now (a bulk load
   * re-places what online ingest stored while it planned). Records whose content is unchanged are not rewritten.
   */
  replan?: boolean | undefined;
}

/** A batch record's id, and whether it was stored and live before this ingest, by input index. */
export interface StoredRecordRef {
  recordId: string;
  existed: boolean;
}

/**
 * Ingests a batch in one transaction with a fixed number of statements: lock every record's keys, read what
 * exists and every candidate at once, plan all decisions in memory (later records see earlier ones), then
 * write records, links, identities, events, reviews and golden records set-based. One record is a batch of one.
 */
export async function ingestBatch(tx: Executor, prepared: PreparedRecord[], options: BatchOptions): Promise<IngestResultData[]> {
  const codes = [...new Set(prepared.map((p) => p.source))];
  // Statements issued together are pipelined on the transaction's connection (one round trip) and run in the
  // order issued, each with its own snapshot: the locks come first, so the reads after them see what no
  // concurrent ingest can still change. `stored[i]`: what is already stored of input record i.
  const [, , policy, found, stored] = await Promise.all([
    prepared.length > 1 ? bulk.planForBatch(tx) : null,
    store.lockKeys(tx, store.recordLockKeys(prepared)),
    loadActivePolicy(tx),
    bulk.findSources(tx, codes),
    bulk.findRecordsBySource(
      tx,
      prepared.map((p) => ({ code: p.source, localId: p.localId })),
    ),
  ]);
  const sourceIds = new Map<string, string>();
  for (const code of codes) sourceIds.set(code, await options.checkSource(tx, code, found.get(code) ?? null));

  const results = new Array<IngestResultData>(prepared.length);
  const changed: number[] = [];
  // Stored, linked, live and with the same content: nothing to write (nor, unless `replan`, to plan).
  const sameAsStored = (i: number) => {
    const known = stored[i];
    return Boolean(known?.link && !known.record.deleted && known.record.contentHash === prepared[i]!.hash);
  };
  prepared.forEach((p, i) => {
    const known = stored[i];
    if (!options.replan && known?.link && sameAsStored(i)) {
      results[i] = {
        outcome: 'UNCHANGED',
        recordId: known.record.id,
        identityId: known.link.identityId,
        candidates: [],
        warnings: p.warnings,
        reviewItemId: null,
        mergedIdentityIds: [],
        existed: true,
      };
    } else changed.push(i);
  });
  if (changed.length === 0) {
    await Promise.all([
      options.runId ? countRun(tx, options.runId, results) : null,
      options.withRecords?.(
        tx,
        results.map((r) => ({ recordId: r.recordId, existed: r.existed })),
      ),
    ]);
    return results;
  }

  // A stored record keeps its id; a new one gets its id here, so the writes below need not wait for each other.
  // New ids are time-ordered: each batch's rows land together at the right edge of the indexes keyed by them.
  const recordIds = new Map(changed.map((i) => [i, stored[i]?.record.id ?? timeOrderedUuid()]));
  const idOf = (i: number) => recordIds.get(i)!;
  const manual = changed.filter((i) => stored[i]?.link?.linkSource === 'MANUAL');
  const matched = changed.filter((i) => !manual.includes(i));
  const inputs: PlanInput[] = matched.map((i) => {
    const found = stored[i];
    return {
      index: i,
      recordId: idOf(i),
      normalised: prepared[i]!.normalised,
      keys: prepared[i]!.keys,
      currentIdentity: found?.link?.identityId ?? null,
      wasActive: Boolean(found?.link && !found.record.deleted),
    };
  });
  const currentIds = inputs.flatMap((x) => (x.currentIdentity ? [x.currentIdentity] : []));
  // What the planner reads (before this batch's writes), then the record and key writes, which the server runs
  // while the plan is made here: only the read is awaited before planning. A large batch on PostgreSQL reads on
  // connections of its own, beside the writes.
  const exclude = [...recordIds.values()];
  const contextRead = bulk.loadPlanContext(
    tx,
    { keys: inputs.flatMap((x) => x.keys), exclude, currentIds, recordIds: inputs.map((x) => x.recordId), membersLater: true },
    options.reader,
  );
  const existed = (i: number) => stored[i] !== undefined && !stored[i]!.record.deleted;
  // Records planned again with their stored content (`replan`) keep their rows, keys and version.
  const rewritten = changed.filter((i) => !sameAsStored(i));
  const recordWrites = Promise.all([
    bulk.upsertRecords(
      tx,
      rewritten.map((i) => {
        const p = prepared[i]!;
        return recordRow(p, idOf(i), sourceIds.get(p.source)!, options.runId);
      }),
    ),
    bulk.replaceBlockKeysMany(
      tx,
      rewritten.map((i) => ({ recordId: idOf(i), keys: prepared[i]!.keys, stored: stored[i] !== undefined })),
    ),
    // Issued after the record writes, so what it writes may refer to the records.
    options.withRecords?.(
      tx,
      prepared.map((_, i) => ({ recordId: recordIds.get(i) ?? results[i]!.recordId, existed: existed(i) })),
    ),
  ]);
  // Awaited after planning; should the read fail first, the transaction ends with the read's error.
  recordWrites.catch(() => undefined);
  const context = await contextRead;
  const plan = await planWithGuardMembers(tx, inputs, context, options.model, exclude);
  await recordWrites;

  const redirect = await lockTargets(tx, plan.ops, currentIds);
  const merged = checkMerges(plan.ops, redirect);
  const target = mergedTarget(merged, redirect);
  const merges = mergeOps(plan.ops);
  const events: store.NewIdentityEvent[] = [];
  for (const i of manual) {
    const identityId = stored[i]!.link!.identityId;
    results[i] = {
      outcome: 'LINKED',
      recordId: idOf(i),
      identityId,
      candidates: [],
      warnings: prepared[i]!.warnings,
      reviewItemId: null,
      mergedIdentityIds: [],
      existed: existed(i),
    };
  }
  const relinked = new Set(plan.ops.flatMap((op) => (op.kind === 'LINK' ? [op.recordId] : [])));
  for (const i of rewritten) {
    const before = stored[i];
    if (!before?.link) continue;
    const base = {
      identityId: before.link.identityId,
      recordId: idOf(i),
      actor: options.actor.actor,
      reason: options.actor.reason ?? null,
      modelVersion: options.model.version,
    };
    events.push({ ...base, type: 'RECORD_UPDATED' });
    // A deleted record sent again rejoins its identity: say so, so history shows it a member again.
    if (before.record.deleted && !relinked.has(idOf(i))) events.push({ ...base, type: 'LINKED', evidence: { restored: true } });
  }
  const reviewIds = planReviewIds(plan.ops, target);
  for (const r of plan.records) {
    results[r.index] = {
      outcome: r.outcome,
      recordId: idOf(r.index),
      identityId: target(r.identityId),
      candidates: r.candidates,
      warnings: prepared[r.index]!.warnings,
      reviewItemId: r.reviewOp === null ? null : (reviewIds.get(r.reviewOp) ?? null),
      mergedIdentityIds: merges.filter((m) => m.recordId === idOf(r.index)).map((m) => m.mergedId),
      existed: existed(r.index),
    };
  }
  const affected = [
    ...manual.map((i) => stored[i]!.link!.identityId),
    ...currentIds,
    ...results.filter((r) => r.outcome !== 'UNCHANGED').map((r) => r.identityId),
    ...merges.flatMap((m) => [m.mergedId, target(m.survivorId)]),
  ];
  const identityOfRecord = new Map(results.filter((r) => r !== undefined).map((r) => [r.recordId, r.identityId]));
  const rows = opRows(plan.ops, { target, reviewIds, events, identityOfRecord }, options);
  // Without a merge the plan's change events wait for the golden rebuild's and go into the outbox with them, in
  // one statement; a merge writes events of its own in between, so there they are written first, in order.
  const merging = plan.ops.some((op) => op.kind === 'ABSORB' || op.kind === 'MERGE');
  const writes = Promise.all([
    applyOps(tx, plan.ops, rows, { ...options, writeChanges: merging }),
    options.runId ? countRun(tx, options.runId, results) : null,
  ]);
  // The golden rebuild reads what the writes above leave: pipelined behind them (one round trip) unless an
  // identity is absorbed, whose statements follow the writes' results.
  if (merging) await writes;
  const golden = { policy, ingestRunId: options.runId, actor: options.actor.actor, changes: merging ? [] : rows.changes };
  await Promise.all([writes, rebuildGoldenMany(tx, affected, golden)]);
  // Last: the audit chain's lock is held from here to the commit.
  if (merges.length > 0) await auditMerges(tx, merges, { actor: options.actor, modelVersion: options.model.version });
  return results;
}

/**
 * Plans the batch, reading the further members of an identity (those sharing no key with the batch) only once
 * the merge guard weighs it: when a record would join it or merge it with another. Most records match no
 * identity above the match threshold, or one whose every active record is a candidate already, so most plans
 * need no such read. A plan that weighed an identity with members it has not seen is made again with them (the
 * read is in the transaction, under the batch's locks, as the planning read is), until it weighs none unseen:
 * the plan is then the one a read of every candidate identity's members gives, since `planBatch` depends on
 * the members of the identities it weighs only. `exclude`: the batch's records (never their own members).
 */
async function planWithGuardMembers(
  tx: Executor,
  inputs: PlanInput[],
  context: bulk.PlanContext,
  model: MatchModel,
  exclude: string[],
): Promise<Plan> {
  // Active records the read holds of each identity: its candidates, and the batch's records that were in it.
  const candidates = new Map<string, string>();
  for (const list of context.storedByKey.values()) for (const c of list) candidates.set(c.recordId, c.identityId);
  const seen = new Map<string, number>();
  const count = (id: string) => seen.set(id, (seen.get(id) ?? 0) + 1);
  for (const identityId of candidates.values()) count(identityId);
  for (const x of inputs) if (x.currentIdentity && x.wasActive) count(x.currentIdentity);
  const unseen = (id: string) => (context.memberCount.get(id) ?? 0) > (seen.get(id) ?? 0);

  // Each pair scores the same in every round: score it once.
  const verdicts = new Map<string, PairVerdict>();
  const verdict = (input: PlanInput, c: StoredCandidate) => {
    const key = `${input.recordId}|${c.recordId}`;
    let v = verdicts.get(key);
    if (!v) verdicts.set(key, (v = scorePairVerdict(input.normalised, c.normalised, model)));
    return v;
  };
  const read = new Set<string>();
  const members: StoredMember[] = [];
  for (;;) {
    // The plan adds to the not-duplicate and open-review sets: each round starts from the read's.
    const state = {
      ...context,
      members,
      notDuplicates: new Set(context.notDuplicates),
      openReviews: new Set(context.openReviews),
      newId: () => timeOrderedUuid(),
      verdict,
    };
    const plan = planBatch(inputs, state, model);
    const missing = [...plan.guarded].filter((id) => !read.has(id) && unseen(id));
    if (missing.length === 0) return plan;
    for (const id of missing) read.add(id);
    members.push(...(await bulk.readGuardMembers(tx, missing, [...exclude, ...candidates.keys()])));
  }
}

/** Adds the batch's outcomes to its ingest run; a run that is not running rejects the batch. */
async function countRun(tx: Executor, runId: string, results: IngestResultData[]): Promise<void> {
  const counts: Record<string, number> = { recordsIn: results.length };
  for (const r of results) counts[r.outcome.toLowerCase()] = (counts[r.outcome.toLowerCase()] ?? 0) + 1;
  if (!(await bulk.addRunCounts(tx, runId, counts)))
    throw new ConflictError('RUN_NOT_RUNNING', 'Ingest run does not exist or has finished', 'runId');
}

/**
 * Locks the existing identities the plan links to and those its records leave (their golden records are rebuilt
 * too, so a concurrent delete or ingest must wait), redirecting any merged since it was read.
 */
export async function lockTargets(tx: Executor, ops: PlannedOp[], leaving: string[]): Promise<Map<string, string>> {
  const created = new Set(ops.flatMap((op) => (op.kind === 'CREATE_IDENTITY' ? [op.identityId] : [])));
  const targets = [
    ...leaving,
    ...ops.flatMap((op) => {
      if (op.kind === 'LINK') return [op.identityId];
      // Both sides of a merge: one sorted lock statement with the rest, so two merging ingests never wait in a cycle.
      if (op.kind === 'MERGE') return [op.survivorId, op.mergedId];
      return [];
    }),
  ].filter((id) => !created.has(id));
  const redirect = await bulk.survivorsOf(tx, targets);
  const survivors = [...redirect.entries()].flatMap(([id, survivor]) => (id === survivor ? [] : [survivor]));
  if (survivors.length > 0) await bulk.survivorsOf(tx, survivors);
  return redirect;
}

/** The two identities a review op compares, after redirects. */
function reviewPair(op: PlannedOp & { kind: 'REVIEW_RECORD' | 'REVIEW_DUPLICATE' }, target: (id: string) => string): [string, string] {
  return op.kind === 'REVIEW_RECORD'
    ? [target(op.target.identityId), target(op.recordIdentity)]
    : [target(op.identityA), target(op.candidate.identityId)];
}

/**
 * Ids for the review items the plan opens, by op index. A review whose two identities became one (a merge
 * redirected one into the other since the batch read them) is moot: it gets no id and is not written.
 */
export function planReviewIds(ops: PlannedOp[], target: (id: string) => string): Map<number, string> {
  const ids = new Map<number, string>();
  ops.forEach((op, index) => {
    if (op.kind !== 'REVIEW_RECORD' && op.kind !== 'REVIEW_DUPLICATE') return;
    const [a, b] = reviewPair(op, target);
    if (a !== b) ids.set(index, timeOrderedUuid());
  });
  return ids;
}

/** What a plan's ops write besides the records and their keys. */
export interface OpRows {
  newIdentities: string[];
  links: Array<typeof links.$inferInsert>;
  events: store.NewIdentityEvent[];
  changes: NewChange[];
  reviews: Array<typeof reviewItems.$inferInsert>;
  absorbed: Array<{ from: string; into: string; recordId: string }>;
}

export interface OpContext {
  target: (id: string) => string;
  reviewIds: Map<number, string>;
  events: store.NewIdentityEvent[];
  identityOfRecord: Map<string, string>;
}

/**
 * Writes the planned identities, links, events and review items of `rows` (see `opRows`) in one round trip,
 * identities first (links and reviews refer to them); the change events too when `writeChanges`.
 */
async function applyOps(tx: Executor, ops: PlannedOp[], rows: OpRows, options: BatchOptions & { writeChanges: boolean }): Promise<void> {
  // Pipelined in this order: the identities exist before the rows that refer to them.
  await Promise.all([
    bulk.insertIdentities(tx, rows.newIdentities),
    store.addEvents(tx, rows.events),
    options.writeChanges ? recordChanges(tx, rows.changes) : null,
    bulk.insertReviewItems(tx, rows.reviews),
    bulk.upsertLinks(tx, rows.links),
  ]);
  for (const a of rows.absorbed) {
    await store.markIdentityMerged(tx, a.from, a.into);
    // Its deleted records go along, as in any merge: one sent again must rejoin a live identity, not the retired one.
    await store.moveLinks(tx, a.from, a.into, null);
    await store.moveNotDuplicates(tx, a.from, a.into);
  }
  await writeMerges(tx, mergeOps(ops), { actor: options.actor, modelVersion: options.model.version });
}

/**
 * The rows a plan's ops write (the plan's events, then `extra.events`), built without I/O: the online batch
 * inserts them, the bulk load copies them.
 */
export function opRows(ops: PlannedOp[], extra: OpContext, options: Pick<BatchOptions, 'actor' | 'model'>): OpRows {
  const { actor, model } = options;
  const { target, reviewIds } = extra;
  const base = { actor: actor.actor, reason: actor.reason ?? null, modelVersion: model.version };
  const newIdentities: string[] = [];
  const linkRows = new Map<string, typeof links.$inferInsert>();
  const events: store.NewIdentityEvent[] = [];
  const reviews: Array<typeof reviewItems.$inferInsert> = [];
  const absorbed: Array<{ from: string; into: string; recordId: string }> = [];
  const changes: NewChange[] = [];
  const change = { actor: actor.actor, versions: { model: model.version } };
  ops.forEach((op, index) => {
    switch (op.kind) {
      case 'CREATE_IDENTITY':
        newIdentities.push(op.identityId);
        events.push({ ...base, identityId: op.identityId, type: 'CREATED', recordId: op.recordId });
        changes.push({ ...change, type: 'IDENTITY_CREATED', identityId: op.identityId, recordId: op.recordId });
        break;
      case 'LINK': {
        const identityId = target(op.identityId);
        const e = op.evidence;
        linkRows.set(op.recordId, {
          recordId: op.recordId,
          identityId,
          matchResult: op.matchResult,
          linkSource: 'AUTO',
          weight: e?.weight ?? null,
          probability: e?.probability ?? null,
          modelVersion: model.version,
        });
        events.push({
          ...base,
          identityId,
          type: 'LINKED',
          recordId: op.recordId,
          evidence: e
            ? { probability: e.probability, weight: e.weight, grade: e.grade, explanation: e.explanation, matchedRecordId: e.recordId }
            : { matchResult: op.matchResult },
        });
        changes.push({
          ...change,
          type: 'RECORD_LINKED',
          identityId,
          recordId: op.recordId,
          data: { matchResult: op.matchResult, linkSource: 'AUTO', ...(e ? { probability: e.probability, grade: e.grade } : {}) },
        });
        break;
      }
      case 'UNLINKED':
        events.push({
          ...base,
          identityId: op.fromIdentity,
          type: 'UNLINKED',
          recordId: op.recordId,
          reason: 'record changed and no longer matches its identity',
        });
        changes.push({
          ...change,
          type: 'RECORD_UNLINKED',
          identityId: op.fromIdentity,
          recordId: op.recordId,
          data: { fromIdentityId: op.fromIdentity, toIdentityId: extra.identityOfRecord.get(op.recordId) ?? null },
        });
        break;
      case 'ABSORB':
        absorbed.push({ from: op.fromIdentity, into: target(op.intoIdentity), recordId: op.recordId });
        events.push({
          ...base,
          identityId: op.fromIdentity,
          type: 'MERGED',
          otherIdentityId: target(op.intoIdentity),
          recordId: op.recordId,
          reason: 'its only record now matches another identity',
        });
        changes.push({
          ...change,
          type: 'IDENTITIES_MERGED',
          identityId: op.fromIdentity,
          data: { retiredId: op.fromIdentity, survivingId: target(op.intoIdentity) },
        });
        break;
      case 'REVIEW_RECORD':
      case 'REVIEW_DUPLICATE': {
        const id = reviewIds.get(index);
        if (id === undefined) break;
        const c = op.kind === 'REVIEW_RECORD' ? op.target : op.candidate;
        const [identityA, identityB] = reviewPair(op, target);
        reviews.push({
          id,
          kind: op.kind === 'REVIEW_RECORD' ? 'RECORD_MATCH' : 'POSSIBLE_DUPLICATE',
          recordId: op.recordId,
          identityA,
          identityB,
          probability: c.probability,
          weight: c.weight,
          priority: op.kind === 'REVIEW_RECORD' ? op.priority : 0.5,
          explanation: { ...c.explanation, blockers: c.blockers },
          modelVersion: model.version,
        });
        changes.push({
          ...change,
          type: 'REVIEW_OPENED',
          identityId: identityA,
          recordId: op.recordId,
          data: {
            reviewItemId: id,
            kind: op.kind === 'REVIEW_RECORD' ? 'RECORD_MATCH' : 'POSSIBLE_DUPLICATE',
            identityA,
            identityB,
            probability: c.probability,
          },
        });
        break;
      }
    }
  });
  for (const e of extra.events) {
    if (e.type === 'LINKED')
      changes.push({ ...change, type: 'RECORD_LINKED', identityId: e.identityId, recordId: e.recordId ?? null, data: { restored: true } });
  }
  return { newIdentities, links: [...linkRows.values()], events: [...events, ...extra.events], changes, reviews, absorbed };
}

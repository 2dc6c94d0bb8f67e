import { verdictOf, type MatchModel, type NormalisedRecord, type PairVerdict } from '../matching/index.ts';
import {
  finishIngestRun,
  getIngestRun,
  GOLDEN_FIELDS,
  loadActivePolicy,
  planGoldenRows,
  rebuildGoldenMany,
  startIngestRun,
  type Contributor,
} from '../lineage/index.ts';
import { appendAuditInTransaction } from '../platform/audit.ts';
import type { Executor } from '../platform/db/client.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import { ConflictError, ValidationError } from '../platform/errors.ts';
import * as bulk from './bulk-store.ts';
import type { PlanContext } from './bulk-store.ts';
import { copyChunk, indexIsEmpty, provenanceClock } from './bulk-load-store.ts';
import { lockTargets, opRows, planReviewIds, recordRow, type PreparedRecord } from './ingest-batch.ts';
import {
  CandidateIndex,
  planBatch,
  type PlanInput,
  type PlannedOp,
  type PlannedRecord,
  type StoredCandidate,
  type StoredMember,
} from './plan.ts';
import type { IdentityService } from './service.ts';
import * as store from './store.ts';
import { MAX_CANDIDATES_PER_KEY } from './store.ts';
import type { Actor, SourceRecordInput } from './types.ts';

/** One row of an input file: where it came from (for the report) and the record it carries. */
export interface LoadRow {
  file: string;
  line: number;
  input: SourceRecordInput;
}

/** A row that was not loaded: which file and line, which field, why. Never the value. */
export interface LoadProblem {
  file: string;
  line: number;
  field: string;
  code: string;
  message: string;
}

export interface BulkLoadOptions {
  actor: Actor;
  /** The role the audit entries name (the CLI works on the database directly: admin). */
  role?: string;
  /** Records written per transaction (default DEFAULT_CHUNK_SIZE). */
  chunkSize?: number | undefined;
  /** The ingest run's job name. */
  job?: string;
  /** Problems found while reading the files (already excluded from `rows`), reported with the run. */
  problems?: LoadProblem[];
  onProgress?: ((stage: 'prepare' | 'load', done: number, total: number) => void) | undefined;
  /** Runs last in each chunk's transaction (tests inject failures here). */
  beforeChunkCommit?: ((tx: Executor, chunk: number) => Promise<void>) | undefined;
  /** Connections for the candidate read beside each chunk's transaction (`DatabaseHandle.reader`). */
  reader?: Executor | undefined;
  /**
   * Scores the load's pairs elsewhere (the batch engine's threads: `LinkThreads.scorePairs`) before it is
   * planned; without it the planner scores each pair as it meets it. The plan is the same either way.
   */
  scorePairs?: PairScorer | undefined;
}

/** Weight and conflict bits of each pair `(pairA[k], pairB[k])` of `records` (see `scorePairRange`). */
export type PairScorer = (
  records: NormalisedRecord[],
  model: MatchModel,
  pairs: { pairA: Int32Array; pairB: Int32Array },
) => Promise<{ weights: Float64Array; conflicts: Uint32Array }>;

export interface BulkLoadSummary {
  runId: string;
  rows: number;
  /** Records written by the bulk path (new to the index). */
  loaded: number;
  created: number;
  linked: number;
  review: number;
  unchanged: number;
  /** Records already stored with other content, ingested through the online path. */
  updated: number;
  rejected: number;
  chunks: number;
  problems: LoadProblem[];
  seconds: number;
  /**
   * Seconds per stage: `read` (parsing the files, by the caller), `check` (validate, normalise, find what is
   * stored), `plan`, `write` (the chunks).
   */
  phases: Record<LoadPhase, number>;
}

export type LoadPhase = 'read' | 'check' | 'plan' | 'write';

/** Wall-clock seconds per stage, each ending where the next begins. */
class PhaseClock {
  readonly seconds: Record<LoadPhase, number> = { read: 0, check: 0, plan: 0, write: 0 };
  private last = performance.now();

  end(phase: LoadPhase): void {
    const now = performance.now();
    this.seconds[phase] += (now - this.last) / 1000;
    this.last = now;
  }
}

/** Records per chunk transaction: large enough to amortise each statement, small enough to resume cheaply. */
export const DEFAULT_CHUNK_SIZE = 20_000;
/** Records looked up per statement when checking what the index holds already. */
const LOOKUP_SLICE = 10_000;
/** Records per online batch for records the index holds with other content (the API's batch limit). */
const ONLINE_BATCH = 500;

/**
 * Loads many records at once: validates and normalises them as online ingest does, skips what is stored
 * already (same source, local id and content), then plans each chunk with the online planner against the
 * stored identities (earlier chunks included) and writes it in one transaction, with COPY on PostgreSQL. A
 * failed chunk leaves nothing behind; a re-run skips the chunks that committed. Records the index holds with
 * other content go through the online batch path, which re-evaluates their links.
 */
export async function bulkLoad(service: IdentityService, rows: LoadRow[], options: BulkLoadOptions): Promise<BulkLoadSummary> {
  const started = performance.now();
  const model = await service.models.active();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const problems: LoadProblem[] = [...(options.problems ?? [])];
  const phases = new PhaseClock();
  const prepared = prepareRows(service, rows, model, problems, options.onProgress);
  const codes = [...new Set(prepared.map((p) => p.record.source))];
  const sourceIds = await service.transaction(async (tx) => {
    const found = await bulk.findSources(tx, codes);
    const ids = new Map<string, string>();
    for (const code of codes) ids.set(code, await service.checkSource(tx, code, found.get(code) ?? null));
    return ids;
  });
  const run = await startIngestRun(service.db, {
    sourceId: codes.length === 1 ? sourceIds.get(codes[0]!)! : null,
    job: options.job ?? 'bulk-load',
    facets: { bulkLoad: { chunkSize, sources: codes } },
  });
  const summary: BulkLoadSummary = {
    runId: run.id,
    rows: rows.length + (options.problems?.length ?? 0),
    loaded: 0,
    created: 0,
    linked: 0,
    review: 0,
    unchanged: 0,
    updated: 0,
    rejected: 0,
    chunks: 0,
    problems,
    seconds: 0,
    phases: phases.seconds,
  };
  try {
    const { fresh, changed, unchanged } = await classify(service.db, prepared);
    summary.unchanged = unchanged;
    if (unchanged > 0) await service.transaction((tx) => bulk.addRunCounts(tx, run.id, { recordsIn: unchanged, unchanged }));
    const policy = await loadActivePolicy(service.db);
    const trust = new Map([...(await bulk.findSources(service.db, codes)).values()].map((s) => [s.id, s.trustRank]));
    const stored = await readStoredContext(service.db, fresh, options.reader);
    phases.end('check');
    const chunks = await planLoad(fresh, stored, model, chunkSize, options.scorePairs);
    phases.end('plan');
    const context = { service, model, policy, runId: run.id, sourceIds, trust, options };
    const total = fresh.length + changed.length;
    // Each chunk is let go once written, so a large load's memory falls as it goes.
    prepared.length = 0;
    fresh.length = 0;
    let done = 0;
    for (let index = 0, chunk = chunks.shift(); chunk; index += 1, chunk = chunks.shift()) {
      const counts = await writeChunk(context, chunk, index);
      summary.loaded += counts.recordsIn ?? 0;
      summary.created += counts.created ?? 0;
      summary.linked += counts.linked ?? 0;
      summary.review += counts.review ?? 0;
      summary.chunks += 1;
      done += chunk.rows.length;
      options.onProgress?.('load', done, total);
    }
    for (let start = 0; start < changed.length; start += ONLINE_BATCH) {
      const batch = changed.slice(start, start + ONLINE_BATCH).map((p) => p.record.input);
      for (const r of await service.ingestMany(batch, options.actor, { runId: run.id })) {
        if (r.outcome === 'UNCHANGED') summary.unchanged += 1;
        else summary.updated += 1;
      }
      options.onProgress?.('load', done + start + batch.length, total);
    }
    summary.rejected = problems.length;
    await finish(service, run.id, summary, 'COMPLETED');
    phases.end('write');
  } catch (error) {
    summary.rejected = problems.length;
    await finish(service, run.id, summary, 'FAILED').catch(() => undefined);
    throw error;
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

interface PreparedRow {
  file: string;
  line: number;
  record: PreparedRecord;
}

/** Validates and normalises every row as online ingest does; a bad row becomes a problem naming its field. */
function prepareRows(
  service: IdentityService,
  rows: LoadRow[],
  model: MatchModel,
  problems: LoadProblem[],
  onProgress: BulkLoadOptions['onProgress'],
): PreparedRow[] {
  const out: PreparedRow[] = [];
  const seen = new Map<string, LoadRow>();
  rows.forEach((row, i) => {
    try {
      const record = service.prepare(row.input, model, 'input');
      const ref = `${record.source}\u0000${record.localId}`;
      const first = seen.get(ref);
      if (first) {
        problems.push({
          file: row.file,
          line: row.line,
          field: 'localId',
          code: 'DUPLICATE_ID',
          message: `the same source and id are on line ${first.line} of ${first.file}; only the first is loaded`,
        });
        return;
      }
      seen.set(ref, row);
      out.push({ file: row.file, line: row.line, record });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const p of error.problems)
        problems.push({ file: row.file, line: row.line, field: p.field.replace(/^input\./, ''), code: p.code, message: p.message });
    }
    if ((i + 1) % 50_000 === 0) onProgress?.('prepare', i + 1, rows.length);
  });
  return out;
}

/** Splits the rows into new records, records stored with other content, and the number stored unchanged. */
async function classify(
  db: Executor,
  prepared: PreparedRow[],
): Promise<{ fresh: PreparedRow[]; changed: PreparedRow[]; unchanged: number }> {
  if (await indexIsEmpty(db)) return { fresh: prepared, changed: [], unchanged: 0 };
  const fresh: PreparedRow[] = [];
  const changed: PreparedRow[] = [];
  let unchanged = 0;
  for (let start = 0; start < prepared.length; start += LOOKUP_SLICE) {
    const slice = prepared.slice(start, start + LOOKUP_SLICE);
    const known = await bulk.findRecordsBySource(
      db,
      slice.map((p) => ({ code: p.record.source, localId: p.record.localId })),
    );
    slice.forEach((p, i) => {
      const k = known[i];
      if (!k) fresh.push(p);
      else if (k.link && !k.record.deleted && k.record.contentHash === p.record.hash) unchanged += 1;
      else changed.push(p);
    });
  }
  return { fresh, changed, unchanged };
}

interface ChunkContext {
  service: IdentityService;
  model: MatchModel;
  policy: Awaited<ReturnType<typeof loadActivePolicy>>;
  runId: string;
  sourceIds: Map<string, string>;
  /** Trust rank of each source id, for survivorship. */
  trust: Map<string, number>;
  options: BulkLoadOptions;
}

/** What the planner reads of the index: empty for an empty index, else read in slices of the load's keys. */
async function readStoredContext(db: Executor, fresh: PreparedRow[], reader: Executor | undefined): Promise<PlanContext> {
  const context: PlanContext = {
    storedByKey: new Map(),
    members: [],
    memberCount: new Map(),
    notDuplicates: new Set(),
    openReviews: new Set(),
  };
  if (fresh.length === 0 || (await indexIsEmpty(db))) return context;
  const seenByKey = new Map<string, Set<string>>();
  const members = new Map<string, StoredMember>();
  for (let start = 0; start < fresh.length; start += LOOKUP_SLICE) {
    const keys = fresh.slice(start, start + LOOKUP_SLICE).flatMap((p) => p.record.keys);
    const part = await bulk.loadPlanContext(db, { keys, exclude: [], currentIds: [], recordIds: [] }, reader);
    for (const [key, list] of part.storedByKey) {
      const seen = seenByKey.get(key) ?? new Set<string>();
      seenByKey.set(key, seen);
      const into = context.storedByKey.get(key) ?? [];
      context.storedByKey.set(key, into);
      for (const c of list) {
        if (seen.has(c.recordId)) continue;
        seen.add(c.recordId);
        into.push(c);
      }
    }
    for (const m of part.members) members.set(m.recordId, m);
    for (const [id, n] of part.memberCount) context.memberCount.set(id, n);
    for (const r of part.openReviews) context.openReviews.add(r);
  }
  const candidates = new Set([...context.storedByKey.values()].flatMap((list) => list.map((c) => c.recordId)));
  context.members = [...members.values()].filter((m) => !candidates.has(m.recordId));
  return context;
}

/** One chunk of the load: its rows, their new record ids, and the part of the plan that places them. */
interface PlannedChunk {
  rows: PreparedRow[];
  ids: string[];
  ops: PlannedOp[];
  /** The plan's decision for each row, in the order of `rows`. */
  records: PlannedRecord[];
}

/**
 * Plans the whole load as one batch of the online planner (each record meets the stored records and those
 * before it, with online ingest's cap per key), then cuts the plan into chunks along identities: the records
 * of an identity the load creates, the records joining one stored identity, and identities a review relates,
 * all go into one chunk (see `chunkGroups`). So a committed chunk holds whole identities: their golden
 * records are built once, from all their records, and a chunk that rolls back takes whole identities with it.
 */
async function planLoad(
  fresh: PreparedRow[],
  stored: PlanContext,
  model: MatchModel,
  chunkSize: number,
  scorePairs: PairScorer | undefined,
): Promise<PlannedChunk[]> {
  const ids = fresh.map(() => timeOrderedUuid());
  const inputs: PlanInput[] = fresh.map((p, i) => ({
    index: i,
    recordId: ids[i]!,
    normalised: p.record.normalised,
    keys: p.record.keys,
    currentIdentity: null,
    wasActive: false,
  }));
  const verdict = scorePairs ? await scoreAhead(inputs, stored, model, scorePairs) : undefined;
  const plan = planBatch(
    inputs,
    // New identities are copied, never updated: a record bridging two of them opens a review, as before.
    {
      ...stored,
      newId: () => timeOrderedUuid(),
      maxPlacedPerKey: MAX_CANDIDATES_PER_KEY,
      keepCandidates: false,
      mergeIdentities: false,
      verdict,
    },
    model,
  );
  const { chunkOfRecord, count } = chunkGroups(plan, ids, chunkSize);
  const chunks: PlannedChunk[] = Array.from({ length: count }, () => ({ rows: [], ids: [], ops: [], records: [] }));
  for (const r of plan.records) {
    const chunk = chunks[chunkOfRecord[r.index]!]!;
    chunk.rows.push(fresh[r.index]!);
    chunk.ids.push(ids[r.index]!);
    chunk.records.push(r);
  }
  const chunkOfIdentity = new Map(plan.records.map((r) => [r.identityId, chunkOfRecord[r.index]!]));
  const recordIndex = new Map(ids.map((id, i) => [id, i]));
  // An op goes with its record, or later when it names an identity of a later chunk (only reviews can).
  for (const op of plan.ops) {
    const named = opIdentities(op).map((id) => chunkOfIdentity.get(id) ?? 0);
    chunks[Math.max(chunkOfRecord[recordIndex.get(op.recordId)!]!, ...named)]!.ops.push(op);
  }
  return chunks;
}

/**
 * Lists every pair the planner will score (`CandidateIndex` in plan order: which records meet depends on the
 * keys and the order only), has `scorePairs` score them, and returns the planner's `verdict`, which hands back
 * each pair's score as the planner meets it, in the same order.
 */
async function scoreAhead(
  inputs: PlanInput[],
  stored: PlanContext,
  model: MatchModel,
  scorePairs: PairScorer,
): Promise<(input: PlanInput, candidate: StoredCandidate) => PairVerdict> {
  const records = inputs.map((x) => x.normalised);
  const slot = new Map(inputs.map((x, i) => [x.recordId, i]));
  const slotOf = (c: StoredCandidate) => {
    let at = slot.get(c.recordId);
    if (at === undefined) slot.set(c.recordId, (at = records.push(c.normalised) - 1));
    return at;
  };
  const a: number[] = [];
  const b: number[] = [];
  const index = new CandidateIndex(stored.storedByKey, MAX_CANDIDATES_PER_KEY);
  inputs.forEach((input, i) => {
    for (const c of index.candidates(input)) {
      a.push(i);
      b.push(slotOf(c));
    }
    index.place({ recordId: input.recordId, identityId: '', normalised: input.normalised, keys: input.keys });
  });
  const pairs = { pairA: Int32Array.from(a), pairB: Int32Array.from(b) };
  a.length = 0;
  b.length = 0;
  const { weights, conflicts } = await scorePairs(records, model, pairs);
  let k = 0;
  return (input, candidate) => {
    if (pairs.pairA[k] !== input.index || pairs.pairB[k] !== slot.get(candidate.recordId))
      throw new Error('scored pairs are out of step with the plan');
    const verdict = verdictOf(weights[k]!, conflicts[k]!, input.normalised, candidate.normalised, model);
    k += 1;
    return verdict;
  };
}

/** The identities an op of a new record names. */
function opIdentities(op: PlannedOp): string[] {
  switch (op.kind) {
    case 'REVIEW_RECORD':
      return [op.recordIdentity, op.target.identityId];
    case 'REVIEW_DUPLICATE':
      return [op.identityA, op.candidate.identityId];
    case 'CREATE_IDENTITY':
    case 'LINK':
      return [op.identityId];
    default:
      return [];
  }
}

/**
 * The chunk of each record of a plan: records are grouped by the identity they end in, and groups a review
 * relates are joined (union-find), so both sides of a review are written, and the review with them, in one
 * chunk; groups follow the file order of their first record and fill chunks of about `chunkSize` records (a
 * group is never split: a chunk is larger only when one group is).
 */
function chunkGroups(
  plan: { records: PlannedRecord[]; ops: PlannedOp[] },
  ids: string[],
  chunkSize: number,
): { chunkOfRecord: Int32Array; count: number } {
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let r = id;
    while (parent.has(r)) r = parent.get(r)!;
    for (let x = id; x !== r;) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const placed = new Set(plan.records.map((r) => r.identityId));
  for (const op of plan.ops) {
    if (op.kind !== 'REVIEW_RECORD' && op.kind !== 'REVIEW_DUPLICATE') continue;
    // Only identities the load places records in: a stored identity a review names is written already.
    const [a, b] = opIdentities(op)
      .filter((id) => placed.has(id))
      .map(root);
    if (a !== undefined && b !== undefined && a !== b) parent.set(b, a);
  }
  const groups = new Map<string, number[]>();
  for (const r of plan.records) {
    const key = root(r.identityId);
    const members = groups.get(key);
    if (members) members.push(r.index);
    else groups.set(key, [r.index]);
  }
  const chunkOfRecord = new Int32Array(ids.length);
  let chunk = 0;
  let size = 0;
  for (const members of groups.values()) {
    if (size > 0 && size + members.length > chunkSize) {
      chunk += 1;
      size = 0;
    }
    for (const i of members) chunkOfRecord[i] = chunk;
    size += members.length;
  }
  return { chunkOfRecord, count: groups.size === 0 ? 0 : chunk + 1 };
}

/**
 * Writes one planned chunk in one transaction: records, keys, identities with their golden records and
 * provenance, links, events, reviews, change events, the run's counts and the audit entry. Refuses (and so
 * rolls back) when another writer stored one of its records since the load began: a re-run continues.
 */
async function writeChunk(context: ChunkContext, chunk: PlannedChunk, index: number): Promise<Record<string, number>> {
  const { service, model, runId, options, policy } = context;
  return service.transaction(async (tx) => {
    const records = chunk.rows.map((r) => r.record);
    // Every key of a chunk: more than any per-key lock set, so this takes the ingest lock exclusively.
    await store.lockKeys(tx, [...records.map((p) => store.recordLockKey(p.source, p.localId)), ...records.flatMap((p) => p.keys)]);
    const known = await bulk.findRecordsBySource(
      tx,
      records.map((p) => ({ code: p.source, localId: p.localId })),
    );
    if (known.some((k) => k !== undefined))
      throw new ConflictError(
        'LOAD_CONFLICT',
        'records of this load were stored by another writer while it ran; run the load again',
        'localId',
      );
    const redirect = await lockTargets(tx, chunk.ops, []);
    const target = (id: string) => redirect.get(id) ?? id;
    const reviewIds = planReviewIds(chunk.ops, target);
    const identityOfRecord = new Map<string, string>();
    chunk.records.forEach((r, i) => identityOfRecord.set(chunk.ids[i]!, target(r.identityId)));
    const rows = opRows(chunk.ops, { target, reviewIds, events: [], identityOfRecord }, { actor: options.actor, model });
    const now = await provenanceClock(tx);
    const created = new Set(rows.newIdentities);
    const contributors = new Map<string, Contributor[]>();
    records.forEach((p, i) => {
      const identityId = identityOfRecord.get(chunk.ids[i]!)!;
      if (!created.has(identityId)) return;
      const sourceId = context.sourceIds.get(p.source)!;
      const values = Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, (p.clean as Record<string, string | null>)[f] ?? null]));
      const contributor = {
        recordId: chunk.ids[i]!,
        sourceId,
        trustRank: context.trust.get(sourceId) ?? 0,
        updatedAt: new Date(now),
        values,
      };
      contributors.set(identityId, [...(contributors.get(identityId) ?? []), contributor]);
    });
    const golden = planGoldenRows([...created].sort(), contributors, new Map(), { policy, ingestRunId: runId, now });
    await copyChunk(tx, {
      records: records.map((p, i) => recordRow(p, chunk.ids[i]!, context.sourceIds.get(p.source)!, runId)),
      keys: records.map((p, i) => ({ recordId: chunk.ids[i]!, keys: p.keys })),
      ops: rows,
      golden,
      goldenChange: { actor: options.actor.actor, policyVersion: policy.version },
    });
    const existing = [...new Set(identityOfRecord.values())].filter((id) => !created.has(id));
    await rebuildGoldenMany(tx, existing, { policy, ingestRunId: runId, actor: options.actor.actor });
    const counts: Record<string, number> = { recordsIn: records.length, chunks: 1 };
    for (const r of chunk.records) counts[r.outcome.toLowerCase()] = (counts[r.outcome.toLowerCase()] ?? 0) + 1;
    await bulk.addRunCounts(tx, runId, counts);
    await options.beforeChunkCommit?.(tx, index);
    // Last: the audit chain's lock is held from here to the commit.
    await appendAuditInTransaction(tx, {
      actor: options.actor.actor,
      role: options.role ?? 'admin',
      action: 'bulkLoad',
      objectType: 'record',
      objectIds: chunk.ids,
      outcome: 'SUCCESS',
      requestId: options.actor.requestId ?? null,
      details: { runId, chunk: index, records: records.length },
    });
    return counts;
  });
}

/** Ends the run with the counts its chunks added and the problems found while reading. */
async function finish(service: IdentityService, runId: string, summary: BulkLoadSummary, status: 'COMPLETED' | 'FAILED'): Promise<void> {
  const run = await getIngestRun(service.db, runId);
  const counts = { ...(run?.counts ?? {}), rejected: summary.rejected };
  await finishIngestRun(
    service.db,
    runId,
    counts,
    summary.problems.map((p) => ({ line: p.line, field: p.field, code: p.code, message: `${p.file}: ${p.message}` })),
    status,
  );
}

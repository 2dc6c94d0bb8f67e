import { scorePairVerdict, verdictOf, type MatchModel, type NormalisedRecord } from '../matching/index.ts';
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
import { sqlState } from '../platform/db/retry.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import { ConflictError, ValidationError } from '../platform/errors.ts';
import * as bulk from './bulk-store.ts';
import type { PlanContext } from './bulk-store.ts';
import { copyChunk, indexIsEmpty, provenanceClock, readKeyHashesStoredSince, readStoredKeyHashes } from './bulk-load-store.ts';
import { auditMerges, checkMerges, mergedTarget, mergeOps, writeMerges } from './auto-merge.ts';
import { LoadIndex, StoredKeyFilter } from './bulk-index.ts';
import { lockTargets, opRows, planReviewIds, recordRow, type PreparedRecord } from './ingest-batch.ts';
import {
  CandidateIndex,
  planBatch,
  type PlanInput,
  type PlannedOp,
  type PlannedRecord,
  type PlanState,
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
  /** Records read, planned and written together (default DEFAULT_WINDOW): the load holds one window at a time. */
  window?: number | undefined;
  /** The source codes the rows name (checked before the run starts); default: those of `rows`, given as an array. */
  sources?: string[] | undefined;
  /** The ingest run's job name. */
  job?: string;
  /**
   * Problems found while reading the files (such rows are not in `rows`), reported with the run; the reader may
   * add to the list while the load runs, and the load adds the rows it refuses.
   */
  problems?: LoadProblem[];
  /** Progress of the load: records written, of about `total` (estimated while the files are read). */
  onProgress?: ((stage: 'prepare' | 'load', done: number, total: number) => void) | undefined;
  /** The number of rows the files hold, estimated from what has been read so far (for progress). */
  expectedRows?: (() => number) | undefined;
  /**
   * Records per transaction while online ingest waits for the load: when a chunk sees another session hold or
   * wait for the ingest lock, the next chunks are cut to about this size (whole identities still) until none is
   * seen for `giveWayMs`. 0: never (the embedded database, which has one session). Default
   * DEFAULT_GIVE_WAY_CHUNK_SIZE.
   */
  giveWayChunkSize?: number | undefined;
  /** How long the load keeps giving way after it last saw online ingest (default GIVE_WAY_MS; tests shorten it). */
  giveWayMs?: number | undefined;
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
   * Seconds per stage, summed over the windows: `read` (parsing the files), `check` (validate, normalise, find
   * what is stored), `plan`, `write` (the chunks).
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
/**
 * Records per transaction at most while online ingest waits. Such a chunk locks only its keys when they fit
 * (LOAD_KEY_LOCKS, with those of the newcomers it meets), so online ingest of other patients goes on beside it;
 * one that does not fit holds the ingest lock exclusively while it writes, and an online call then waits for one
 * such chunk at most instead of a whole one.
 */
export const DEFAULT_GIVE_WAY_CHUNK_SIZE = 50;
/**
 * Most key locks a give-way chunk takes (about 60 records' keys). PostgreSQL's shared lock table holds 64 locks
 * per connection by default (6,400 with 100 connections); one load's chunk beside every pool connection at
 * `store.MAX_KEY_LOCKS` stays well inside it.
 */
export const LOAD_KEY_LOCKS = 4 * store.MAX_KEY_LOCKS;
/** How long a load keeps its chunks small after it last saw online ingest wait. */
const GIVE_WAY_MS = 5_000;
/**
 * Records per window: what the load holds in full at a time (tens of KB a record at peak while it is planned
 * and written); the records of earlier windows are held only in compact form (`LoadIndex`). As large as a
 * chunk, so a window is written in one chunk unless an identity's group makes it larger.
 */
export const DEFAULT_WINDOW = 20_000;
/** Records looked up per statement when checking what the index holds already. */
const LOOKUP_SLICE = 10_000;
/** Records per online batch for records the index holds with other content (the API's batch limit). */
const ONLINE_BATCH = 500;
/** Further members of an identity the merge guard is given besides its candidates (as the stored read caps them). */
const MAX_GUARD_MEMBERS = 100;

/**
 * Loads many records at once, a window of rows at a time: validates and normalises them as online ingest does,
 * skips what is stored already (same source, local id and content), plans the window with the online planner
 * against the identities stored before the load and the load's earlier windows, and writes it in chunks of whole
 * identities, one transaction each, with COPY on PostgreSQL. A failed chunk leaves nothing behind; a re-run
 * skips the chunks that committed. Records the index holds with other content go through the online batch path,
 * which re-evaluates their links.
 */
export async function bulkLoad(
  service: IdentityService,
  rows: Iterable<LoadRow> | AsyncIterable<LoadRow>,
  options: BulkLoadOptions,
): Promise<BulkLoadSummary> {
  const started = performance.now();
  const model = await service.models.active();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const windowSize = options.window ?? DEFAULT_WINDOW;
  // The caller's list: rows found bad while the files are read are added to it as the load goes.
  const problems: LoadProblem[] = options.problems ?? [];
  const phases = new PhaseClock();
  const codes = sourceCodes(rows, options.sources);
  const sources = new Sources(service);
  await sources.check(codes);
  const run = await startIngestRun(service.db, {
    sourceId: codes.length === 1 ? sources.ids.get(codes[0]!)! : null,
    job: options.job ?? 'bulk-load',
    facets: { bulkLoad: { chunkSize, window: windowSize, sources: codes } },
  });
  const summary: BulkLoadSummary = {
    runId: run.id,
    rows: 0,
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
    const since = await service.transaction(store.storedSinceMark);
    const load: LoadState = {
      service,
      model,
      policy: await loadActivePolicy(service.db),
      runId: run.id,
      sources,
      options,
      chunkSize,
      storedKeys: (await indexIsEmpty(service.db)) ? null : await storedKeyFilter(service.db),
      keysSince: since,
      since,
      newcomers: new Map(),
      newcomerVersions: new Map(),
      givingWayUntil: 0,
      index: new LoadIndex(MAX_CANDIDATES_PER_KEY, MAX_GUARD_MEMBERS),
      seen: new Map(),
      files: [],
      problems,
      phases,
      summary,
      chunk: 0,
      refused: 0,
    };
    phases.end('check');
    let window: LoadRow[] = [];
    for await (const row of rows) {
      window.push(row);
      if (window.length < windowSize) continue;
      await loadWindow(load, window);
      window = [];
    }
    await loadWindow(load, window);
    // Rows the reader refused never reached the load: count them among the rows.
    summary.rows += problems.length - load.refused;
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

/** The source codes of a load: given, or those the rows name. */
function sourceCodes(rows: Iterable<LoadRow> | AsyncIterable<LoadRow>, given: string[] | undefined): string[] {
  const named = given ?? (Array.isArray(rows) ? (rows as LoadRow[]).map((r) => r.input.source) : []);
  return [...new Set(named.filter((c): c is string => typeof c === 'string').map((c) => c.trim()))];
}

/** The load's sources: ids and trust ranks, checked (or registered) as their codes appear. */
class Sources {
  readonly ids = new Map<string, string>();
  readonly trust = new Map<string, number>();

  constructor(private readonly service: IdentityService) {}

  async check(codes: string[]): Promise<void> {
    const missing = codes.filter((c) => !this.ids.has(c));
    if (missing.length === 0) return;
    await this.service.transaction(async (tx) => {
      const found = await bulk.findSources(tx, missing);
      for (const code of missing) this.ids.set(code, await this.service.checkSource(tx, code, found.get(code) ?? null));
    });
    for (const s of (await bulk.findSources(this.service.db, missing)).values()) this.trust.set(s.id, s.trustRank);
  }
}

/** What a load carries from window to window. */
interface LoadState {
  service: IdentityService;
  model: MatchModel;
  policy: Awaited<ReturnType<typeof loadActivePolicy>>;
  runId: string;
  sources: Sources;
  options: BulkLoadOptions;
  chunkSize: number;
  /**
   * The keys of records others stored: those stored when the load began, and those stored since, added as each
   * window begins. Only keys it may hold are looked up in the database. Null when the index held no record when
   * the load began: then nothing stored is a candidate or a repeat, and no window reads what is stored.
   */
  storedKeys: StoredKeyFilter | null;
  /** The keys of records others stored at or after this moment are not in `storedKeys` yet. */
  keysSince: Date;
  /**
   * Records others stored at or after this moment are not in `newcomers` yet (`storedSinceMark`): the moment the
   * last chunk took the ingest lock, or the window's start.
   */
  since: Date;
  /**
   * Records others stored that the plan may not know: since the load's start when the index was empty then (no
   * window reads what is stored), else since the window's start. Each chunk places those sharing its keys again.
   */
  newcomers: Map<string, PreparedRecord>;
  /** The version of each newcomer that was prepared (`StoredVersion`). */
  newcomerVersions: Map<string, string>;
  /** Until when (performance.now()) chunks are cut to `giveWayChunkSize`: online ingest was seen waiting. */
  givingWayUntil: number;
  /** The load's records so far, in compact form. */
  index: LoadIndex;
  /** Where each (source, local id) was first seen: file number times 2^32 plus line. */
  seen: Map<string, number>;
  files: string[];
  problems: LoadProblem[];
  phases: PhaseClock;
  summary: BulkLoadSummary;
  /** Chunks written so far. */
  chunk: number;
  /** Rows the load refused (each with one or more problems). */
  refused: number;
}

/** Checks, plans and writes one window of rows; afterwards only the load index remembers them. */
async function loadWindow(load: LoadState, rows: LoadRow[]): Promise<void> {
  const { service, summary, phases, options, storedKeys } = load;
  phases.end('read');
  summary.rows += rows.length;
  if (storedKeys) {
    // What the window reads below includes all that was stored before this moment.
    load.since = await service.transaction(store.storedSinceMark);
    load.newcomers.clear();
    load.newcomerVersions.clear();
    await readKeyHashesStoredSince(service.db, load.keysSince, load.runId, (hi, lo) => storedKeys.addWords(hi, lo));
    load.keysSince = load.since;
  }
  const prepared = prepareRows(load, rows);
  await load.sources.check([...new Set(prepared.map((p) => p.record.source))]);
  const { fresh, changed, unchanged } = storedKeys ? await classify(service.db, prepared) : { fresh: prepared, changed: [], unchanged: 0 };
  summary.unchanged += unchanged;
  if (unchanged > 0) await service.transaction((tx) => bulk.addRunCounts(tx, load.runId, { recordsIn: unchanged, unchanged }));
  const keys = fresh.flatMap((p) => p.record.keys);
  const storedIdentities = storedKeys ? load.index.storedIdentitiesOf(keys) : [];
  const stored = storedKeys
    ? await readStoredContext(service.db, fresh, { reader: options.reader, run: load.runId, memberIds: storedIdentities, storedKeys })
    : emptyContext();
  const view = load.index.view(keys, (key) => stored.storedByKey.get(key)?.length ?? 0);
  const context = load.index.context(view, stored, storedIdentities);
  phases.end('check');
  const ids = fresh.map(() => timeOrderedUuid());
  const { plan, chunks } = await planWindow(fresh, ids, context, load.model, load.chunkSize, options.scorePairs);
  load.index.add({ recordIds: ids, normalised: fresh.map((p) => p.record.normalised), keys: fresh.map((p) => p.record.keys) }, plan);
  for (const review of context.openReviews) load.index.openReviews.add(review);
  phases.end('plan');
  const giveWaySize = options.giveWayChunkSize ?? DEFAULT_GIVE_WAY_CHUNK_SIZE;
  const giveWay = () => (load.givingWayUntil = performance.now() + (options.giveWayMs ?? GIVE_WAY_MS));
  for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
    if (giveWaySize > 0 && (chunk.rows.length > giveWaySize || performance.now() < load.givingWayUntil)) {
      // What others stored since the last chunk, read outside the lock: the chunk's transaction then reads only
      // what was stored or changed since.
      const stored = await bulk.recordsStoredSince(service.db, load.since, load.runId);
      // Online ingest stored records since the last chunk: it is running, and would wait for a whole chunk.
      if (chunk.rows.length > giveWaySize && performance.now() >= load.givingWayUntil && stored.length > 0) giveWay();
      // So that the cut weighs the newcomers the chunk meets.
      if (performance.now() < load.givingWayUntil) await addNewcomers(load, service.db, stored);
    }
    const givingWay = giveWaySize > 0 && performance.now() < load.givingWayUntil;
    if (givingWay) {
      const [first, ...rest] = giveWayCut(load, chunk, ids, giveWaySize);
      chunks.unshift(...rest);
      chunk = first!;
    }
    // Giving way, a chunk locks only its keys when they fit; else (and should they stop fitting, or the server's
    // lock table be full: "out of shared memory") the ingest lock.
    const records = recordsOf(chunk);
    const meeting = givingWay ? newcomersMeeting(load, records) : [];
    const keyed = givingWay && keysFit(records, meeting);
    const write = (lock: ChunkLock) => writeChunk(load, chunk!, load.chunk, giveWaySize > 0, lock, meeting);
    const { counts, mark, online } = await (keyed ? write('keys') : write('ingest')).catch((error: unknown) => {
      if (keyed && (error instanceof KeysOverflow || sqlState(error) === OUT_OF_SHARED_MEMORY)) return write('ingest');
      throw error;
    });
    if (online) giveWay();
    load.since = mark;
    load.chunk += 1;
    summary.loaded += counts.recordsIn ?? 0;
    summary.created += counts.created ?? 0;
    summary.linked += counts.linked ?? 0;
    summary.review += counts.review ?? 0;
    summary.chunks += 1;
    progress(load);
  }
  for (let start = 0; start < changed.length; start += ONLINE_BATCH) {
    const batch = changed.slice(start, start + ONLINE_BATCH).map((p) => p.record.input);
    for (const r of await service.ingestMany(batch, options.actor, { runId: load.runId })) {
      if (r.outcome === 'UNCHANGED') summary.unchanged += 1;
      else summary.updated += 1;
    }
    progress(load);
  }
  phases.end('write');
}

/** Reports the records handled so far (written, unchanged or updated) of the rows expected. */
function progress({ summary, options }: LoadState): void {
  const done = summary.loaded + summary.unchanged + summary.updated;
  options.onProgress?.('load', done, Math.max(done, options.expectedRows?.() ?? summary.rows));
}

const emptyContext = (): PlanContext => ({
  storedByKey: new Map(),
  members: [],
  memberCount: new Map(),
  notDuplicates: new Set(),
  openReviews: new Set(),
});

interface PreparedRow {
  file: string;
  line: number;
  record: PreparedRecord;
}

/** Validates and normalises every row as online ingest does; a bad row becomes a problem naming its field. */
function prepareRows(load: LoadState, rows: LoadRow[]): PreparedRow[] {
  const { service, model, problems, seen, files } = load;
  const out: PreparedRow[] = [];
  for (const row of rows) {
    try {
      const record = service.prepare(row.input, model, 'input');
      // One flat string: a key joined from parts (the id perhaps a slice of a read buffer) keeps all of them.
      const ref = Buffer.from(`${record.source}\u0000${record.localId}`).toString();
      const first = seen.get(ref);
      if (first !== undefined) {
        const line = first % 2 ** 32;
        load.refused += 1;
        problems.push({
          file: row.file,
          line: row.line,
          field: 'localId',
          code: 'DUPLICATE_ID',
          message: `the same source and id are on line ${line} of ${files[(first - line) / 2 ** 32]}; only the first is loaded`,
        });
        continue;
      }
      let file = files.lastIndexOf(row.file);
      if (file < 0) file = files.push(row.file) - 1;
      seen.set(ref, file * 2 ** 32 + row.line);
      out.push({ file: row.file, line: row.line, record });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      load.refused += error.problems.length;
      for (const p of error.problems)
        problems.push({ file: row.file, line: row.line, field: p.field.replace(/^input\./, ''), code: p.code, message: p.message });
    }
  }
  return out;
}

/** Splits the rows into new records, records stored with other content, and the number stored unchanged. */
async function classify(
  db: Executor,
  prepared: PreparedRow[],
): Promise<{ fresh: PreparedRow[]; changed: PreparedRow[]; unchanged: number }> {
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

/** A filter of the keys stored when a load begins, read from the database (`StoredKeyFilter`). */
async function storedKeyFilter(db: Executor): Promise<StoredKeyFilter> {
  let filter: StoredKeyFilter | undefined;
  await readStoredKeyHashes(
    db,
    (count) => (filter = new StoredKeyFilter(count)),
    (hi, lo) => filter!.addWords(hi, lo),
  );
  return filter!;
}

/**
 * What the planner reads of the records stored before the load (not those of its own `run`, which the load
 * index holds), in slices of the window's keys, of which only those `storedKeys` may hold are looked up;
 * `memberIds`: stored identities the load's records joined, whose further members and counts are read too.
 */
async function readStoredContext(
  db: Executor,
  fresh: PreparedRow[],
  { reader, run, memberIds, storedKeys }: { reader: Executor | undefined; run: string; memberIds: string[]; storedKeys: StoredKeyFilter },
): Promise<PlanContext> {
  const context = emptyContext();
  if (fresh.length === 0 && memberIds.length === 0) return context;
  const seenByKey = new Map<string, Set<string>>();
  const members = new Map<string, StoredMember>();
  for (let start = 0; start < Math.max(fresh.length, 1); start += LOOKUP_SLICE) {
    const keys = fresh
      .slice(start, start + LOOKUP_SLICE)
      .flatMap((p) => p.record.keys)
      .filter((key) => storedKeys.has(key));
    const identities = start === 0 ? memberIds : [];
    const read = { keys, exclude: [], currentIds: identities, recordIds: [], run, memberIds: identities };
    const part = await bulk.loadPlanContext(db, read, reader);
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
 * Plans a window as one batch of the online planner (each record meets the stored records, the load's earlier
 * records and those before it in the window, with online ingest's cap per key, as `context` gives them), then
 * cuts the plan into chunks along identities: the records of an identity the window creates, the records
 * joining one stored identity, and identities a review or a merge relates, all go into one chunk (see
 * `chunkGroups`). So a committed chunk holds whole identities of its window: their golden records are built
 * once, from all the window's records, and a chunk that rolls back takes whole identities with it.
 */
async function planWindow(
  fresh: PreparedRow[],
  ids: string[],
  context: PlanContext,
  model: MatchModel,
  chunkSize: number,
  scorePairs: PairScorer | undefined,
): Promise<{ plan: { records: PlannedRecord[]; ops: PlannedOp[] }; chunks: PlannedChunk[] }> {
  const inputs: PlanInput[] = fresh.map((p, i) => ({
    index: i,
    recordId: ids[i]!,
    normalised: p.record.normalised,
    keys: p.record.keys,
    currentIdentity: null,
    wasActive: false,
  }));
  const ahead = scorePairs ? await scoreAhead(inputs, context, model, scorePairs) : undefined;
  // Identities a record bridges are merged under the merge guard, as online ingest merges them.
  const plan = planBatch(
    inputs,
    { ...context, newId: () => timeOrderedUuid(), maxPlacedPerKey: MAX_CANDIDATES_PER_KEY, keepCandidates: false, ...ahead },
    model,
  );
  const chunks = cutChunks({ ...plan, rows: plan.records.map((r) => fresh[r.index]!) }, ids, chunkSize);
  return { plan, chunks };
}

/**
 * Cuts planned records (`rows[k]` the row of `records[k]`) and their ops into chunks of whole identities of about
 * `chunkSize` records (`chunkGroups`), in order; `ids` are the window's record ids, by record index. A window's
 * plan is cut so, and a planned chunk again into smaller ones when the load gives way to online ingest.
 */
function cutChunks(
  planned: { records: PlannedRecord[]; ops: PlannedOp[]; rows: PreparedRow[] },
  ids: string[],
  chunkSize: number,
): PlannedChunk[] {
  const { chunkOfRecord, count } = chunkGroups(planned, ids, chunkSize);
  const chunks: PlannedChunk[] = Array.from({ length: count }, () => ({ rows: [], ids: [], ops: [], records: [] }));
  planned.records.forEach((r, k) => {
    const chunk = chunks[chunkOfRecord[r.index]!]!;
    chunk.rows.push(planned.rows[k]!);
    chunk.ids.push(ids[r.index]!);
    chunk.records.push(r);
  });
  const chunkOfIdentity = new Map(planned.records.map((r) => [r.identityId, chunkOfRecord[r.index]!]));
  const recordIndex = new Map(planned.records.map((r) => [ids[r.index]!, r.index]));
  // An op goes with its record, or later when it names an identity of a later chunk (only reviews and merges can);
  // cut again, an op whose record went in an earlier transaction goes with the identities it names.
  for (const op of planned.ops) {
    const named = opIdentities(op).map((id) => chunkOfIdentity.get(id) ?? 0);
    const own = recordIndex.get(op.recordId);
    chunks[Math.max(own === undefined ? 0 : chunkOfRecord[own]!, ...named)]!.ops.push(op);
  }
  return chunks;
}

/**
 * What placing again a newcomer a chunk meets costs, in records written: measured at 4-6 ms a newcomer against
 * 1-1.5 ms a record (50-record chunks beside 20 online ingests a second).
 */
const NEWCOMER_WORK = 4;

/**
 * Cuts the next chunk of a load that gives way to online ingest: whole identities of about `size` records, and
 * fewer when the newcomers the chunk would place again (`newcomersMeeting`) add their work, so that no chunk
 * holds its locks much longer than one of `size` records, or when the keys of its records and newcomers would
 * not fit the key locks a give-way chunk takes (`keysFit`), so that it locks only those. The rest
 * follows as planned (cut to `size`, or in one piece behind a smaller first chunk, to be cut again when its turn
 * comes).
 */
function giveWayCut(load: LoadState, chunk: PlannedChunk, ids: string[], size: number): PlannedChunk[] {
  const tooLarge = (c: PlannedChunk) => {
    const records = recordsOf(c);
    const meeting = newcomersMeeting(load, records);
    return c.rows.length + NEWCOMER_WORK * meeting.length > size || !keysFit(records, meeting);
  };
  let parts = cutChunks(chunk, ids, size);
  for (let budget = size; budget > 1 && parts.length > 0 && tooLarge(parts[0]!);) {
    budget = Math.floor(budget / 2);
    const [first, ...rest] = cutChunks(chunk, ids, budget);
    parts = rest.length === 0 ? [first!] : [first!, joinChunks(rest)];
  }
  return parts;
}

/** Consecutive chunks of a plan as one, in order. */
function joinChunks(chunks: PlannedChunk[]): PlannedChunk {
  return {
    rows: chunks.flatMap((c) => c.rows),
    ids: chunks.flatMap((c) => c.ids),
    ops: chunks.flatMap((c) => c.ops),
    records: chunks.flatMap((c) => c.records),
  };
}

/**
 * Lists every pair the planner will score (`CandidateIndex` in plan order: which records meet depends on the
 * keys and the order only), has `scorePairs` score them, and returns the list for the planner (`candidates`) and the
 * planner's `verdict`, which hands back each pair's score as the planner meets it, in the same order.
 */
async function scoreAhead(
  inputs: PlanInput[],
  stored: PlanContext,
  model: MatchModel,
  scorePairs: PairScorer,
): Promise<Required<Pick<PlanState, 'verdict' | 'candidates'>>> {
  const records = inputs.map((x) => x.normalised);
  const slot = new Map(inputs.map((x, i) => [x.recordId, i]));
  // The stored candidate in each slot past the window's records.
  const storedInSlot: StoredCandidate[] = [];
  const slotOf = (c: StoredCandidate) => {
    let at = slot.get(c.recordId);
    if (at === undefined) {
      slot.set(c.recordId, (at = records.push(c.normalised) - 1));
      storedInSlot.push(c);
    }
    return at;
  };
  // Typed from the start: a window meets millions of pairs, and arrays of numbers would take twice the memory.
  let pairA = new Int32Array(inputs.length * 8);
  let pairB = new Int32Array(inputs.length * 8);
  // The pairs of input i are those from first[i] to first[i + 1].
  const first = new Int32Array(inputs.length + 1);
  let count = 0;
  const index = new CandidateIndex(stored.storedByKey, MAX_CANDIDATES_PER_KEY);
  inputs.forEach((input, i) => {
    first[i] = count;
    for (const c of index.candidates(input)) {
      if (count === pairA.length) {
        pairA = grownPairs(pairA);
        pairB = grownPairs(pairB);
      }
      pairA[count] = i;
      pairB[count] = slotOf(c);
      count += 1;
    }
    index.place({ recordId: input.recordId, identityId: '', normalised: input.normalised, keys: input.keys });
  });
  first[inputs.length] = count;
  const pairs = { pairA: pairA.slice(0, count), pairB: pairB.slice(0, count) };
  const { weights, conflicts } = await scorePairs(records, model, pairs);
  // The identity the plan put each window record in, as it places them.
  const placedIn = new Map<string, string>();
  let k = 0;
  return {
    candidates: {
      candidates: (input) => {
        const out: StoredCandidate[] = [];
        for (let p = first[input.index]!; p < first[input.index + 1]!; p++) {
          const at = pairs.pairB[p]!;
          if (at >= inputs.length) {
            out.push(storedInSlot[at - inputs.length]!);
            continue;
          }
          const { recordId, normalised, keys } = inputs[at]!;
          out.push({ recordId, identityId: placedIn.get(recordId)!, normalised, keys });
        }
        return out;
      },
      place: (entry) => void placedIn.set(entry.recordId, entry.identityId),
    },
    verdict: (input, candidate) => {
      if (pairs.pairA[k] !== input.index || pairs.pairB[k] !== slot.get(candidate.recordId))
        throw new Error('scored pairs are out of step with the plan');
      const verdict = verdictOf(weights[k]!, conflicts[k]!, input.normalised, candidate.normalised, model);
      k += 1;
      return verdict;
    },
  };
}

/** The pairs so far in an array half as large again. */
function grownPairs(array: Int32Array): Int32Array<ArrayBuffer> {
  const out = new Int32Array(Math.ceil(array.length * 1.5) + 16);
  out.set(array);
  return out;
}

/** The identities an op of a new record names. */
function opIdentities(op: PlannedOp): string[] {
  switch (op.kind) {
    case 'REVIEW_RECORD':
      return [op.recordIdentity, op.target.identityId];
    case 'REVIEW_DUPLICATE':
      return [op.identityA, op.candidate.identityId];
    case 'MERGE':
      return [op.survivorId, op.mergedId];
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
 * chunk (so are the two sides of a merge); groups follow the file order of their first record and fill chunks of about `chunkSize` records (a
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
    if (op.kind !== 'REVIEW_RECORD' && op.kind !== 'REVIEW_DUPLICATE' && op.kind !== 'MERGE') continue;
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
 * Adds records others stored to the load's newcomers, prepared from what is stored now; a record already among
 * them at the same version is not read again.
 */
async function addNewcomers(load: LoadState, tx: Executor, stored: bulk.StoredVersion[]): Promise<void> {
  const changed = stored.filter((r) => load.newcomerVersions.get(r.id) !== r.version);
  for (const r of changed) load.newcomerVersions.set(r.id, r.version);
  const ids = changed.map((r) => r.id);
  for (const { id, raw } of await bulk.storedInputs(tx, ids)) {
    try {
      load.newcomers.set(id, load.service.prepare(raw as unknown as SourceRecordInput, load.model));
    } catch (error) {
      // Stored before a stricter check: it stays where online ingest put it.
      if (!(error instanceof ValidationError)) throw error;
      load.newcomers.delete(id);
    }
  }
}

/**
 * The newcomers a chunk's records could change: those that share a blocking key with one of `records` and score
 * at least the review threshold against it. Online ingest would weigh such a pair; any other it would not.
 */
function newcomersMeeting(load: LoadState, records: PreparedRecord[]): PreparedRecord[] {
  if (load.newcomers.size === 0) return [];
  const byKey = new Map<string, number[]>();
  records.forEach((p, i) => {
    for (const key of p.keys) {
      const list = byKey.get(key);
      if (list) list.push(i);
      else byKey.set(key, [i]);
    }
  });
  const meeting: PreparedRecord[] = [];
  for (const newcomer of load.newcomers.values()) {
    const met = new Set<number>();
    for (const key of newcomer.keys) for (const i of byKey.get(key) ?? []) met.add(i);
    for (const i of met) {
      if (scorePairVerdict(newcomer.normalised, records[i]!.normalised, load.model).probability >= load.model.thresholds.reviewThreshold) {
        meeting.push(newcomer);
        break;
      }
    }
  }
  return meeting;
}

/**
 * What a chunk's transaction locks: `ingest`, the ingest lock exclusively (no other ingest beside it); `keys`,
 * the keys of its records and of the newcomers it meets (`lockKeysOf`), under the ingest lock shared.
 */
type ChunkLock = 'ingest' | 'keys';

/** A chunk's keys grew past what it locks (newcomers stored since it was cut): it takes the ingest lock instead. */
class KeysOverflow extends Error {}

/** SQLSTATE of a full lock table (max_locks_per_transaction times the connections). */
const OUT_OF_SHARED_MEMORY = '53200';

/** The records a chunk writes. */
const recordsOf = (chunk: PlannedChunk) => chunk.rows.map((r) => r.record);

/** The keys a chunk locks instead of the ingest lock: those of its records and of the newcomers they meet, once each. */
function lockKeysOf(records: PreparedRecord[], meeting: PreparedRecord[]): string[] {
  return [...new Set(store.recordLockKeys([...records, ...meeting]))];
}

/**
 * Whether a chunk may lock its keys instead of the ingest lock: at most LOAD_KEY_LOCKS of them, and at most
 * `store.MAX_KEY_LOCKS` for the newcomers, which are placed again as an online batch (that locks its keys, all
 * held by then, as long as it has no more).
 */
function keysFit(records: PreparedRecord[], meeting: PreparedRecord[]): boolean {
  return lockKeysOf(records, meeting).length <= LOAD_KEY_LOCKS && lockKeysOf([], meeting).length <= store.MAX_KEY_LOCKS;
}

/**
 * Writes one planned chunk in one transaction: records, keys, identities with their golden records and
 * provenance, links, events, reviews, change events, the run's counts and the audit entry. Refuses (and so
 * rolls back) when another writer stored one of its records since the load began: a re-run continues.
 */
async function writeChunk(
  load: LoadState,
  chunk: PlannedChunk,
  index: number,
  watchOnline: boolean,
  lock: ChunkLock,
  /** The newcomers the chunk met when its lock was chosen: the first keys it locks, with its own. */
  meetingAtCut: PreparedRecord[],
): Promise<{ counts: Record<string, number>; mark: Date; online: boolean }> {
  const { service, model, runId, options, policy, sources } = load;
  return service.transaction(async (tx) => {
    // Background work, as a backlog drain's: other drains and loads do not take it for online ingest.
    await store.markAsDrain(tx);
    const records = recordsOf(chunk);
    let mark: Date;
    // The newcomers the chunk meets, once all that others stored before its locks are read: placed again below.
    let meeting: PreparedRecord[];
    if (lock === 'keys') {
      // The keys of its records and of the newcomers it meets, as an online batch locks them: an online ingest
      // that shares one waits, any other goes on beside the chunk. Once these are held, every newcomer the chunk
      // meets is committed (it locked a key of the chunk's to be stored), so the read below finds them all.
      const held = new Set(lockKeysOf(records, meetingAtCut));
      await store.lockKeys(tx, [...held], LOAD_KEY_LOCKS);
      mark = await store.storedSinceMark(tx, { keysHeld: true });
      await addNewcomers(load, tx, await bulk.recordsStoredSince(tx, load.since, runId));
      // Newcomers stored since the chunk was cut: their keys too, as placing them again reads through all of them.
      meeting = newcomersMeeting(load, records);
      if (!keysFit(records, meeting)) throw new KeysOverflow();
      const extra = lockKeysOf(records, meeting).filter((k) => !held.has(k));
      if (extra.length > 0) await store.lockKeys(tx, extra, LOAD_KEY_LOCKS);
    } else {
      // The ingest lock, exclusively: no other writer runs beside a chunk, and what others stored since the last
      // chunk is all committed (`storedSinceMark`).
      mark = await store.storedSinceMark(tx, { polite: watchOnline });
      await addNewcomers(load, tx, await bulk.recordsStoredSince(tx, load.since, runId));
      await store.lockKeys(tx, store.recordLockKeys(records));
      meeting = newcomersMeeting(load, records);
    }
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
    // The plan's merges, then any redirect since: a record placed in an identity merged later goes to the survivor.
    const target = mergedTarget(checkMerges(chunk.ops, redirect), redirect);
    const merges = mergeOps(chunk.ops);
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
      const sourceId = sources.ids.get(p.source)!;
      const values = Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, (p.clean as Record<string, string | null>)[f] ?? null]));
      const contributor = {
        recordId: chunk.ids[i]!,
        sourceId,
        trustRank: sources.trust.get(sourceId) ?? 0,
        updatedAt: new Date(now),
        values,
      };
      const list = contributors.get(identityId);
      if (list) list.push(contributor);
      else contributors.set(identityId, [contributor]);
    });
    const golden = planGoldenRows([...created].sort(), contributors, new Map(), { policy, ingestRunId: runId, now });
    await copyChunk(tx, {
      records: records.map((p, i) => recordRow(p, chunk.ids[i]!, sources.ids.get(p.source)!, runId)),
      keys: records.map((p, i) => ({ recordId: chunk.ids[i]!, keys: p.keys })),
      ops: rows,
      golden,
      goldenChange: { actor: options.actor.actor, policyVersion: policy.version },
    });
    // Written as online ingest writes an automatic merge (links moved, redirect, reviews closed, events).
    await writeMerges(tx, merges, { actor: options.actor, modelVersion: model.version });
    // Stored identities the chunk joined, and both sides of each merge, are rebuilt from all their records.
    const rebuild = [
      ...[...identityOfRecord.values()].filter((id) => !created.has(id)),
      ...merges.flatMap((m) => [m.mergedId, target(m.survivorId)]),
    ];
    await rebuildGoldenMany(tx, [...new Set(rebuild)], { policy, ingestRunId: runId, actor: options.actor.actor });
    // Records online ingest stored after the load read what was stored met none of this chunk's records: they
    // are placed again now, beside them, as if sent after them (so a patient never ends with two identities).
    const replanned = await service.replanStored(tx, await bulk.liveRecords(tx, meeting), model, options.actor);
    const counts: Record<string, number> = { recordsIn: records.length, chunks: 1 };
    for (const r of chunk.records) counts[r.outcome.toLowerCase()] = (counts[r.outcome.toLowerCase()] ?? 0) + 1;
    await bulk.addRunCounts(tx, runId, counts);
    await options.beforeChunkCommit?.(tx, index);
    // Whether online ingest waits for this chunk.
    const online = watchOnline ? await store.otherIngestActivity(tx) : false;
    // Last: the audit chain's lock is held from here to the commit.
    await appendAuditInTransaction(tx, {
      actor: options.actor.actor,
      role: options.role ?? 'admin',
      action: 'bulkLoad',
      objectType: 'record',
      objectIds: [...chunk.ids, ...replanned.map((r) => r.recordId)],
      outcome: 'SUCCESS',
      requestId: options.actor.requestId ?? null,
      details: { runId, chunk: index, records: records.length, replanned: replanned.length, lock },
    });
    await auditMerges(tx, merges, { actor: options.actor, modelVersion: model.version });
    return { counts, mark, online };
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

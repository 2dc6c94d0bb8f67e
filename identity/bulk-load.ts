import { NORMALISER_VERSION } from '../matching/index.ts';
import { loadActivePolicy, rebuildGoldenMany, finishIngestRun, getIngestRun, startIngestRun } from '../lineage/index.ts';
import { appendAuditInTransaction } from '../platform/audit.ts';
import type { Executor } from '../platform/db/client.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import { ValidationError } from '../platform/errors.ts';
import * as bulk from './bulk-store.ts';
import { copyChunk, indexIsEmpty } from './bulk-load-store.ts';
import { lockTargets, opRows, planReviewIds, type PreparedRecord } from './ingest-batch.ts';
import { planBatch, type PlanInput } from './plan.ts';
import type { IdentityService } from './service.ts';
import * as store from './store.ts';
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
}

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
  };
  try {
    const { fresh, changed, unchanged } = await classify(service.db, prepared);
    summary.unchanged = unchanged;
    if (unchanged > 0) await service.transaction((tx) => bulk.addRunCounts(tx, run.id, { recordsIn: unchanged, unchanged }));
    const policy = await loadActivePolicy(service.db);
    const context = { service, model, policy, runId: run.id, sourceIds, options };
    let done = 0;
    for (let start = 0, chunk = 0; start < fresh.length; start += chunkSize, chunk += 1) {
      const { late, counts } = await loadChunk(context, fresh.slice(start, start + chunkSize), chunk);
      changed.push(...late);
      summary.loaded += counts.recordsIn ?? 0;
      summary.created += counts.created ?? 0;
      summary.linked += counts.linked ?? 0;
      summary.review += counts.review ?? 0;
      summary.chunks += 1;
      done += Math.min(chunkSize, fresh.length - start);
      options.onProgress?.('load', done, fresh.length + changed.length);
    }
    for (let start = 0; start < changed.length; start += ONLINE_BATCH) {
      const batch = changed.slice(start, start + ONLINE_BATCH).map((p) => p.record.input);
      for (const r of await service.ingestMany(batch, options.actor, { runId: run.id })) {
        if (r.outcome === 'UNCHANGED') summary.unchanged += 1;
        else summary.updated += 1;
      }
      options.onProgress?.('load', done + start + batch.length, fresh.length + changed.length);
    }
    summary.rejected = problems.length;
    await finish(service, run.id, summary, 'COMPLETED');
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
  model: Parameters<IdentityService['prepare']>[1],
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
  model: Parameters<IdentityService['prepare']>[1];
  policy: Awaited<ReturnType<typeof loadActivePolicy>>;
  runId: string;
  sourceIds: Map<string, string>;
  options: BulkLoadOptions;
}

/**
 * Plans and writes one chunk of new records in one transaction. Returns the chunk's records that another
 * writer stored since they were classified: they go through the online path instead.
 */
async function loadChunk(
  context: ChunkContext,
  rows: PreparedRow[],
  chunk: number,
): Promise<{ late: PreparedRow[]; counts: Record<string, number> }> {
  const { service, model, runId, options } = context;
  return service.transaction(async (tx) => {
    const records = rows.map((r) => r.record);
    // Every key of a chunk: more than any per-key lock set, so this takes the ingest lock exclusively.
    await store.lockKeys(tx, [...records.map((p) => store.recordLockKey(p.source, p.localId)), ...records.flatMap((p) => p.keys)]);
    const known = await bulk.findRecordsBySource(
      tx,
      records.map((p) => ({ code: p.source, localId: p.localId })),
    );
    const late = rows.filter((_, i) => known[i] !== undefined);
    const fresh = rows.filter((_, i) => known[i] === undefined).map((r) => r.record);
    const ids = fresh.map(() => timeOrderedUuid());
    const inputs: PlanInput[] = fresh.map((p, i) => ({
      index: i,
      recordId: ids[i]!,
      normalised: p.normalised,
      keys: p.keys,
      currentIdentity: null,
      wasActive: false,
    }));
    const stored = await bulk.loadPlanContext(
      tx,
      { keys: inputs.flatMap((x) => x.keys), exclude: [], currentIds: [], recordIds: [] },
      options.reader,
    );
    const plan = planBatch(inputs, { ...stored, newId: () => timeOrderedUuid() }, model);
    const redirect = await lockTargets(tx, plan.ops, []);
    const target = (id: string) => redirect.get(id) ?? id;
    const reviewIds = planReviewIds(plan.ops, target);
    const identityOfRecord = new Map(plan.records.map((r) => [ids[r.index]!, target(r.identityId)]));
    const rowsOut = opRows(plan.ops, { target, reviewIds, events: [], identityOfRecord }, { actor: options.actor, model });
    await copyChunk(tx, {
      records: fresh.map((p, i) => ({
        id: ids[i]!,
        sourceId: context.sourceIds.get(p.source)!,
        localId: p.localId,
        ...p.clean,
        raw: p.input,
        normalised: p.normalised,
        normaliserVersion: NORMALISER_VERSION,
        contentHash: p.hash,
        ingestRunId: runId,
      })),
      keys: fresh.map((p, i) => ({ recordId: ids[i]!, keys: p.keys })),
      ops: rowsOut,
    });
    await rebuildGoldenMany(tx, [...new Set(identityOfRecord.values())], {
      policy: context.policy,
      ingestRunId: runId,
      actor: options.actor.actor,
    });
    const counts: Record<string, number> = { recordsIn: fresh.length, chunks: 1 };
    for (const r of plan.records) counts[r.outcome.toLowerCase()] = (counts[r.outcome.toLowerCase()] ?? 0) + 1;
    await bulk.addRunCounts(tx, runId, counts);
    await options.beforeChunkCommit?.(tx, chunk);
    // Last: the audit chain's lock is held from here to the commit.
    await appendAuditInTransaction(tx, {
      actor: options.actor.actor,
      role: options.role ?? 'admin',
      action: 'bulkLoad',
      objectType: 'record',
      objectIds: ids,
      outcome: 'SUCCESS',
      requestId: options.actor.requestId ?? null,
      details: { runId, chunk, records: fresh.length },
    });
    return { late, counts };
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

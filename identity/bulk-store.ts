import { sql, type SQL } from 'drizzle-orm';
import { anyOf, insertRows, type InsertRow } from '../platform/db/bulk.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { links, recordBlockKeys, reviewItems, sourceRecords, sources } from '../platform/db/schema/index.ts';
import { CANONICAL_FIELD_DEFINITIONS, type NormalisedRecord } from '../matching/index.ts';
import { MAX_CANDIDATES_PER_KEY, type SourceRow } from './store.ts';
import { pairKey, type StoredCandidate, type StoredMember } from './plan.ts';

/** Set-based reads and writes of the batch ingest engine: a fixed number of statements per batch. */

export async function findSources(tx: Executor, codes: string[]): Promise<Map<string, SourceRow>> {
  const rows = await tx
    .select()
    .from(sources)
    .where(anyOf(sources.code, codes, 'text'));
  return new Map(rows.map((r) => [r.code, r]));
}

/**
 * Plans the rest of the transaction's statements for the values they are run with. The server otherwise switches a
 * prepared statement to one generic plan after a few runs and keeps it, and for a batch that plan is wrong twice
 * over: it assumes an array parameter holds about ten elements where a batch passes hundreds or thousands, and it
 * was made for the tables' sizes when it was made (until the next ANALYZE). Planning each statement costs a
 * fraction of a millisecond, which a batch spreads over its records (`ingestRecords` into 20,000 records, batches
 * of 500: 1,566-1,578 records/s against 1,331); a single record keeps the cached plans.
 */
export async function planForBatch(tx: Executor): Promise<void> {
  await tx.execute(sql`set local plan_cache_mode = force_custom_plan`);
}

/** What the batch needs to know of a record it already holds: never its payload. */
export interface KnownRecord {
  record: { id: string; contentHash: string; deleted: boolean };
  link: { identityId: string; linkSource: 'AUTO' | 'MANUAL' } | null;
}

/**
 * The lookup of what is stored under (source code, local id) pairs: one unique-index probe per pair, whatever the
 * planner's statistics say about the tables' sizes. Written as a join, a plan made while the index was nearly
 * empty scanned all of a source's records for each pair (one JetStream consumer into a fresh database slowed from
 * 350 to 1,000 ms a batch of 500 as the index grew). `limit 1` keeps each lookup a probe: the planner does not
 * flatten a subquery with a limit into a join.
 */
export function recordsBySourceQuery(refs: Array<{ code: string; localId: string }>): SQL {
  return sql`
    select r.id, q.code, r.local_id, r.content_hash, r.deleted_at is not null as deleted, l.identity_id, l.link_source
    from unnest(${sql.param(refs.map((r) => r.code))}::text[], ${sql.param(refs.map((r) => r.localId))}::text[]) as q(code, local_id)
    cross join lateral (
      select r.id, r.local_id, r.content_hash, r.deleted_at from source_records r
      where r.source_id = (select s.id from sources s where s.code = q.code) and r.local_id = q.local_id
      limit 1
    ) as r
    left join lateral (select l.identity_id, l.link_source from links l where l.record_id = r.id limit 1) as l on true`;
}

/** What is stored under each (source code, local id) pair, in the order of `refs` (undefined: nothing). */
export async function findRecordsBySource(
  tx: Executor,
  refs: Array<{ code: string; localId: string }>,
): Promise<Array<KnownRecord | undefined>> {
  if (refs.length === 0) return [];
  const rows = await queryRows<{
    id: string;
    code: string;
    local_id: string;
    content_hash: string;
    deleted: boolean;
    identity_id: string | null;
    link_source: 'AUTO' | 'MANUAL' | null;
  }>(tx, recordsBySourceQuery(refs));
  const byRef = new Map(
    rows.map((r) => [
      `${r.code}\u0000${r.local_id}`,
      {
        record: { id: r.id, contentHash: r.content_hash, deleted: r.deleted },
        link: r.identity_id && r.link_source ? { identityId: r.identity_id, linkSource: r.link_source } : null,
      },
    ]),
  );
  return refs.map((r) => byRef.get(`${r.code}\u0000${r.localId}`));
}

/** A record to store; `raw` and `normalised` are any JSON objects (the input and the matcher's form). */
export type RecordUpsert = Omit<InsertRow<typeof sourceRecords>, 'raw' | 'normalised'> & {
  id: string;
  sourceId: string;
  localId: string;
  raw: object;
  normalised: object;
};

const UPSERT_UPDATES = [
  ...CANONICAL_FIELD_DEFINITIONS.map((f) => f.column),
  'raw',
  'normalised',
  'normaliser_version',
  'content_hash',
  'ingest_run_id',
];

/**
 * Inserts or updates records by (source, local id) in one statement with one parameter, whatever the batch
 * size; an update bumps the version and revives a soft-deleted record. A new record is stored under the `id`
 * given; a stored one keeps its own (the caller holds the record's lock, so it knows which is which).
 */
export async function upsertRecords(tx: Executor, values: RecordUpsert[]): Promise<void> {
  if (values.length === 0) return;
  await tx.execute(
    insertRows(
      sourceRecords,
      values as Array<InsertRow<typeof sourceRecords>>,
      sql`
    on conflict (source_id, local_id) do update set
      ${sql.raw(UPSERT_UPDATES.map((c) => `${c} = excluded.${c}`).join(', '))},
      updated_at = now(), deleted_at = null, version = source_records.version + 1`,
    ),
  );
}

/** Replaces the blocking keys of the records; `stored` records had keys before, new ones need no delete. */
export async function replaceBlockKeysMany(
  tx: Executor,
  entries: Array<{ recordId: string; keys: string[]; stored: boolean }>,
): Promise<void> {
  if (entries.length === 0) return;
  const stored = entries.filter((e) => e.stored).map((e) => e.recordId);
  if (stored.length > 0) await tx.delete(recordBlockKeys).where(anyOf(recordBlockKeys.recordId, stored, 'uuid'));
  const keys: string[] = [];
  const recordIds: string[] = [];
  for (const e of entries)
    for (const k of new Set(e.keys)) {
      keys.push(k);
      recordIds.push(e.recordId);
    }
  if (keys.length === 0) return;
  await tx.execute(sql`insert into record_block_keys (key_hash, record_id)
    select hashtextextended(k, 0), r from unnest(${sql.param(keys)}::text[], ${sql.param(recordIds)}::uuid[]) as u(k, r)`);
}

/**
 * Active stored records sharing any of `keys`, one row per record with every key it shares (so its normalised
 * JSON crosses the wire once), each key capped at MAX_CANDIDATES_PER_KEY so one over-shared key cannot flood the
 * batch. Records in `exclude` (the batch's own) are left out before the cap, so the result does not depend on
 * whether the batch's own writes ran first. Each candidate's record and link are read by a primary-key probe
 * (`limit 1` keeps the planner from turning them into joins): planned on a young index's statistics, which put
 * hundreds of records behind every key, the joins read the whole links table for each batch.
 */
function candidateRows(keys: string[], exclude: string[], run?: string): SQL {
  // A bulk load reads the records stored before it: those of its own run are held in memory (`LoadIndex`).
  const posting = run
    ? sql`select k.record_id from record_block_keys k join source_records own on own.id = k.record_id
        where k.key_hash = hashtextextended(q.key, 0) and own.ingest_run_id is distinct from ${run}::uuid`
    : sql`select k.record_id from record_block_keys k
        where k.key_hash = hashtextextended(q.key, 0) and k.record_id <> all(${sql.param(exclude)}::uuid[])`;
  return sql`
    select hit.record_id, l.identity_id, r.normalised, hit.keys
    from (
      select h.record_id, array_agg(q.key) as keys
      from unnest(${sql.param([...new Set(keys)])}::text[]) as q(key)
      cross join lateral (${posting} limit ${MAX_CANDIDATES_PER_KEY}) as h
      group by h.record_id
    ) as hit
    cross join lateral (select r.normalised from source_records r where r.id = hit.record_id and r.deleted_at is null limit 1) as r
    cross join lateral (select l.identity_id from links l where l.record_id = hit.record_id limit 1) as l`;
}

function groupByKey(candidates: StoredCandidate[]): Map<string, StoredCandidate[]> {
  const byKey = new Map<string, StoredCandidate[]>();
  for (const candidate of candidates) {
    for (const key of candidate.keys) {
      const list = byKey.get(key);
      if (list) list.push(candidate);
      else byKey.set(key, [candidate]);
    }
  }
  return byKey;
}

/** Stored candidates sharing any of `keys`, grouped by key (see `candidateRows`). */
export async function findCandidatesByKey(tx: Executor, keys: string[], exclude: string[]): Promise<Map<string, StoredCandidate[]>> {
  if (keys.length === 0) return new Map();
  const rows = await queryRows<{ record_id: string; identity_id: string; normalised: NormalisedRecord; keys: string[] }>(
    tx,
    candidateRows(keys, exclude),
  );
  return groupByKey(
    rows.map((row) => ({ recordId: row.record_id, identityId: row.identity_id, normalised: row.normalised, keys: row.keys })),
  );
}

/** What the planner reads besides the batch itself (see `PlanState`). */
export interface PlanContext {
  storedByKey: Map<string, StoredCandidate[]>;
  members: StoredMember[];
  memberCount: Map<string, number>;
  notDuplicates: Set<string>;
  openReviews: Set<string>;
}

/**
 * Members read per candidate identity for the merge guard besides those found by key: enough for any real
 * patient's records, while a pathological identity (thousands of test records) costs no more than this.
 */
const MAX_GUARD_MEMBERS = 100;

/** A batch with at least this many distinct keys reads its candidates in parallel, when it can. */
export const PARALLEL_READ_KEYS = 1000;
/** Parallel candidate reads of one large batch. */
const READ_PARTS = 2;

type PlanRead = {
  keys: string[];
  exclude: string[];
  currentIds: string[];
  recordIds: string[];
  /** A bulk load's ingest run: its records are left out (the load holds them), as `exclude` leaves a batch's. */
  run?: string;
  /** Identities whose further members are read besides the candidates' (a bulk load's, found among its own records). */
  memberIds?: string[];
  /**
   * True: read no further members here. The caller reads those of the identities its merge guard weighs
   * (`readGuardMembers`), which are few: most records match no identity above the match threshold.
   */
  membersLater?: boolean;
};

/** What one read of the planner's context returns: candidates one per record, with the keys it was found by. */
type ContextPart = Omit<PlanContext, 'storedByKey'> & { candidates: StoredCandidate[] };

/**
 * Everything the planner reads (see `readContextPart`). A large batch given a `reader` (PostgreSQL's pool of
 * candidate readers, `DatabaseHandle.reader`) splits its keys and reads the parts on its connections at once, so
 * the server probes them on more than one core. Outside the transaction is safe here: the batch holds the locks
 * of every key it reads, so no other ingest can change what the reads see, and the batch itself has written
 * nothing they read. Such a batch has more keys than `MAX_KEY_LOCKS`, so it holds the ingest lock alone: one
 * batch at a time reads.
 */
export async function loadPlanContext(tx: Executor, batch: PlanRead, reader?: Executor): Promise<PlanContext> {
  const keys = [...new Set(batch.keys)];
  const parallel = reader !== undefined && keys.length >= PARALLEL_READ_KEYS;
  const size = parallel ? Math.ceil(keys.length / READ_PARTS) : keys.length;
  const parts = await Promise.all(
    parallel
      ? Array.from({ length: READ_PARTS }, (_, i) => readContextPart(reader, { ...batch, keys: keys.slice(i * size, (i + 1) * size) }))
      : [readContextPart(tx, { ...batch, keys })],
  );
  // Each key is in one part; a record found by keys of two parts is one candidate with the keys of both.
  const byRecord = new Map<string, StoredCandidate>();
  for (const c of parts.flatMap((part) => part.candidates)) {
    const seen = byRecord.get(c.recordId);
    byRecord.set(c.recordId, seen ? { ...seen, keys: [...seen.keys, ...c.keys] } : c);
  }
  // A part's further members may be another part's candidates: each record once, as a candidate if it is one.
  const members = new Map<string, StoredMember>();
  for (const m of parts.flatMap((part) => part.members)) if (!byRecord.has(m.recordId)) members.set(m.recordId, m);
  // Each part saw the not-duplicate pairs among its own identities; a pair across parts is read once more here.
  const involved = [...new Set([...[...byRecord.values()].map((c) => c.identityId), ...batch.currentIds])];
  const notDuplicates = parallel ? await notDuplicatesAmong(tx, involved) : parts[0]!.notDuplicates;
  return {
    storedByKey: groupByKey([...byRecord.values()]),
    members: [...members.values()],
    memberCount: new Map(parts.flatMap((p) => [...p.memberCount])),
    notDuplicates,
    openReviews: new Set(parts.flatMap((p) => [...p.openReviews])),
  };
}

/** `a|b` keys of the not-duplicate decisions between any two of `ids`. */
async function notDuplicatesAmong(tx: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length < 2) return new Set();
  const rows = await queryRows<{ a: string; b: string }>(
    tx,
    sql`select identity_a as a, identity_b as b from not_duplicates
      where identity_a = any(${sql.param(ids)}::uuid[]) and identity_b = any(${sql.param(ids)}::uuid[])`,
  );
  return new Set(rows.map((r) => pairKey(r.a, r.b)));
}

/**
 * Everything the planner reads, in one statement: the stored candidates sharing the batch's keys; then, for
 * their identities and the batch records' current ones (`currentIds`), the active member counts and the open
 * reviews (also those of the batch's records), and the not-duplicate pairs between any two of them (a record
 * matching two identities a steward declared different people neither merges nor flags them); and, unless
 * `membersLater`, the further members of the candidates' identities and of `memberIds` (see `memberRows`).
 */
async function readContextPart(tx: Executor, batch: PlanRead): Promise<ContextPart> {
  type Row = {
    candidates: Array<[string, string, NormalisedRecord, string[]]>;
    counts: Array<[string, number]>;
    not_duplicates: Array<[string, string]>;
    reviews: Array<[string, string | null, string, string | null]>;
    members: Array<[string, string, NormalisedRecord]>;
  };
  const current = sql.param([...new Set(batch.currentIds)]);
  const candidates =
    batch.keys.length > 0
      ? candidateRows(batch.keys, batch.exclude, batch.run)
      : sql`select null::uuid as record_id, null::uuid as identity_id, null::jsonb as normalised, null::text[] as keys where false`;
  const [row] = await queryRows<Row>(
    tx,
    sql`
    with cand as materialized (${candidates}),
    involved as materialized (select array(select identity_id from cand union select unnest(${current}::uuid[])) as ids)
    select
      (select coalesce(json_agg(json_build_array(c.record_id, c.identity_id, c.normalised, c.keys)), '[]'::json) from cand c) as candidates,
      (select coalesce(json_agg(json_build_array(m.identity_id, m.n)), '[]'::json) from (
        select l.identity_id, count(*)::int as n from links l
        cross join lateral (select 1 from source_records r where r.id = l.record_id and r.deleted_at is null limit 1) as r
        where l.identity_id = any((select ids from involved)::uuid[]) group by l.identity_id) as m) as counts,
      (select coalesce(json_agg(json_build_array(d.identity_a, d.identity_b)), '[]'::json) from not_duplicates d
        where d.identity_a = any((select ids from involved)::uuid[]) and d.identity_b = any((select ids from involved)::uuid[])) as not_duplicates,
      (select coalesce(json_agg(json_build_array(v.kind, v.record_id, v.identity_a, v.identity_b)), '[]'::json) from review_items v
        where v.status = 'OPEN' and (v.record_id = any(${sql.param(batch.recordIds)}::uuid[]) or v.identity_a = any((select ids from involved)::uuid[]))) as reviews,
      ${
        batch.membersLater
          ? sql`'[]'::json`
          : sql`(select coalesce(json_agg(json_build_array(m.identity_id, m.id, m.normalised)), '[]'::json) from (${memberRows(
              sql`array(select identity_id from cand) || ${sql.param(batch.memberIds ?? [])}::uuid[]`,
              sql`select record_id as id from cand union all select unnest(${sql.param(batch.exclude)}::uuid[])`,
              batch.run,
            )}) as m)`
      } as members`,
  );
  const { candidates: found, counts, not_duplicates: pairs, reviews, members } = row!;
  const openReviews = new Set<string>();
  for (const [kind, recordId, identityA, identityB] of reviews) {
    if (kind === 'RECORD_MATCH' && recordId) openReviews.add(`${recordId}|${identityA}`);
    if (kind === 'POSSIBLE_DUPLICATE' && identityB) openReviews.add(pairKey(identityA, identityB));
  }
  return {
    candidates: found.map(([recordId, identityId, normalised, keys]) => ({ recordId, identityId, normalised, keys })),
    members: members.map(([identityId, recordId, normalised]) => ({ identityId, recordId, normalised })),
    memberCount: new Map(counts),
    notDuplicates: new Set(pairs.map(([a, b]) => pairKey(a, b))),
    openReviews,
  };
}

/**
 * Up to MAX_GUARD_MEMBERS active members of each of `identities` (lowest record ids first), leaving out the
 * records `except` selects (an `id` column: candidates and the batch's own) and those of a bulk load's own run.
 * Each member's record is a primary-key probe, as in `candidateRows`. The records left out are an anti-join, not
 * `<> all(array)`: that compares every link with every element, and a bulk load's window passes tens of
 * thousands of candidates against as many links (300 ms of a 1.1 s read at 300,000 stored records).
 */
function memberRows(identities: SQL, except: SQL, run: string | undefined): SQL {
  return sql`
    select x.identity_id, x.id, x.normalised from (
      select l.identity_id, r.id, r.normalised, row_number() over (partition by l.identity_id order by r.id) as k
      from links l
      cross join lateral (
        select r.id, r.normalised from source_records r
        where r.id = l.record_id and r.deleted_at is null
          and ${run ? sql`r.ingest_run_id is distinct from ${run}::uuid` : sql`true`}
        limit 1
      ) as r
      where l.identity_id = any(${identities}) and not exists (select 1 from (${except}) as e where e.id = l.record_id)) as x
    where x.k <= ${MAX_GUARD_MEMBERS}`;
}

/**
 * The further members of `identityIds` the merge guard weighs (see `PlanRead.membersLater`): the rows the
 * planning read gives them when it reads members itself, `except` naming the candidates and the batch's records.
 */
export async function readGuardMembers(tx: Executor, identityIds: string[], except: string[]): Promise<StoredMember[]> {
  if (identityIds.length === 0) return [];
  const rows = await queryRows<{ identity_id: string; id: string; normalised: NormalisedRecord }>(
    tx,
    memberRows(sql`${sql.param([...new Set(identityIds)])}::uuid[]`, sql`select unnest(${sql.param(except)}::uuid[]) as id`, undefined),
  );
  return rows.map((r) => ({ identityId: r.identity_id, recordId: r.id, normalised: r.normalised }));
}

/** Survivors of identities that were merged since the batch read them (one hop: redirects are kept flat). */
export async function survivorsOf(tx: Executor, identityIds: string[]): Promise<Map<string, string>> {
  if (identityIds.length === 0) return new Map();
  const rows = await queryRows<{ id: string; status: string; merged_into: string | null }>(
    tx,
    sql`
    select id, status, merged_into from identities where id = any(${sql.param([...new Set(identityIds)].sort())}::uuid[]) order by id for update`,
  );
  return new Map(rows.map((r) => [r.id, r.status === 'MERGED' && r.merged_into ? r.merged_into : r.id]));
}

/**
 * Adds a batch's outcome counts to its ingest run, atomically, so concurrent batches of one run add up.
 * Returns false when the run does not exist or is no longer running.
 */
export async function addRunCounts(tx: Executor, runId: string, counts: Record<string, number>): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`
    update ingest_runs set counts = coalesce((
      select jsonb_object_agg(key, total) from (
        select key, sum(value)::int as total from (
          select key, value::int as value from jsonb_each_text(ingest_runs.counts)
          union all select key, value::int from jsonb_each_text(${JSON.stringify(counts)}::jsonb)
        ) as both_counts group by key
      ) as summed), '{}'::jsonb)
    where id = ${runId} and status = 'RUNNING' returning id`,
  );
  return rows.length > 0;
}

/** Creates identities under the ids given, in one statement. */
export async function insertIdentities(tx: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.execute(sql`insert into identities (id) select unnest(${sql.param(ids)}::uuid[])`);
}

/** Opens review items, in one statement. */
export async function insertReviewItems(tx: Executor, items: Array<InsertRow<typeof reviewItems>>): Promise<void> {
  if (items.length === 0) return;
  await tx.execute(insertRows(reviewItems, items));
}

/** Sets the current link of each record (one per record), in one statement. */
export async function upsertLinks(tx: Executor, rows: Array<InsertRow<typeof links>>): Promise<void> {
  if (rows.length === 0) return;
  await tx.execute(
    insertRows(
      links,
      rows,
      sql`
    on conflict (record_id) do update set identity_id = excluded.identity_id, match_result = excluded.match_result,
      link_source = excluded.link_source, weight = excluded.weight, probability = excluded.probability,
      model_version = excluded.model_version, updated_at = now()`,
    ),
  );
}

/**
 * Live records stored or changed at or after `since` (`storedSinceMark`) by anyone but ingest run `runId`: what
 * others stored while a bulk load ran, with their versions. The index on `updated_at` finds them,
 * reading past the run's own rows of the same span (so a load asks for the span since its last chunk only).
 */
export async function recordsStoredSince(tx: Executor, since: Date, runId: string): Promise<StoredVersion[]> {
  return queryRows<StoredVersion>(
    tx,
    sql`select id, updated_at::text as version from source_records
        where updated_at >= ${since.toISOString()}::timestamptz and ingest_run_id is distinct from ${runId}::uuid and deleted_at is null`,
  );
}

/** A stored record and which version of it (its `updated_at`, exact): a record read again at the same version is unchanged. */
export type StoredVersion = { id: string; version: string };

/** The records `recordIds` as they were sent (`raw`, their input), with their ids. */
export async function storedInputs(tx: Executor, recordIds: string[]): Promise<Array<{ id: string; raw: Record<string, unknown> }>> {
  if (recordIds.length === 0) return [];
  return queryRows<{ id: string; raw: Record<string, unknown> }>(
    tx,
    sql`select id, raw from source_records where id = any(${sql.param(recordIds)}::uuid[]) order by id`,
  );
}

/** Of `inputs` (records as sent), those whose record is stored and not deleted now, in order. */
export async function liveRecords<T extends { source: string; localId: string }>(tx: Executor, inputs: T[]): Promise<T[]> {
  if (inputs.length === 0) return [];
  const found = await findRecordsBySource(
    tx,
    inputs.map((x) => ({ code: x.source, localId: x.localId })),
  );
  return inputs.filter((_, i) => found[i] !== undefined && !found[i]!.record.deleted);
}

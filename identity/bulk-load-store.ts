import { sql } from 'drizzle-orm';
import { copyRows, type InsertRow } from '../platform/db/bulk.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import {
  changeEvents,
  fieldProvenance,
  identities,
  identityEvents,
  links,
  recordBlockKeys,
  reviewItems,
  sourceRecords,
} from '../platform/db/schema/index.ts';
import { changeRows } from '../events/index.ts';
import { PROVENANCE_CLOCK, type GoldenRows } from '../lineage/index.ts';
import type { RecordUpsert } from './bulk-store.ts';
import { hashKeyWords, int64Text } from './key-hash.ts';
import type { OpRows } from './ingest-batch.ts';

/** Writes of the bulk load: one COPY per table on PostgreSQL, multi-row inserts on the embedded database. */

/**
 * Writes new records' blocking keys as the hashes online ingest stores (`hashtextextended(key, 0)`, computed
 * here by `hashKeyWords`), straight into the index: no key travels or is stored in clear, and the server neither
 * stages nor hashes a chunk's hundreds of thousands of keys. The rows go in the order of the key index
 * (`record_block_keys_key_idx`: hash, then record id), so the server inserts them into its leaf pages one after
 * another instead of all over the index: a chunk's keys are hashes spread over the whole index, and in random
 * order each one lands on a page of its own (measured on 300,000 keys into 1.2M: 4.3-5.1 s sorted against 7.3-9.2 s).
 */
async function copyBlockKeys(tx: Executor, entries: Array<{ recordId: string; keys: string[] }>): Promise<void> {
  await copyRows(tx, recordBlockKeys, sortedKeyRows(entries));
}

/** The key rows of `entries` (each record's distinct keys), ordered by (hash, record id) as the key index is. */
export function sortedKeyRows(entries: Array<{ recordId: string; keys: string[] }>): Array<InsertRow<typeof recordBlockKeys>> {
  // Records in id order first: the sort by hash below is stable, so rows of one hash keep that order.
  const byId = [...entries].sort((x, y) => (x.recordId < y.recordId ? -1 : x.recordId > y.recordId ? 1 : 0));
  let count = 0;
  for (const e of byId) count += e.keys.length;
  const high = new Uint32Array(count);
  const low = new Uint32Array(count);
  const owner = new Uint32Array(count);
  let n = 0;
  byId.forEach((e, i) => {
    for (const key of new Set(e.keys)) {
      const words = hashKeyWords(key);
      // The sign bit flipped: signed 64-bit hashes then order as their words do unsigned.
      high[n] = (words[0]! ^ 0x80000000) >>> 0;
      low[n] = words[1]! >>> 0;
      owner[n] = i;
      n += 1;
    }
  });
  const order = radixOrder(high.subarray(0, n), low.subarray(0, n));
  return Array.from(order, (k) => ({
    keyHash: int64Text(high[k]! ^ 0x80000000, low[k]!),
    recordId: byId[owner[k]!]!.recordId,
  }));
}

/**
 * The positions of 64-bit unsigned values (`high`, `low` words) in ascending order, stable: a least significant
 * digit radix sort in four passes of 16 bits. A chunk has hundreds of thousands of keys, which a comparison sort
 * orders in seconds and this in milliseconds.
 */
function radixOrder(high: Uint32Array, low: Uint32Array): Uint32Array {
  const n = high.length;
  let order = Uint32Array.from({ length: n }, (_, k) => k);
  let next = new Uint32Array(n);
  const counts = new Uint32Array(1 << 16);
  for (const [words, shift] of [
    [low, 0],
    [low, 16],
    [high, 0],
    [high, 16],
  ] as const) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(words[k]! >>> shift) & 0xffff]! += 1;
    for (let d = 0, sum = 0; d < counts.length; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const at = order[k]!;
      next[counts[(words[at]! >>> shift) & 0xffff]!++] = at;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** Whether the index holds no record yet (then nothing stored can be a candidate or a repeat). */
export async function indexIsEmpty(db: Executor): Promise<boolean> {
  const [row] = await queryRows<{ empty: boolean }>(db, sql`select not exists (select 1 from source_records) as empty`);
  return row!.empty;
}

/** Table pages of `record_block_keys` read per statement while a load reads every stored key (about 170 keys a page). */
const KEY_PAGES_PER_READ = 2_000;

/** Calls `each` with the high and low words of every 64-bit hash in `words` (big-endian, `int8send`). */
function eachWordPair(words: Uint8Array | null, each: (hi: number, lo: number) => void): void {
  if (!words) return;
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  for (let at = 0; at + 8 <= words.byteLength; at += 8) each(view.getInt32(at), view.getInt32(at + 4));
}

/**
 * Every blocking-key hash stored, as its high and low words (a key stored for several records once per record),
 * read in ranges of the table's pages (a TID range scan: no index, no sort, and each range one binary value
 * rather than a row per key); first, about how many there are (the planner's count, or one from the table's
 * size when it was never analysed). Rows stored after the read began may be missed: the caller reads those by
 * when they were stored (`readKeyHashesStoredSince`).
 */
export async function readStoredKeyHashes(
  db: Executor,
  expected: (count: number) => void,
  each: (hi: number, lo: number) => void,
  pagesPerRead = KEY_PAGES_PER_READ,
): Promise<void> {
  const [size] = await queryRows<{ rows: number; pages: number }>(
    db,
    sql`select reltuples::float8 as rows,
      (pg_relation_size('record_block_keys') / current_setting('block_size')::int)::float8 as pages
      from pg_class where oid = 'record_block_keys'::regclass`,
  );
  const pages = Number(size!.pages);
  const rows = Number(size!.rows);
  expected(rows >= 0 ? Math.max(rows, 1) : pages * 200);
  for (let from = 0; from < pages; from += pagesPerRead) {
    const [range] = await queryRows<{ words: Uint8Array | null }>(
      db,
      sql`select string_agg(int8send(key_hash), ''::bytea) as words from record_block_keys
        where ctid >= ${`(${from},0)`}::tid and ctid < ${`(${from + pagesPerRead},0)`}::tid`,
    );
    eachWordPair(range!.words, each);
  }
}

/**
 * The blocking-key hashes of the records others (not ingest run `runId`) stored or changed at or after `since`
 * (`storedSinceMark`), as their high and low words.
 */
export async function readKeyHashesStoredSince(
  db: Executor,
  since: Date,
  runId: string,
  each: (hi: number, lo: number) => void,
): Promise<void> {
  const [row] = await queryRows<{ words: Uint8Array | null }>(
    db,
    sql`select string_agg(int8send(k.key_hash), ''::bytea) as words from source_records r
      join record_block_keys k on k.record_id = r.id
      where r.updated_at >= ${since.toISOString()}::timestamptz and r.ingest_run_id is distinct from ${runId}::uuid`,
  );
  eachWordPair(row!.words, each);
}

/** What one chunk writes: new records, their blocking keys, and the rows of its plan. */
export interface ChunkRows {
  records: RecordUpsert[];
  keys: Array<{ recordId: string; keys: string[] }>;
  ops: OpRows;
  /** The golden records and provenance of the identities the chunk creates (`planGoldenRows`). */
  golden: GoldenRows;
  goldenChange: { actor: string; policyVersion: number };
}

/** The provenance clock (see lineage), read once for the rows a chunk opens. */
export async function provenanceClock(tx: Executor): Promise<string> {
  const [row] = await queryRows<{ now: string }>(tx, sql`select ${PROVENANCE_CLOCK}::text as now`);
  return row!.now;
}

/**
 * Writes a chunk of new records and what their plan decided, in table order (identities before the links,
 * events and reviews that refer to them). The records are new, so nothing is updated or deleted.
 */
export async function copyChunk(tx: Executor, chunk: ChunkRows): Promise<void> {
  if (chunk.ops.absorbed.length > 0) throw new Error('a bulk load plans new records only: nothing can be absorbed');
  const { golden, goldenChange } = chunk;
  const goldenOf = new Map(golden.goldens.map((g) => [g.id, g.golden]));
  await copyRows(tx, sourceRecords, chunk.records as Array<InsertRow<typeof sourceRecords>>);
  await copyBlockKeys(tx, chunk.keys);
  await copyRows(
    tx,
    identities,
    // Online, an identity is inserted and then its golden record set, which bumps its version: the same end state.
    // One with no record left (merged into another in this chunk) starts empty, as an identity does.
    chunk.ops.newIdentities.map((id) => {
      const values = goldenOf.get(id);
      return values ? { id, golden: values, version: 2 } : { id, golden: {}, version: 1 };
    }),
  );
  await copyRows(tx, fieldProvenance, golden.toOpen);
  await copyRows(tx, links, chunk.ops.links as Array<InsertRow<typeof links>>);
  await copyRows(tx, identityEvents, chunk.ops.events as Array<InsertRow<typeof identityEvents>>);
  await copyRows(tx, reviewItems, chunk.ops.reviews as Array<InsertRow<typeof reviewItems>>);
  const goldenChanges = golden.goldens.map((g) => ({
    type: 'GOLDEN_RECORD_CHANGED' as const,
    actor: goldenChange.actor,
    identityId: g.id,
    data: { fields: golden.changedFields.get(g.id) ?? [] },
    versions: { identity: 2, policy: goldenChange.policyVersion },
  }));
  await copyRows(tx, changeEvents, changeRows([...chunk.ops.changes, ...goldenChanges]));
}

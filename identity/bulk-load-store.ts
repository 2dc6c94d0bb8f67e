import { sql } from 'drizzle-orm';
import { copyRows, type InsertRow } from '../platform/db/bulk.ts';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { changeEvents, identities, identityEvents, links, reviewItems, sourceRecords } from '../platform/db/schema/index.ts';
import { changeRows } from '../events/index.ts';
import { replaceBlockKeysMany, type RecordUpsert } from './bulk-store.ts';
import type { OpRows } from './ingest-batch.ts';

/** Writes of the bulk load: one COPY per table on PostgreSQL, multi-row inserts on the embedded database. */

/** Whether the index holds no record yet (then nothing stored can be a candidate or a repeat). */
export async function indexIsEmpty(db: Executor): Promise<boolean> {
  const [row] = await queryRows<{ empty: boolean }>(db, sql`select not exists (select 1 from source_records) as empty`);
  return row!.empty;
}

/** What one chunk writes: new records, their blocking keys, and the rows of its plan. */
export interface ChunkRows {
  records: RecordUpsert[];
  keys: Array<{ recordId: string; keys: string[] }>;
  ops: OpRows;
}

/**
 * Writes a chunk of new records and what their plan decided, in table order (identities before the links,
 * events and reviews that refer to them). The records are new, so nothing is updated or deleted; the keys are
 * hashed by the server (`hashtextextended`) as online ingest hashes them, in one statement.
 */
export async function copyChunk(tx: Executor, chunk: ChunkRows): Promise<void> {
  if (chunk.ops.absorbed.length > 0) throw new Error('a bulk load plans new records only: nothing can be absorbed');
  await copyRows(tx, sourceRecords, chunk.records as Array<InsertRow<typeof sourceRecords>>);
  await replaceBlockKeysMany(
    tx,
    chunk.keys.map((k) => ({ ...k, stored: false })),
  );
  await copyRows(
    tx,
    identities,
    chunk.ops.newIdentities.map((id) => ({ id })),
  );
  await copyRows(tx, links, chunk.ops.links as Array<InsertRow<typeof links>>);
  await copyRows(tx, identityEvents, chunk.ops.events as Array<InsertRow<typeof identityEvents>>);
  await copyRows(tx, reviewItems, chunk.ops.reviews as Array<InsertRow<typeof reviewItems>>);
  await copyRows(tx, changeEvents, changeRows(chunk.ops.changes));
}

import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateRegistry } from '../bench/synth/generate.ts';
import { blockingKeys, normaliseRecord } from '../matching/index.ts';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { openTestDatabase, TEST_DB_KIND } from '../test/db.ts';
import { StoredKeyFilter } from './bulk-index.ts';
import { readStoredKeyHashes, sortedKeyRows } from './bulk-load-store.ts';
import { hashKey, int64Text } from './key-hash.ts';

/** Keys of every length around lookup3's 12-byte blocks, multi-byte characters, and real blocking keys. */
function sampleKeys(): string[] {
  const keys = ['', 'a', 'Zoë', 'ñandú', '東京', 'emoji 🎉 key', 'x'.repeat(200)];
  for (let n = 1; n <= 40; n++) keys.push(Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7 + n) % 94))).join(''));
  for (const r of generateRegistry({ seed: 5, records: 60 })) {
    const { record } = normaliseRecord({
      givenName: r.givenName,
      familyName: r.familyName,
      birthDate: r.birthDate,
      postalCode: r.postalCode,
    });
    keys.push(...blockingKeys(record));
  }
  return [...new Set(keys)];
}

describe(`blocking key hash on ${TEST_DB_KIND}`, () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  test('is the hash the server stores for a key (hashtextextended with seed 0)', async () => {
    const keys = sampleKeys();
    expect(keys.length).toBeGreaterThan(100);
    const rows = await queryRows<{ key: string; hash: string }>(
      database.db,
      sql`select k as key, hashtextextended(k, 0)::text as hash from unnest(${sql.param(keys)}::text[]) as k`,
    );
    expect(rows).toHaveLength(keys.length);
    expect(rows.filter((r) => hashKey(r.key) !== r.hash).map((r) => r.key)).toEqual([]);
  });

  test("orders a bulk load's key rows as the server orders the key index (hash, then record id)", async () => {
    const keys = sampleKeys();
    // Records sharing keys (so one hash comes with several record ids), given with their ids out of order.
    const entries = Array.from({ length: 9 }, (_, i) => ({
      recordId: `00000000-0000-4000-8000-${String((i * 5) % 9).padStart(12, '0')}`,
      keys: keys.filter((_, k) => k % 3 === i % 3 || k < 5),
    }));
    const rows = sortedKeyRows(entries);
    expect(rows).toHaveLength(entries.reduce((n, e) => n + e.keys.length, 0));
    expect(rows.every((r, k) => k === 0 || rows[k - 1]!.keyHash !== r.keyHash || rows[k - 1]!.recordId !== r.recordId)).toBe(true);
    const server = await queryRows<{ hash: string; record_id: string }>(
      database.db,
      sql`select h::text as hash, r::text as record_id
        from unnest(${sql.param(rows.map((r) => String(r.keyHash)))}::bigint[], ${sql.param(rows.map((r) => String(r.recordId)))}::uuid[]) as u(h, r)
        order by h, r`,
    );
    expect(rows.map((r) => `${String(r.keyHash)} ${String(r.recordId)}`)).toEqual(server.map((r) => `${r.hash} ${r.record_id}`));
  });

  test('a load reads every stored key hash, range by range of the table, and its filter holds each key', async () => {
    const keys = sampleKeys();
    // Enough rows for several table pages (about 170 a page), some keys stored for more than one record.
    const rows = Array.from({ length: 1200 }, (_, i) => ({
      key: keys[i % keys.length]!,
      recordId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    await database.db.execute(sql`insert into record_block_keys (key_hash, record_id)
      select hashtextextended(k, 0), r from unnest(${sql.param(rows.map((r) => r.key))}::text[], ${sql.param(rows.map((r) => r.recordId))}::uuid[]) as u(k, r)`);
    const stored = await queryRows<{ hash: string }>(database.db, sql`select key_hash::text as hash from record_block_keys`);
    expect(stored.length).toBeGreaterThanOrEqual(rows.length);
    const pages = await queryRows<{ n: number }>(
      database.db,
      sql`select (pg_relation_size('record_block_keys') / current_setting('block_size')::int)::int as n`,
    );
    expect(pages[0]!.n).toBeGreaterThan(3);

    const read: string[] = [];
    let expected = 0;
    const filter = { current: undefined as StoredKeyFilter | undefined };
    await readStoredKeyHashes(
      database.db,
      (count) => {
        expected = count;
        filter.current = new StoredKeyFilter(count);
      },
      (hi, lo) => {
        read.push(int64Text(hi, lo));
        filter.current!.addWords(hi, lo);
      },
      1,
    );
    expect(expected).toBeGreaterThan(0);
    // Each row once: no page range read twice or skipped.
    expect(read.sort()).toEqual(stored.map((r) => r.hash).sort());
    expect(keys.filter((k) => !filter.current!.has(k))).toEqual([]);
    // Keys never stored are let through only now and then (each costs one probe the filter would have saved).
    const unseen = Array.from({ length: 20_000 }, (_, i) => `unseen key ${i}`);
    expect(unseen.filter((k) => filter.current!.has(k)).length).toBeLessThan(unseen.length / 100);
  });
});

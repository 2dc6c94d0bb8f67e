import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import { PROVENANCE_COPY_ROWS } from '../lineage/store.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

/** Fields each test record fills: the rebuild opens one provenance row per identity and field. */
const FIELDS = ['given_name', 'family_name', 'city'] as const;
/** Identities, so that one rebuild opens (and then closes and reopens) more rows than PROVENANCE_COPY_ROWS. */
const IDENTITIES = Math.ceil(PROVENANCE_COPY_ROWS / FIELDS.length) + 10;

/** Every identity with one record of one source, linked; values that name only the row number. */
async function seed(app: TestApp): Promise<string[]> {
  const db = app.services.database.db;
  await db.execute(sql`insert into sources (code, name) values ('golden-copy', 'golden copy test')`);
  await db.execute(sql`
    insert into source_records (id, source_id, local_id, raw, normalised, normaliser_version, content_hash,
      given_name, family_name, city)
    select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, s.id, 'r' || i, '{}', '{}', 'test', 'h' || i,
      'given ' || i, 'family ' || i, 'city ' || i
    from generate_series(1, ${IDENTITIES}) as i, sources s where s.code = 'golden-copy'`);
  await db.execute(sql`
    insert into identities (id) select ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid
    from generate_series(1, ${IDENTITIES}) as i`);
  await db.execute(sql`
    insert into links (record_id, identity_id, match_result, link_source)
    select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
      'MATCH', 'AUTO'
    from generate_series(1, ${IDENTITIES}) as i`);
  const rows = await queryRows<{ id: string }>(db, sql`select id from identities order by id`);
  return rows.map((r) => r.id);
}

async function rebuild(app: TestApp, ids: string[]): Promise<void> {
  await app.services.database.db.transaction(async (tx) => {
    await rebuildGoldenMany(tx, ids, { policy: await loadActivePolicy(tx) });
  });
}

describe(`rebuilding many golden records on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let ids: string[];

  beforeAll(async () => {
    app = await createTestApp();
    ids = await seed(app);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  test('opens more provenance rows than a statement carries, then closes and reopens them all at once', async () => {
    const db = app.services.database.db;
    await rebuild(app, ids);
    const opened = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from field_provenance where valid_to is null`);
    expect(opened[0]!.n).toBe(IDENTITIES * FIELDS.length);
    // Every field of every record changes: the next rebuild closes each open row and opens its successor.
    await db.execute(sql`update source_records set given_name = given_name || ' b', family_name = family_name || ' b',
      city = city || ' b', updated_at = now()`);
    await rebuild(app, ids);
    const rows = await queryRows<{ open: number; closed: number; stale: number; golden: number }>(
      db,
      sql`select
        (select count(*)::int from field_provenance where valid_to is null) as open,
        (select count(*)::int from field_provenance where valid_to is not null) as closed,
        (select count(*)::int from field_provenance where valid_to is null and value not like '% b') as stale,
        (select count(*)::int from identities where golden->>'city' like '% b') as golden`,
    );
    expect(rows[0]).toEqual({ open: IDENTITIES * FIELDS.length, closed: IDENTITIES * FIELDS.length, stale: 0, golden: IDENTITIES });
  }, 120_000);
});

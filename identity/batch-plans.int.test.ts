import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { openTestDatabase, TEST_DB_KIND } from '../test/db.ts';
import { closeProvenanceRows, closeProvenanceRowsQuery } from '../lineage/store.ts';
import { planForBatch, recordsBySourceQuery } from './bulk-store.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Join Filter'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

const STORED = 3_000;

/** A text array as a literal (EXECUTE takes no bound parameters under EXPLAIN); the test's values hold no quote. */
const literal = (values: string[]) => `array[${values.map((v) => `'${v}'`).join(', ')}]::text[]`;

describe(`batch plans on ${TEST_DB_KIND}`, () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await openTestDatabase();
    const { db } = database;
    await db.execute(sql`insert into sources (code, name) values ('lab', 'Lab'), ('ehr', 'EHR')`);
    // Statistics of an empty index (the sources table never analysed), as a fresh database has them for a while
    // after its first feed starts: autovacuum analyses a table at most about once a minute.
    await db.execute(sql`analyze source_records, links`);
    await db.execute(sql`insert into source_records (source_id, local_id, raw, normalised, normaliser_version, content_hash)
      select (select id from sources where code = 'lab'), 'L' || g, '{}', '{}', 'test', 'h' || g from generate_series(1, ${STORED}) as g`);
  });
  afterAll(async () => {
    await database?.close();
  });

  test("looks stored records up by one probe each, even on an empty index's statistics and a generic plan", async () => {
    const refs = [
      { code: 'lab', localId: 'L17' },
      { code: 'lab', localId: 'L2999' },
      { code: 'lab', localId: 'missing' },
      { code: 'ehr', localId: 'L17' },
    ];
    const query = new PgDialect().sqlToQuery(recordsBySourceQuery(refs));
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
      await tx.execute(sql.raw(`prepare stored_lookup(text[], text[]) as ${query.sql}`));
      const [row] = await queryRows<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> | string }>(
        tx,
        sql.raw(`explain (format json) execute stored_lookup(${literal(refs.map((r) => r.code))}, ${literal(refs.map((r) => r.localId))})`),
      );
      await tx.execute(sql`deallocate stored_lookup`);
      const explained = row!['QUERY PLAN'];
      const plan = (typeof explained === 'string' ? JSON.parse(explained) : explained)[0].Plan as PlanNode;
      const scans = nodes(plan).filter((n) => n['Relation Name'] === 'source_records');
      expect(scans.length).toBeGreaterThan(0);
      // Every read of source_records is a probe of the unique index on both columns, never a scan of a source.
      for (const scan of scans) {
        expect(scan['Node Type']).toMatch(/Index/);
        expect(scan['Index Name']).toBe('source_records_source_local_uq');
        expect(scan['Index Cond']).toContain('local_id');
      }
      const found = await queryRows<{ code: string; local_id: string }>(tx, recordsBySourceQuery(refs));
      expect(found.map((r) => `${r.code}/${r.local_id}`).sort()).toEqual(['lab/L17', 'lab/L2999']);
    });
  });

  test('closes provenance rows by one probe each, even when the statistics say few rows are open', async () => {
    const { db } = database;
    const provenance = (from: number, to: number, open: string) =>
      db.execute(sql`insert into field_provenance (identity_id, field, value, rule, policy_version, valid_to)
        select gen_random_uuid(), 'givenName', 'v', 'r', 1, case when ${sql.raw(open)} then null else now() end
        from generate_series(${from}::int, ${to}::int) as g`);
    // Analysed while almost every row was closed, then 40,000 open rows: the server expects few open rows.
    await provenance(1, 3_000, 'g % 100 = 0');
    await db.execute(sql`analyze field_provenance`);
    await provenance(3_001, 43_000, 'true');
    const ids = (
      await queryRows<{ id: string }>(db, sql`select id::text from field_provenance where id > 3000 order by id limit 2000`)
    ).map((r) => Number(r.id));
    const closedBefore = (
      await queryRows<{ id: string }>(
        db,
        sql`select id::text from field_provenance where id <= 300 and valid_to is not null order by id limit 5`,
      )
    ).map((r) => Number(r.id));
    await db.transaction(async (tx) => {
      await planForBatch(tx);
      const rows = await queryRows<{ 'QUERY PLAN': string }>(tx, sql`explain ${closeProvenanceRowsQuery(ids, sql`now()`)}`);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('Tid Scan');
      expect(plan).not.toContain('field_provenance_open_uq');
      await closeProvenanceRows(tx, [...ids, ...closedBefore], sql`'2030-01-01T00:00:00Z'::timestamptz`);
    });
    const [closed] = await queryRows<{ n: number; untouched: number }>(
      db,
      sql`select count(*) filter (where valid_to = '2030-01-01T00:00:00Z')::int as n,
        count(*) filter (where id = any(${sql.param(closedBefore.map(String))}::bigint[]) and valid_to <> '2030-01-01T00:00:00Z')::int as untouched
        from field_provenance`,
    );
    expect(closed!.n).toBe(2000);
    expect(closed!.untouched).toBe(closedBefore.length);
  });

  test("plans a batch's statements for their values, for its own transaction only", async () => {
    const setting = async (tx: Parameters<typeof planForBatch>[0]) =>
      (await queryRows<{ mode: string }>(tx, sql`select current_setting('plan_cache_mode') as mode`))[0]!.mode;
    let inside = '';
    await database.db.transaction(async (tx) => {
      await planForBatch(tx);
      inside = await setting(tx);
    });
    expect(inside).toBe('force_custom_plan');
    expect(await setting(database.db)).toBe('auto');
  });
});

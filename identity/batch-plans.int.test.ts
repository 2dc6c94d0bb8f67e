import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { openTestDatabase, TEST_DB_KIND } from '../test/db.ts';
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

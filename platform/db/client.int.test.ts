import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, TEST_DB_KIND } from '../../test/db.ts';
import { queryRows, type DatabaseHandle, type Executor } from './client.ts';

let handle: DatabaseHandle;
beforeAll(async () => {
  handle = await openTestDatabase();
});
afterAll(async () => {
  await handle.close();
});

/** Prepared statements of the connection `db` runs on whose text contains `marker`. */
async function preparedWith(db: Executor, marker: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%`} and statement not like '%pg_prepared_statements%'`,
  );
  return row!.n;
}

describe.runIf(TEST_DB_KIND === 'postgres')('PostgreSQL client', () => {
  test("runs a transaction's statements as prepared statements, prepared once per connection", async () => {
    const results = await handle.db.transaction(async (tx) => {
      const sums: number[] = [];
      for (const n of [1, 2, 3]) {
        const [row] = await queryRows<{ sum: number }>(tx, sql`select 40 + ${n}::int as sum /* prepared-in-tx */`);
        sums.push(row!.sum);
      }
      return { sums, prepared: await preparedWith(tx, 'prepared-in-tx') };
    });
    expect(results.sums).toEqual([41, 42, 43]);
    expect(results.prepared).toBe(1);
  });

  test('prepares statements inside savepoints (nested transactions) too', async () => {
    const prepared = await handle.db.transaction(async (tx) =>
      tx.transaction(async (inner) => {
        await queryRows(inner, sql`select ${1}::int as one /* prepared-in-savepoint */`);
        return preparedWith(inner, 'prepared-in-savepoint');
      }),
    );
    expect(prepared).toBe(1);
  });

  test('a failed statement in a pipeline rolls the whole transaction back', async () => {
    await handle.db.execute(sql`create table if not exists pipeline_probe (n int primary key)`);
    await expect(
      handle.db.transaction(async (tx) => {
        await Promise.all([
          tx.execute(sql`insert into pipeline_probe values (${1})`),
          tx.execute(sql`insert into pipeline_probe values (${1})`),
          tx.execute(sql`insert into pipeline_probe values (${2})`),
        ]);
      }),
    ).rejects.toThrow();
    expect(await queryRows(handle.db, sql`select n from pipeline_probe`)).toEqual([]);
  });

  test('compiles no statement with JIT, on the pool and on the candidate readers', async () => {
    const jit = async (db: Executor) => (await queryRows<{ jit: string }>(db, sql`select current_setting('jit') as jit`))[0]!.jit;
    expect(await jit(handle.db)).toBe('off');
    expect(await jit(handle.reader!)).toBe('off');
  });
});

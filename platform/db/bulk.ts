import { getTableColumns, getTableName, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * Set-based statements whose size does not grow with the number of rows. A drizzle `values([...])` or
 * `inArray` binds one parameter per cell: thousands of parameters for a batch, each built here and parsed and
 * planned by PostgreSQL. These bind one parameter per statement instead.
 */

/**
 * `insert into <table> (...) select ... from json_to_recordset($1)`: the rows travel as one JSON document.
 * Keys are the table's column properties; a key left undefined in every row is left to its column default,
 * and a key undefined in some rows stores null there. Any value may also be given in its PostgreSQL text form
 * (a timestamp read back as text keeps its microseconds). `suffix` follows the insert (e.g. on conflict).
 */
export function insertRows<T extends PgTable>(table: T, rows: ReadonlyArray<InsertRow<T>>, suffix?: SQL): SQL {
  const columns = Object.entries(getTableColumns(table));
  const used = columns.filter(([key]) => rows.some((row) => (row as Record<string, unknown>)[key] !== undefined));
  if (used.length === 0) throw new Error(`insertRows(${getTableName(table)}): rows set no column`);
  const document = JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [key, column] of used) out[column.name] = (row as Record<string, unknown>)[key] ?? null;
      return out;
    }),
  );
  const names = used.map(([, column]) => `"${column.name}"`).join(', ');
  const definitions = used.map(([, column]) => `"${column.name}" ${column.getSQLType()}`).join(', ');
  return sql`insert into ${table} (${sql.raw(names)}) select ${sql.raw(names)} from json_to_recordset(${document}::json) as r(${sql.raw(definitions)})${suffix ?? sql``}`;
}

/** A row for `insertRows`: column properties with their values or their text form. */
export type InsertRow<T extends PgTable> = { [K in keyof T['$inferInsert']]?: T['$inferInsert'][K] | string };

/** `= any($1::<type>[])` with the values as one array parameter. */
export function anyOf(column: SQLWrapper, values: readonly unknown[], type: string): SQL {
  return sql`${column} = any(${sql.param([...new Set(values)])}::${sql.raw(type)}[])`;
}

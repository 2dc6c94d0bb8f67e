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

/** Rows per multi-row insert where COPY is not available (the embedded database). */
export const INSERT_SLICE = 2_000;

/** The postgres.js client under a drizzle PostgreSQL database or transaction; undefined on PGlite. */
function postgresClientOf(tx: unknown): PostgresClient | undefined {
  const client = (tx as { session?: { client?: unknown } }).session?.client as PostgresClient | undefined;
  return client && typeof client.unsafe === 'function' ? client : undefined;
}

/** Whether `tx` runs on PostgreSQL (where `copyRows` copies) rather than the embedded database. */
export function isPostgres(tx: unknown): boolean {
  return postgresClientOf(tx) !== undefined;
}

type PostgresClient = {
  unsafe(text: string): { writable(): Promise<NodeJS.WritableStream> };
};

/** The characters COPY's text format reserves in a value. */
const RESERVED = /[\\\t\n\r]/;
const RESERVED_ALL = /[\\\t\n\r]/g;
const escapeReserved = (c: string): string => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r');

/**
 * One value in COPY's text format: `\N` for null, backslash escapes for the characters the format reserves.
 * Numbers, booleans and dates cannot hold them; a string is only rewritten when it does.
 */
function copyText(value: unknown, json: boolean): string {
  if (value === null || value === undefined) return '\\N';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  else if (value instanceof Date) return value.toISOString();
  else text = json ? JSON.stringify(value) : arrayLiteral(value as unknown[]);
  return RESERVED.test(text) ? text.replace(RESERVED_ALL, escapeReserved) : text;
}

/** A PostgreSQL array literal of text elements (`{"a","b"}`). */
function arrayLiteral(values: unknown[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

/**
 * Writes rows into `table` inside `tx`: with `COPY ... FROM STDIN` on PostgreSQL (one stream, no statement
 * per row, no parameters), else with multi-row inserts of INSERT_SLICE rows. Rows are column properties as for
 * `insertRows`; a column no row sets is left to its default.
 */
export async function copyRows<T extends PgTable>(tx: unknown, table: T, rows: ReadonlyArray<InsertRow<T>>): Promise<void> {
  if (rows.length === 0) return;
  const client = postgresClientOf(tx);
  if (!client) {
    const executor = tx as { execute(query: SQL): Promise<unknown> };
    for (let start = 0; start < rows.length; start += INSERT_SLICE)
      await executor.execute(insertRows(table, rows.slice(start, start + INSERT_SLICE)));
    return;
  }
  const columns = Object.entries(getTableColumns(table)).filter(([key]) =>
    rows.some((row) => (row as Record<string, unknown>)[key] !== undefined),
  );
  const names = columns.map(([, column]) => `"${column.name}"`).join(', ');
  const stream = await client.unsafe(`copy "${getTableName(table)}" (${names}) from stdin`).writable();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  const keys = columns.map(([key]) => key);
  const json = columns.map(([, column]) => column.getSQLType().startsWith('json'));
  // Each line encoded straight into a buffer: a text of many lines joined and then encoded is flattened first and
  // copied once more (loading 100,000 records spent 7.7 s in this function that way, 6.8 s this way).
  let buffer = Buffer.allocUnsafe(COPY_BUFFER);
  let at = 0;
  for (const row of rows) {
    const values = row as Record<string, unknown>;
    let line = copyText(values[keys[0]!], json[0]!);
    for (let i = 1; i < keys.length; i++) line += `\t${copyText(values[keys[i]!], json[i]!)}`;
    line += '\n';
    // Room for the line's bytes at most: three per UTF-16 unit.
    const need = 3 * line.length;
    if (at + need > buffer.length) {
      if (at > 0 && !stream.write(buffer.subarray(0, at))) await new Promise((resolve) => stream.once('drain', resolve));
      buffer = Buffer.allocUnsafe(Math.max(COPY_BUFFER, need));
      at = 0;
    }
    at += buffer.write(line, at);
  }
  stream.end(buffer.subarray(0, at));
  await done;
}

/** Bytes sent to a COPY at a time. */
const COPY_BUFFER = 1 << 20;

import { resolveCursorConnection } from '@pothos/plugin-relay';
import { isTimeKey, type TimeKey } from '../../platform/db/keyset.ts';
import { ValidationError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';

/** The relay arguments every connection takes. */
export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** Refuses a page size past the limit (or below zero) instead of quietly returning a shorter page. */
export function checkPageSize(args: PageArgs, max: number): void {
  for (const key of ['first', 'last'] as const) {
    const size = args[key];
    if (size === null || size === undefined) continue;
    if (size < 0) throw ValidationError.of(key, 'OUT_OF_RANGE', 'must not be negative');
    if (size > max) throw ValidationError.of(key, 'TOO_MANY', `at most ${max} per page`);
  }
}

/**
 * Opaque keyset cursors: the list's name and the sort key of a row, as base64url JSON. The name keeps a cursor
 * from one list being passed to another; the key lets the next page start exactly after the row.
 */
export function encodeCursor(list: string, key: unknown[]): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString('base64url');
}

/** The sort key in a cursor of `list`, checked by `valid`; a foreign or damaged cursor is INVALID_CURSOR. */
export function decodeCursor<K extends unknown[]>(list: string, cursor: string, field: string, valid: (key: unknown[]) => key is K): K {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && parsed[0] === list) {
    const key = parsed.slice(1);
    if (valid(key)) return key;
  }
  throw ValidationError.of(field, 'INVALID_CURSOR', `must be a cursor returned by ${list}`);
}

/** What a counted connection's resolver returns besides edges and page info. */
export interface Counted {
  totalCount: () => Promise<number>;
}

interface KeysetOptions<Row, K> {
  list: string;
  args: PageArgs;
  defaultSize: number;
  maxSize: number;
  keyOf: (row: Row) => unknown[];
  parseKey: (key: unknown[]) => key is unknown[];
  toKey: (key: unknown[]) => K;
  load: (page: { after: K | null; before: K | null; limit: number; inverted: boolean }) => Promise<Row[]>;
  /** Counted only when the client selects `totalCount`. */
  count: () => Promise<number>;
}

export interface KeysetConnection<Row> extends Counted {
  edges: Array<{ cursor: string; node: Row }>;
  pageInfo: { startCursor: string | null; endCursor: string | null; hasPreviousPage: boolean; hasNextPage: boolean };
}

/** A connection paged by keyset, with a bounded page size and a lazily counted `totalCount`. */
export async function keysetConnection<Row, K>(options: KeysetOptions<Row, K>): Promise<KeysetConnection<Row>> {
  const { list, args } = options;
  checkPageSize(args, options.maxSize);
  const keyAt = (cursor: string | null | undefined, field: string): K | null =>
    cursor ? options.toKey(decodeCursor(list, cursor, field, options.parseKey)) : null;
  const connection = await resolveCursorConnection(
    { args, toCursor: (row) => encodeCursor(list, options.keyOf(row as Row)), defaultSize: options.defaultSize, maxSize: options.maxSize },
    ({ limit, inverted }) => options.load({ after: keyAt(args.after, 'after'), before: keyAt(args.before, 'before'), limit, inverted }),
  );
  return { ...(connection as Omit<KeysetConnection<Row>, 'totalCount'>), totalCount: options.count };
}

/**
 * A connection newest first by the time keyset of `platform/db/keyset.ts` (a row's time and id), 20 a page by
 * default and at most 100: identities and ingest runs.
 */
export function timeKeysetConnection<Row extends { sortKey: string; id: string }>(options: {
  list: string;
  args: PageArgs;
  load: (page: { after: TimeKey | null; before: TimeKey | null; limit: number; inverted: boolean }) => Promise<Row[]>;
  count: () => Promise<number>;
}): Promise<KeysetConnection<Row>> {
  return keysetConnection<Row, TimeKey>({
    ...options,
    defaultSize: 20,
    maxSize: 100,
    keyOf: (row) => [row.sortKey, row.id],
    parseKey: isTimeKey,
    toKey: ([at, id]) => ({ at: at as string, id: id as string }),
  });
}

/**
 * A connection type named after its node (`ReviewItemConnection`, `ReviewItemEdge`) rather than after the field
 * that returns it, so two fields can share it; `counted` adds `totalCount`.
 */
export function namedConnection<Type extends Parameters<typeof builder.connectionObject>[0]['type']>(
  type: Type,
  node: string,
  options: { counted?: boolean } = {},
) {
  return builder.connectionObject(
    {
      type,
      name: `${node}Connection`,
      fields: (t) =>
        Object.fromEntries(
          options.counted
            ? [
                [
                  'totalCount',
                  t.int({
                    description: 'How many items the filter matches in all, on every page (counted when selected).',
                    resolve: (connection) => (connection as unknown as Counted).totalCount(),
                  }),
                ],
              ]
            : [],
        ),
    },
    { name: `${node}Edge` },
  );
}

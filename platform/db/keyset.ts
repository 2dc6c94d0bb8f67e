import { asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { isUuid } from '../ids.ts';

/** One page of a list read by keyset: the rows after and/or before a sort key, at most `limit` of them. */
export interface KeysetPage<K> {
  after: K | null;
  before: K | null;
  limit: number;
  /** Paging backwards: rows come nearest-first, and the caller reverses them. */
  inverted: boolean;
}

/**
 * The sort key of a list ordered by a timestamp, then id: the timestamp as PostgreSQL prints it (microseconds and
 * offset kept, which a JavaScript Date would round away), so a page starts exactly after the row it names.
 */
export interface TimeKey {
  at: string;
  id: string;
}

/**
 * The parts of a keyset read over (time, id), in either direction: `sortKey` to select beside the row (it becomes
 * the cursor), the condition past the page's keys, and the order. A row comparison keeps (time, id) index-friendly.
 */
export function timeKeyset(time: AnyColumn, id: AnyColumn, page: KeysetPage<TimeKey>, descending: boolean) {
  const past = (key: TimeKey, forward: boolean): SQL =>
    descending === forward
      ? sql`(${time}, ${id}) < (${key.at}::timestamptz, ${key.id}::uuid)`
      : sql`(${time}, ${id}) > (${key.at}::timestamptz, ${key.id}::uuid)`;
  const down = descending !== page.inverted;
  return {
    sortKey: sql<string>`${time}::text`,
    where: [page.after ? past(page.after, true) : undefined, page.before ? past(page.before, false) : undefined],
    orderBy: down ? [desc(time), desc(id)] : [asc(time), asc(id)],
  };
}

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/**
 * Whether `text` is a time as PostgreSQL prints a timestamptz, and one it reads back: a real day of a year from 1,
 * a time of day, and an offset within PostgreSQL's ±15:59:59.
 */
function isTimestampText(text: string): boolean {
  const parts = TIMESTAMP_TEXT.exec(text);
  if (!parts) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes, offsetSeconds] = parts.slice(1).map((p) => Number(p ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHours! <= 15 &&
    offsetMinutes! <= 59 &&
    offsetSeconds! <= 59
  );
}

/** Whether a decoded cursor key is a TimeKey's [at, id]: anything else is refused before it reaches SQL. */
export function isTimeKey(key: unknown[]): key is [string, string] {
  return key.length === 2 && typeof key[0] === 'string' && isTimestampText(key[0]) && typeof key[1] === 'string' && isUuid(key[1]);
}

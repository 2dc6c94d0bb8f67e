import type { PreparedRecord } from './prepared.ts';

/**
 * Birth-date rarity. Two records sharing a common birth date are weaker evidence than two sharing a rare one:
 * registries heap on January 1st and the 1st of the month (dates unknown to the clerk or the immigration
 * office), and a hospital's newborns and elderly are not spread evenly over the years. A frequency per date
 * value, as the name comparisons use (Winkler 1989), cannot be estimated: there are tens of thousands of dates
 * and most appear once or twice in a file, so a count of one would read as "common" in any small file. The
 * frequency of a date is taken instead as the share of its year times the share of its day of the year, two
 * tables of ~100 and 366 values that a few thousand records fill, each drawn towards a uniform spread by
 * pseudo-records so that a small file barely moves the weight.
 */
export interface DateFrequency {
  /** Share of records born in each year ("1984"). */
  years: Record<string, number>;
  /** Share of records born on each day of the year ("0719"). */
  monthDays: Record<string, number>;
  /** Share assumed for a year outside the table. */
  otherYear: number;
  /** Share assumed for a day of the year outside the table. */
  otherMonthDay: number;
}

/** Pseudo-records per table value, spread evenly: at 10 each, a year needs thousands of records to move much. */
export const DATE_PRIOR_RECORDS_PER_VALUE = 10;
const MONTH_DAYS = 366;
/**
 * Bounds of the adjustment, in bits. Downwards it may take most of an exact date's weight (a heaped placeholder
 * such as 1900-01-01 says little); upwards it stays small, so a rare date alone cannot carry a link that the
 * rest of the record does not support.
 */
export const MIN_DATE_ADJUSTMENT = -8;
export const MAX_DATE_ADJUSTMENT = 2;

const pad = (n: number) => (n < 10 ? `0${n}` : String(n));
const monthDayKey = (r: PreparedRecord) => `${pad(r.birthMonth)}${pad(r.birthDay)}`;

/** The year and day-of-year shares of the full birth dates of `records`, or null when there are none. */
export function buildDateFrequency(records: readonly PreparedRecord[]): DateFrequency | null {
  const years = new Map<number, number>();
  const monthDays = new Map<string, number>();
  let total = 0;
  for (const r of records) {
    if (r.birthDigits === null) continue;
    years.set(r.birthYear, (years.get(r.birthYear) ?? 0) + 1);
    const md = monthDayKey(r);
    monthDays.set(md, (monthDays.get(md) ?? 0) + 1);
    total++;
  }
  if (total === 0) return null;
  const yearValues = [...years.keys()];
  const span = Math.max(...yearValues) - Math.min(...yearValues) + 1;
  const share = (counts: Map<string | number, number>, values: number) => {
    const prior = DATE_PRIOR_RECORDS_PER_VALUE * values;
    const out: Record<string, number> = {};
    for (const [value, count] of [...counts].sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1))) {
      out[String(value)] = (count + DATE_PRIOR_RECORDS_PER_VALUE) / (total + prior);
    }
    return { table: out, other: DATE_PRIOR_RECORDS_PER_VALUE / (total + prior) };
  };
  const y = share(years, span);
  const md = share(monthDays, MONTH_DAYS);
  return { years: y.table, monthDays: md.table, otherYear: y.other, otherMonthDay: md.other };
}

/**
 * The adjustment of an exact birth-date agreement on the date of `a`: log2 of the average date frequency
 * (the chance two non-matching records share a date, sum of squared shares) over this date's frequency,
 * bounded. Zero on average over chance agreements, negative for a common date, positive for a rare one.
 */
export function compileDateFrequency(table: DateFrequency): (a: PreparedRecord) => number {
  const years = new Map(Object.entries(table.years).map(([k, v]) => [Number(k), v]));
  const yearSpan = years.size === 0 ? 0 : Math.max(...years.keys()) - Math.min(...years.keys()) + 1;
  // Values no record has keep their pseudo-record share: leaving them out would bias every adjustment down.
  const sumSquares = (shares: Record<string, number>, values: number, other: number) => {
    const listed = Object.values(shares);
    return listed.reduce((s, f) => s + f * f, 0) + Math.max(0, values - listed.length) * other * other;
  };
  const mean = sumSquares(table.years, yearSpan, table.otherYear) * sumSquares(table.monthDays, MONTH_DAYS, table.otherMonthDay);
  // Keyed by month * 100 + day: the hot loop builds no strings.
  const monthDays = new Map(Object.entries(table.monthDays).map(([k, v]) => [Number(k), v]));
  return (a) => {
    if (a.birthDigits === null) return 0;
    const f = (years.get(a.birthYear) ?? table.otherYear) * (monthDays.get(a.birthMonth * 100 + a.birthDay) ?? table.otherMonthDay);
    return Math.min(MAX_DATE_ADJUSTMENT, Math.max(MIN_DATE_ADJUSTMENT, Math.log2(mean / f)));
  };
}

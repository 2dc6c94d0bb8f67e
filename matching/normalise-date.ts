import type { FieldIssue } from './normalise-name.ts';

/** Oldest birth year we accept: no living person, or record of one, predates it (oldest verified age 122). */
export const MIN_BIRTH_YEAR = 1870;

export interface CleanDate {
  /** ISO `YYYY-MM-DD`, or a partial `YYYY-MM` / `YYYY` when only those parts are known. */
  value: string | null;
  issue: FieldIssue | null;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1-12) of `year` in the Gregorian calendar (without making a Date: this runs for every row). */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1] ?? 0;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

interface DateParts {
  year: number;
  month: number | null;
  day: number | null;
}

/** Splits the accepted layouts into parts; null when the layout is not recognised. */
function parseLayout(text: string): DateParts | null {
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(text); // YYYYMMDD
  if (m) return { year: +m[1]!, month: +m[2]!, day: +m[3]! };
  m = /^(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})(?:[T ]\d.*)?$/.exec(text); // YYYY-MM-DD (or parts), optional time
  if (m) return { year: +m[1]!, month: +m[2]!, day: +m[3]! };
  m = /^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$/.exec(text); // MM/DD/YYYY (US), DD/MM/YYYY when MM > 12
  if (m) {
    const first = +m[1]!;
    const second = +m[2]!;
    return first > 12 && second <= 12 ? { year: +m[3]!, month: second, day: first } : { year: +m[3]!, month: first, day: second };
  }
  m = /^(\d{4})(?:[-/ ](\d{1,2})|(\d{2}))$/.exec(text); // YYYY-MM, YYYYMM
  if (m) return { year: +m[1]!, month: +(m[2] ?? m[3])!, day: null };
  m = /^(\d{4})$/.exec(text);
  if (m) return { year: +m[1]!, month: null, day: null };
  return null;
}

const invalid = (field: string, message: string): CleanDate => ({
  value: null,
  issue: { field, code: 'INVALID_DATE', message },
});

/**
 * Parses a birth date in YYYYMMDD, YYYY-MM-DD, MM/DD/YYYY (DD/MM/YYYY when unambiguous), YYYY-MM or YYYY.
 * Impossible or implausible dates become missing with an issue; `asOf` (ISO date, supplied by the caller since
 * the core has no clock) enables the FUTURE_DATE check.
 */
export function cleanBirthDate(raw: string | null | undefined, field: string, asOf?: string): CleanDate {
  if (raw === null || raw === undefined) return { value: null, issue: null };
  const text = raw.trim();
  if (text === '') return { value: null, issue: null };
  const parts = parseLayout(text);
  if (!parts) return invalid(field, `${field} is not a recognised date layout`);
  const { year, month, day } = parts;
  if (year < MIN_BIRTH_YEAR) return invalid(field, `${field} year is implausibly early`);
  if (month !== null && (month < 1 || month > 12)) return invalid(field, `${field} month is out of range`);
  if (month !== null && day !== null && (day < 1 || day > daysInMonth(year, month))) {
    return invalid(field, `${field} day is out of range for its month`);
  }
  const value = month === null ? String(year) : day === null ? `${year}-${pad2(month)}` : `${year}-${pad2(month)}-${pad2(day)}`;
  if (asOf !== undefined && value.localeCompare(asOf.slice(0, value.length)) > 0) {
    return { value: null, issue: { field, code: 'FUTURE_DATE', message: `${field} is in the future` } };
  }
  return { value, issue: null };
}

/** Year, month and day of a normalised (possibly partial) ISO date; 0 for an unknown part. */
export function dateParts(iso: string | null): [number, number, number] {
  if (iso === null) return [0, 0, 0];
  const year = +iso.slice(0, 4);
  const month = iso.length >= 7 ? +iso.slice(5, 7) : 0;
  const day = iso.length >= 10 ? +iso.slice(8, 10) : 0;
  return [year, month, day];
}

/**
 * What is wrong with a date the API takes only as ISO `YYYY-MM-DD` (a birth date sent to GraphQL, FHIR or a
 * search filter), or null when it names a real day (leap years counted). The one wording for a bad date
 * everywhere: an impossible date is out of range whatever its layout (`19551192`, `2026-02-30`), and a real
 * date in another layout only needs to be sent as YYYY-MM-DD. A channel with its own layout (HL7 v2's YYYYMMDD)
 * passes its own `required` message for a value that is no date at all.
 */
export function isoDateProblem(text: string, required: string = ISO_DATE_REQUIRED): string | null {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const parts = iso ? { year: +iso[1]!, month: +iso[2]!, day: +iso[3]! } : parseLayout(text.trim());
  if (parts && parts.month !== null && (parts.month < 1 || parts.month > 12)) return 'month is out of range';
  if (parts && parts.month !== null && parts.day !== null && (parts.day < 1 || parts.day > daysInMonth(parts.year, parts.month)))
    return 'day is out of range for its month';
  return iso ? null : required;
}

/**
 * A full date written in any layout `cleanBirthDate` reads (YYYYMMDD, MM/DD/YYYY, ...) as ISO `YYYY-MM-DD`, or
 * null when `text` is not a real full date. CSV channels (`mpi link`, `mpi import`, `mpi load`) turn a cell into
 * the ISO date the API takes with it, so a real date is then judged the same way whatever its layout (an
 * implausible year, a future date) and anything else meets the API's own wording (`isoDateProblem`).
 */
export function toIsoDate(text: string): string | null {
  const parts = parseLayout(text.trim());
  if (!parts || parts.month === null || parts.day === null) return null;
  const { year, month, day } = parts;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

/** The message for a value that is no date in the layout a channel takes, e.g. `an HL7 date (YYYYMMDD)`. */
export function dateRequired(layout: string): string {
  return `must be ${layout}`;
}

/** The message for a date that is real but not written YYYY-MM-DD. */
export const ISO_DATE_REQUIRED = dateRequired('an ISO date (YYYY-MM-DD)');

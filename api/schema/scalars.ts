import { Kind } from 'graphql';
import { builder } from '../builder.ts';
import { isoDateProblem, ISO_DATE_REQUIRED } from '../../matching/index.ts';
import { ValidationError } from '../../platform/errors.ts';

/** The calendar day an ISO-8601 date-time starts with: `new Date` alone rolls 2026-02-30T00:00Z over to March 2. */
const LEADING_DAY = /^\s*(\d{4}-\d{2}-\d{2})(?=$|[T\s])/;

function parseDateTime(value: unknown): Date {
  const day = typeof value === 'string' ? LEADING_DAY.exec(value)?.[1] : undefined;
  const date = typeof value === 'string' && !(day && isoDateProblem(day)) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) throw ValidationError.of('DateTime', 'INVALID_DATETIME', 'must be an ISO-8601 date-time');
  // A year JavaScript takes and PostgreSQL does not (year 0, before it, past 9999 as +275760-…) failed in the query.
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999)
    throw ValidationError.of('DateTime', 'INVALID_DATETIME', 'must be an ISO-8601 date-time in the years 0001 to 9999');
  return date;
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 instant, e.g. 2026-01-31T12:00:00Z, in the years 0001 to 9999. Impossible days (2026-02-30T00:00:00Z) are refused with INVALID_DATETIME.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (node) => parseDateTime(node.kind === Kind.STRING ? node.value : null),
});

/** A calendar date's text, null for an empty one (an absent value, as for every other demographic field). */
function parseDate(value: unknown): string | null {
  const text = typeof value === 'string' ? value.trim() : null;
  if (text === '') return null;
  const problem = text === null ? ISO_DATE_REQUIRED : isoDateProblem(text);
  if (problem) throw ValidationError.of('Date', 'INVALID_DATE', problem);
  return text;
}

builder.scalarType('Date', {
  description:
    'A calendar date, YYYY-MM-DD (ISO 8601), e.g. 1984-03-02. Other forms and impossible days (1990-02-30) are refused with INVALID_DATE naming the field.',
  serialize: (value) => String(value),
  parseValue: (value) => parseDate(value) as never,
  // A literal in the operation text is checked as strictly as a variable: `birthDate: "2026-02-30"` is refused while
  // the operation is validated, typed as VALIDATION_FAILED naming the field (see useTypedLiteralErrors).
  parseLiteral: (node) => parseDate(node.kind === Kind.STRING ? node.value : null) as never,
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (explanations, exports)',
  serialize: (value) => value,
  parseValue: (value) => value,
});

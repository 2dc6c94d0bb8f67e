import { Kind } from 'graphql';
import { builder } from '../builder.ts';
import { ValidationError } from '../../platform/errors.ts';

builder.scalarType('DateTime', {
  description: 'An ISO-8601 instant, e.g. 2026-01-31T12:00:00Z',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw ValidationError.of('DateTime', 'INVALID_DATETIME', 'must be an ISO-8601 date-time');
    return date;
  },
});

/**
 * What is wrong with a calendar date, or null when it is YYYY-MM-DD naming a real day (leap years counted).
 * The messages are the ones the ingest checks give, so a bad date reads the same whichever check caught it.
 */
export function calendarDateProblem(value: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return 'must be an ISO date (YYYY-MM-DD)';
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12) return 'month is out of range';
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return 'day is out of range for its month';
  return null;
}

builder.scalarType('Date', {
  description:
    'A calendar date, YYYY-MM-DD (ISO 8601), e.g. 1984-03-02. Other forms and impossible days (1990-02-30) are refused with INVALID_DATE naming the field.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    const text = typeof value === 'string' ? value.trim() : null;
    // An empty value is an absent one, as for every other demographic field.
    if (text === '') return null as never;
    const problem = text === null ? 'must be an ISO date (YYYY-MM-DD)' : calendarDateProblem(text);
    if (problem) throw ValidationError.of('Date', 'INVALID_DATE', problem);
    return text!;
  },
  // A literal in the operation text is passed on as written (an empty one as absent) and checked where it is used,
  // as it was before this scalar: ingest and match refuse it with the same INVALID_DATE, as a resolver error.
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw ValidationError.of('Date', 'INVALID_DATE', 'must be an ISO date (YYYY-MM-DD)');
    return (node.value.trim() || null) as never;
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (explanations, exports)',
  serialize: (value) => value,
  parseValue: (value) => value,
});

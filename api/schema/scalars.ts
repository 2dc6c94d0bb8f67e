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

/** YYYY-MM-DD that names a real day: month 1-12, day within that month (leap years counted). */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

builder.scalarType('Date', {
  description: 'A calendar date, YYYY-MM-DD (ISO 8601), e.g. 1984-03-02. Other forms and impossible days (1990-02-30) are refused with INVALID_DATE naming the field.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    const text = typeof value === 'string' ? value.trim() : null;
    // An empty value is an absent one, as for every other demographic field.
    if (text === '') return null as never;
    if (text === null || !isCalendarDate(text)) throw ValidationError.of('Date', 'INVALID_DATE', 'must be a calendar date (YYYY-MM-DD)');
    return text;
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (explanations, exports)',
  serialize: (value) => value,
  parseValue: (value) => value,
});

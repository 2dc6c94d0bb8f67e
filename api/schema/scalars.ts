import { Kind } from 'graphql';
import { builder } from '../builder.ts';
import { isoDateProblem, ISO_DATE_REQUIRED } from '../../matching/index.ts';
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

builder.scalarType('Date', {
  description:
    'A calendar date, YYYY-MM-DD (ISO 8601), e.g. 1984-03-02. Other forms and impossible days (1990-02-30) are refused with INVALID_DATE naming the field.',
  serialize: (value) => String(value),
  parseValue: (value) => {
    const text = typeof value === 'string' ? value.trim() : null;
    // An empty value is an absent one, as for every other demographic field.
    if (text === '') return null as never;
    const problem = text === null ? ISO_DATE_REQUIRED : isoDateProblem(text);
    if (problem) throw ValidationError.of('Date', 'INVALID_DATE', problem);
    return text!;
  },
  // A literal in the operation text is passed on as written (an empty one as absent) and checked where it is used,
  // as it was before this scalar: ingest and match refuse it with the same INVALID_DATE, as a resolver error.
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw ValidationError.of('Date', 'INVALID_DATE', ISO_DATE_REQUIRED);
    return (node.value.trim() || null) as never;
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (explanations, exports)',
  serialize: (value) => value,
  parseValue: (value) => value,
});

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

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (explanations, exports)',
  serialize: (value) => value,
  parseValue: (value) => value,
});

import { DrizzleQueryError } from 'drizzle-orm/errors';
import { GraphQLError } from 'graphql';
import { describe, expect, test } from 'vitest';
import { loggableError } from './errors.ts';

/** A database error as the driver raises it. */
function databaseError(message: string, code: string): Error {
  return Object.assign(new Error(message), { name: 'PostgresError', code });
}

describe('loggableError', () => {
  test("keeps a failed query's statement and the database's code and message, never its parameters", () => {
    const params = [['record:payer|R00095001', 'ssn:664984177', 'street_family:7150|railroad trl|ANKS', 'names_city:ANKS~JRFN|wichita']];
    const failed = new DrizzleQueryError(
      'select count(*) from (select pg_advisory_xact_lock(h) from unnest($1::text[]) as k) as locks',
      params,
      databaseError('out of shared memory', '53200'),
    );
    const logged = loggableError(new GraphQLError('Unexpected error.', { originalError: failed }));
    const text = JSON.stringify(logged);
    for (const value of ['R00095001', '664984177', 'railroad', 'wichita', 'ANKS', 'params']) expect(text).not.toContain(value);
    expect(logged).toMatchObject({
      code: '53200',
      message: 'out of shared memory',
      query: expect.stringContaining('pg_advisory_xact_lock'),
    });
    expect((logged.stack as string[]).length).toBeGreaterThan(0);
    expect((logged.stack as string[]).every((frame) => frame.startsWith('at '))).toBe(true);
  });

  test('removes quoted values and long digit runs from a driver message', () => {
    const logged = loggableError(databaseError('invalid input syntax for type date: "1984-13-45" near 5551234', '22007'));
    expect(logged).toMatchObject({ errorName: 'PostgresError', code: '22007', message: 'invalid input syntax for type date: "?" near #' });
  });
});

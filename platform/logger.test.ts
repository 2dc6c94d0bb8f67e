import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger, errorFields } from './logger.ts';

/** A logger writing JSON lines into an array. */
function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

describe('errorFields', () => {
  test.each([
    [
      'a driver error with a SQLSTATE',
      Object.assign(new Error('value "Ann" is bad'), { name: 'PostgresError', code: '22007' }),
      { errorName: 'PostgresError', errorCode: '22007' },
    ],
    ['a plain error', new TypeError('x of Ann'), { errorName: 'TypeError' }],
    ['a thrown string', 'boom', { errorName: 'string' }],
    ['a numeric code', Object.assign(new Error('nats'), { code: 503 }), { errorName: 'Error', errorCode: 503 }],
  ])('names %s by class and code, never message', (_kind, error, expected) => {
    expect(errorFields(error)).toEqual(expected);
  });

  test('survives the log redaction of patient-data keys (a key called name would not)', () => {
    const { lines, logger } = capture();
    const error = Object.assign(new Error('duplicate key "Smith"'), { name: 'PostgresError', code: '23505' });
    logger.error({ job: 'x', ...errorFields(error) }, 'scheduled job failed');
    expect(lines[0]).toMatchObject({ errorName: 'PostgresError', errorCode: '23505' });
    expect(JSON.stringify(lines[0])).not.toContain('Smith');
  });
});

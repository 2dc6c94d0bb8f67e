import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CANONICAL_FIELDS } from '../matching/index.ts';
import { createLogger, errorFields, PHI_LOG_KEYS } from './logger.ts';

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

describe('the log redaction of patient data', () => {
  test.each([...CANONICAL_FIELDS])('redacts the canonical field %s at the top level and nested', (field) => {
    const { lines, logger } = capture();
    logger.info({ [field]: 'Zebedee-1', record: { [field]: 'Zebedee-2' }, batch: { record: { [field]: 'Zebedee-3' } } }, 'line');
    expect(lines[0]).toMatchObject({ [field]: '[redacted]', record: { [field]: '[redacted]' } });
    expect(JSON.stringify(lines[0])).not.toContain('Zebedee');
  });

  test('redacts whole records, request bodies and secrets as well as the fields', () => {
    expect(PHI_LOG_KEYS).toEqual(expect.arrayContaining([...CANONICAL_FIELDS, 'raw', 'golden', 'variables', 'authorization', 'apiKey']));
    const { lines, logger } = capture();
    logger.info({ raw: { note: 'Zebedee' }, variables: { q: 'Zebedee' }, jobs: 3 }, 'line');
    expect(JSON.stringify(lines[0])).not.toContain('Zebedee');
    expect(lines[0]).toMatchObject({ jobs: 3 });
  });
});

import { describe, expect, test } from 'vitest';
import { normaliseRecord, recordProblems } from '../matching/index.ts';
import { checkInputShape, classifyIssues } from './validate.ts';

const base = { source: 'ehr', localId: 'MRN-1' };

describe('input checks', () => {
  test.each([
    ['a missing source', { ...base, source: ' ' }, 'input.source', 'REQUIRED'],
    ['a control character in the local id', { ...base, localId: 'A\u0001' }, 'input.localId', 'INVALID_CHARACTERS'],
    ['a line break in a name', { ...base, familyName: 'Smith\nDROP' }, 'input.familyName', 'INVALID_CHARACTERS'],
    ['a bidirectional override in a name', { ...base, givenName: 'Ann\u202eenoj' }, 'input.givenName', 'INVALID_CHARACTERS'],
    ['a zero-width space', { ...base, city: 'Bos\u200bton' }, 'input.city', 'INVALID_CHARACTERS'],
    ['an over-long value', { ...base, addressLine1: 'x'.repeat(201) }, 'input.addressLine1', 'TOO_LONG'],
    ['a birth date not in ISO form', { ...base, birthDate: '07/04/1961' }, 'input.birthDate', 'INVALID_DATE'],
  ])('rejects %s, naming the field', (_name, input, field, code) => {
    expect(checkInputShape(input)).toContainEqual(expect.objectContaining({ field, code }));
  });

  test.each([
    ['an apostrophe and hyphen', { ...base, familyName: "O'Brien-Smith" }],
    ['accented letters', { ...base, givenName: 'José', familyName: 'Müller' }],
    ['a zero-width non-joiner some scripts need', { ...base, givenName: 'می\u200cخواهم' }],
    ['an ISO birth date', { ...base, birthDate: '1961-07-04' }],
  ])('accepts %s', (_name, input) => {
    expect(checkInputShape(input)).toEqual([]);
  });

  test('never puts the rejected value in the message', () => {
    const problems = checkInputShape({ ...base, familyName: 'Secretname\u0007' });
    expect(JSON.stringify(problems)).not.toContain('Secretname');
  });

  test('rejects impossible dates and unknown sex codes, keeps other normaliser findings as warnings', () => {
    const { errors, warnings } = classifyIssues([
      { field: 'birthDate', code: 'FUTURE_DATE', message: 'birthDate is in the future' },
      { field: 'sex', code: 'INVALID', message: 'sex is not a recognised code' },
      { field: 'ssn', code: 'PLACEHOLDER', message: 'ssn is a placeholder value' },
    ]);
    expect(errors.map((e) => `${e.field}:${e.code}`)).toEqual(['input.birthDate:FUTURE_DATE', 'input.sex:INVALID']);
    expect(warnings).toEqual([{ field: 'input.ssn', code: 'PLACEHOLDER', message: 'is a placeholder value' }]);
  });
});

describe('recordProblems, the offline check of mpi link, agrees with the service', () => {
  const AS_OF = '2026-06-01';
  /** What `IdentityService.prepare` refuses: the shape first, then the refusing normaliser issues. */
  const service = (input: Record<string, string>) => {
    const shape = checkInputShape({ source: 's', localId: 'l', ...input });
    if (shape.length > 0) return shape;
    return classifyIssues(normaliseRecord(input, { asOf: AS_OF }).issues).errors;
  };
  test.each([
    { birthDate: '1990-02-30' },
    { birthDate: '1990-13-01' },
    { birthDate: 'hello' },
    { birthDate: '1850-01-01' },
    { birthDate: '2030-01-01' },
    { birthDate: '1955-03' },
    { birthDate: '1984-07-19', sex: 'Q' },
    { givenName: 'An\u0007n', sex: 'Q' },
    { familyName: 'x'.repeat(201) },
    { givenName: 'Ann', familyName: 'Lee', birthDate: '1984-07-19', sex: 'F', ssn: '12', phone: 'abc' },
  ] as Array<Record<string, string>>)('%o', (input) => {
    const offline = recordProblems(input, AS_OF).map((p) => ({ ...p, field: `input.${p.field}` }));
    expect(offline).toEqual(service(input));
  });
});

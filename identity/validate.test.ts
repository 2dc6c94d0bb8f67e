import { describe, expect, test } from 'vitest';
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

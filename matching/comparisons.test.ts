import { describe, expect, test } from 'vitest';
import { COMPARISONS, COMPARISON_INDEX, compareAll } from './comparisons.ts';
import type { RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';

const prep = (input: RecordInput) => prepareRecord(normaliseRecord(input).record);

/** Level id of one comparison for a pair of raw records. */
function levelOf(comparison: string, a: RecordInput, b: RecordInput): string {
  const k = COMPARISON_INDEX.get(comparison)!;
  const level = COMPARISONS[k]!.compare(prep(a), prep(b));
  return level === 0 ? 'null' : COMPARISONS[k]!.levels[level - 1]!;
}

describe('given name levels', () => {
  test.each([
    ['Robert', 'ROBERT', 'exact'],
    ['Bob', 'Robert', 'alias'],
    ['Liz', 'Elizabeth', 'alias'],
    ['Mary Ann', 'Mary', 'alias'],
    ['Jonathon', 'Jonathan', 'fuzzy_high'],
    ['Ryden', 'Rgden', 'fuzzy_high'],
    ['Ashley', 'Ashleigh', 'phonetic'],
    ['Ava', 'Eva', 'phonetic'],
    ['Nicole', 'Nicolas', 'fuzzy_low'],
    ['J', 'James', 'initial_or_middle'],
    ['Michael', 'Sarah', 'else'],
    ['', 'Sarah', 'null'],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(levelOf('givenName', { givenName: a, familyName: 'Smith' }, { givenName: b, familyName: 'Smith' })).toBe(expected);
  });

  test('recognises given and family names swapped between fields', () => {
    const a = { givenName: 'Oliver', familyName: 'Rickett' };
    const b = { givenName: 'Rickett', familyName: 'Oliver' };
    expect(levelOf('givenName', a, b)).toBe('swapped');
    // The swap is one piece of evidence: the family comparison stays neutral.
    expect(levelOf('familyName', a, b)).toBe('null');
  });

  test("matches a given name against the other record's middle name", () => {
    expect(levelOf('givenName', { givenName: 'Michael' }, { givenName: 'John', middleName: 'Michael' })).toBe('initial_or_middle');
  });
});

describe('family name levels', () => {
  test.each([
    ["O'Brien", 'OBRIEN', 'exact'],
    ['Smith-Jones', 'Smith Jones', 'exact'],
    ['Harrington', 'Harington', 'fuzzy_high'],
    ['Garcia Lopez', 'Lopez', 'shared_part'],
    ['Philips', 'Fillips', 'phonetic'],
    ['Nguyen', 'Patel', 'else'],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(levelOf('familyName', { givenName: 'Ann', familyName: a }, { givenName: 'Ann', familyName: b })).toBe(expected);
  });
});

describe('birth date levels', () => {
  test.each([
    ['1956-04-09', '1956-04-09', 'exact'],
    ['1956-04-09', '1956-04-08', 'typo'],
    ['1956-04-09', '1965-04-09', 'typo'],
    ['1956-04-09', '1972-04-09', 'two_parts'],
    ['1956-04-09', '1956-09-04', 'day_month_swap'],
    ['1959-04-09', '1960-04-09', 'two_parts'],
    ['1956-04-09', '1978-11-23', 'else'],
    ['1956', '1956-04-09', 'two_parts'],
    ['1956', '1957-04-09', 'else'],
    ['', '1956-04-09', 'null'],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(levelOf('birthDate', { birthDate: a }, { birthDate: b })).toBe(expected);
  });
});

describe('identifier levels', () => {
  test.each([
    ['123-45-6780', '123456780', 'exact'],
    ['123-45-6780', '123-45-6781', 'typo'],
    ['123-45-6780', '123-54-6780', 'typo'],
    ['123-45-6780', '124-45-6790', 'two_edits'],
    ['123-45-6780', '471-22-9035', 'else'],
    ['', '471-22-9035', 'null'],
  ])('SSN %j vs %j is %s', (a, b, expected) => {
    expect(levelOf('ssn', { ssn: a }, { ssn: b })).toBe(expected);
  });

  test.each([
    ['a.b@x.com', 'A.B@x.com', 'exact'],
    ['ann.lee@x.com', 'ann.lee@y.org', 'fuzzy'],
    ['ann@x.com', 'bob@y.org', 'else'],
  ])('email %j vs %j is %s', (a, b, expected) => {
    expect(levelOf('email', { email: a }, { email: b })).toBe(expected);
  });
});

describe('location levels', () => {
  const home = { addressLine1: '12 Elm Street', city: 'Springfield', postalCode: '62701', phone: '217-555-0142' };
  test.each([
    ['same address and phone', { ...home }, 'address_and_phone'],
    ['same address, other phone', { ...home, phone: '217-555-0199' }, 'address'],
    ['moved, same phone', { ...home, addressLine1: '9 Oak Ave', postalCode: '62704' }, 'phone'],
    ['house number typo', { ...home, addressLine1: '13 Elm Street', phone: null }, 'near_address'],
    ['another unit of the same building', { ...home, addressLine2: 'Apt 2', phone: null }, 'near_address'],
    ['same street, another house', { ...home, addressLine1: '480 Elm Street', phone: null }, 'same_street'],
    ['same postcode and city', { ...home, addressLine1: '9 Oak Ave', phone: null }, 'postcode_and_city'],
    ['same postcode only', { ...home, addressLine1: '9 Oak Ave', city: 'Chatham', phone: null }, 'same_area'],
    ['address lines swapped', { ...home, addressLine1: '12 Apt 1', addressLine2: 'Elm Street', phone: null }, 'near_address'],
    ['nothing in common', { addressLine1: '9 Oak Ave', city: 'Dover', postalCode: '19901', phone: '302-555-0100' }, 'else'],
    ['no location at all', {}, 'null'],
  ])('%s', (_label, other, expected) => {
    expect(levelOf('location', { ...home, addressLine2: 'Apt 1' }, other)).toBe(expected);
  });

  test('counts neighbours on one street as the same street, not a near address', () => {
    expect(
      levelOf('location', { addressLine1: '12 Elm St', postalCode: '62701' }, { addressLine1: '14 Elm St', postalCode: '62701' }),
    ).toBe('near_address');
    expect(
      levelOf('location', { addressLine1: '12 Elm St', postalCode: '62701' }, { addressLine1: '96 Elm St', postalCode: '62701' }),
    ).toBe('same_street');
  });
});

test('compareAll fills the same levels as each comparison on its own', () => {
  const a = prep({
    givenName: 'Bob',
    familyName: 'Smith',
    birthDate: '1960-01-02',
    ssn: '123-45-6780',
    email: 'b@x.com',
    addressLine1: '1 Main St',
    sex: 'M',
  });
  const b = prep({
    givenName: 'Robert',
    familyName: 'Smyth',
    birthDate: '1960-02-01',
    ssn: '123-45-6781',
    email: 'b@y.com',
    addressLine1: '1 Main St',
    sex: 'M',
  });
  const out = new Uint8Array(COMPARISONS.length);
  compareAll(a, b, out);
  expect([...out]).toEqual(COMPARISONS.map((c) => c.compare(a, b)));
});

import { describe, expect, test } from 'vitest';
import { normaliseRecord } from './normalise.ts';
import type { RecordInput } from './normalise.ts';
import { prepareRecord, StringPool } from './prepared.ts';

/** Two records of one household, typed separately, so no value is the same string object to begin with. */
const MOTHER: RecordInput = {
  givenName: 'Mary Ann',
  middleName: 'Jo',
  familyName: 'Smith Jones',
  birthDate: '1956-04-09',
  ssn: '123-45-6789',
  phone: '555-123-4567',
  email: 'mary.smithjones@example.org',
  addressLine1: '12 High Street',
  addressLine2: 'Flat 3',
  city: 'Springfield',
  state: 'IL',
  postalCode: '62704',
  sex: 'F',
};
const DAUGHTER: RecordInput = { ...MOTHER, givenName: 'Mary', birthDate: '1980-01-02', ssn: '987-65-4321', email: 'mary@example.org' };

const copied = (input: RecordInput): RecordInput => JSON.parse(JSON.stringify(input)) as RecordInput;
const normalised = (input: RecordInput) => normaliseRecord(copied(input)).record;

describe('prepareRecord with a string pool', () => {
  test('gives the same values as without one', () => {
    const pool = new StringPool();
    for (const input of [MOTHER, DAUGHTER, { givenName: 'Zoë', familyName: "O'Brien" }, {}]) {
      expect(prepareRecord(normalised(input), pool)).toEqual(prepareRecord(normalised(input)));
    }
  });

  test('holds each shared value once, however many records hold it', () => {
    const pool = new StringPool();
    prepareRecord(normalised(MOTHER), pool);
    const mother = pool.size;
    prepareRecord(normalised(MOTHER), pool);
    expect(pool.size).toBe(mother);
    // Her daughter adds only her birth date (as a date and as digits): her given name is her mother's first one.
    prepareRecord(normalised(DAUGHTER), pool);
    expect(pool.size).toBe(mother + 2);
  });

  test('leaves identifiers out of the pool', () => {
    const pool = new StringPool();
    prepareRecord(normalised(MOTHER), pool);
    const before = pool.size;
    prepareRecord(normalised({ ...MOTHER, ssn: '111-22-3333', phone: '555-999-0000', email: 'other@example.org' }), pool);
    expect(pool.size).toBe(before);
  });
});

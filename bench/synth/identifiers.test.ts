import { expect, test } from 'vitest';
import { SsnAllocator, emailAddress, phoneNumber, ssnFromIndex } from './identifiers.ts';
import { Rng } from './prng.ts';

const PER_AREA = 99 * 9999;

test.each([
  [0, '001010001'],
  [9998, '001019999'],
  [9999, '001020001'],
  [665 * PER_AREA - 1, '665999999'],
  [665 * PER_AREA, '667010001'],
  [898 * PER_AREA - 1, '899999999'],
])('maps SSN index %i to %s, skipping area 666', (index, ssn) => {
  expect(ssnFromIndex(index)).toBe(ssn);
});

test('never gives two people the same SSN', () => {
  const allocator = new SsnAllocator(new Rng(4));
  const seen = new Set<string>();
  for (let serial = 1; serial <= 200_000; serial++) {
    const ssn = allocator.ssnFor(serial);
    expect(ssn).toMatch(/^(?!000|666|9)\d{3}(?!00)\d{2}(?!0000)\d{4}$/);
    seen.add(ssn);
  }
  expect(seen.size).toBe(200_000);
});

test('makes valid NANP numbers with the given area code, avoiding N11 and 555 exchanges', () => {
  const rng = new Rng(6);
  for (let i = 0; i < 5000; i++) {
    const phone = phoneNumber(rng, '617');
    expect(phone).toMatch(/^617[2-9]\d{2}\d{4}$/);
    expect(phone.slice(3, 6)).not.toMatch(/^.11$|^555$/);
  }
});

test('builds e-mail addresses from the name on a reserved domain', () => {
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    const email = emailAddress(rng, 'Mary Ann', "O'Brien-Lopez", 1984);
    expect(email).toMatch(/^[a-z0-9._]+@[a-z.]*example(\.[a-z]+)?$/);
    expect(email).toMatch(/mary|obrien|^m/);
  }
});

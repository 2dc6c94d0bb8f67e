import { describe, expect, test } from 'vitest';
import { int64Text } from './key-hash.ts';

/** The words of a signed 64-bit value, high then low, as `hashKeyWords` gives them. */
const wordsOf = (value: bigint): [number, number] => [Number(BigInt.asIntN(32, value >> 32n)), Number(BigInt.asIntN(32, value))];

describe('int64Text', () => {
  test.each([
    0n,
    1n,
    -1n,
    999_999_999n,
    1_000_000_000n,
    -1_000_000_000n,
    2n ** 32n,
    -(2n ** 32n),
    2n ** 53n + 1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
  ])('writes %s as PostgreSQL writes the bigint', (value) => {
    expect(int64Text(...wordsOf(value))).toBe(value.toString());
  });

  test('agrees with BigInt on many values spread over the whole range', () => {
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const high = next();
      const low = next();
      const expected = BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)).toString();
      if (int64Text(high, low) !== expected) wrong.push(expected);
    }
    expect(wrong).toEqual([]);
  });
});

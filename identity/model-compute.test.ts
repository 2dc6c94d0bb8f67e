import { describe, expect, test } from 'vitest';
import { proposedMerges } from './model-compute.ts';

/** Links as `linkRecords` returns them: record pairs with weights, and each record's cluster. */
function result(pairs: Array<[number, number, number]>, clusterOf: number[]) {
  return {
    links: {
      a: Int32Array.from(pairs.map((p) => p[0])),
      b: Int32Array.from(pairs.map((p) => p[1])),
      weight: Float64Array.from(pairs.map((p) => p[2])),
      count: pairs.length,
    },
    clusterOf: Int32Array.from(clusterOf),
  };
}

describe('proposedMerges', () => {
  test('proposes each pair of identities the clustering joins once, by its strongest link', () => {
    const identityOf = ['I1', 'I2', 'I2', 'I3'];
    const merges = proposedMerges(
      identityOf,
      result(
        [
          [0, 1, 12],
          [0, 2, 20],
          [2, 3, 15],
        ],
        [0, 0, 0, 0],
      ),
    );
    expect(merges).toEqual([
      { identityA: 'I1', identityB: 'I2', recordA: 0, recordB: 2 },
      { identityA: 'I2', identityB: 'I3', recordA: 2, recordB: 3 },
    ]);
  });

  test('proposes nothing for links the guarded clustering refused or within one identity', () => {
    const identityOf = ['I1', 'I1', 'I2'];
    // Record 2 is linked above the threshold but kept in a cluster of its own (a conflict or chaining).
    expect(
      proposedMerges(
        identityOf,
        result(
          [
            [0, 1, 30],
            [1, 2, 25],
          ],
          [0, 0, 1],
        ),
      ),
    ).toEqual([]);
  });
});

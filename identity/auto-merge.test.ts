import { describe, expect, test } from 'vitest';
import { isRetryable } from '../platform/db/retry.ts';
import { checkMerges, mergedTarget, StaleMergeError } from './auto-merge.ts';
import type { PlannedOp } from './plan.ts';

const merge = (survivorId: string, mergedId: string): PlannedOp =>
  ({ kind: 'MERGE', recordId: 'r1', survivorId, mergedId, evidence: {} }) as unknown as PlannedOp;

describe('automatic merges against the identities as locked', () => {
  test('follow the plan, then the database redirects, to the surviving identity', () => {
    const into = checkMerges(
      [merge('b', 'c'), merge('a', 'b')],
      new Map([
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
        ['x', 'a'],
      ]),
    );
    const target = mergedTarget(into, new Map([['x', 'a']]));
    expect(['c', 'b', 'a', 'x', 'new'].map(target)).toEqual(['a', 'a', 'a', 'a', 'new']);
  });

  test.each([
    ['the merged identity', 'b'],
    ['the survivor', 'a'],
  ])('make the ingest run again when another transaction merged %s since the plan read it', (_side, moved) => {
    const redirect = new Map([
      ['a', 'a'],
      ['b', 'b'],
      [moved, 'z'],
    ]);
    expect(() => checkMerges([merge('a', 'b')], redirect)).toThrow(StaleMergeError);
    expect(isRetryable(new StaleMergeError())).toBe(true);
  });
});

import { describe, expect, test } from 'vitest';
import { membersAsOf, mergedAway, resolveAsOf, type HistoryEvent } from './time-travel.ts';

let nextId = 1;
const t = (minute: number) => new Date(Date.UTC(2025, 5, 1, 12, minute));
function event(minute: number, identityId: string, type: string, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { id: nextId++, identityId, type, recordId: null, otherIdentityId: null, after: null, at: t(minute), ...fields };
}

// A: r1 at 0, r2 joins at 1. B: r3 at 2. A absorbs B at 3 (steward merge). r2 is split out to C at 4.
// r1 is deleted at 5. A is merged into D at 6 (its records move).
const history: HistoryEvent[] = [
  event(0, 'A', 'CREATED', { recordId: 'r1' }),
  event(0, 'A', 'LINKED', { recordId: 'r1' }),
  event(1, 'A', 'LINKED', { recordId: 'r2' }),
  event(2, 'B', 'CREATED', { recordId: 'r3' }),
  event(2, 'B', 'LINKED', { recordId: 'r3' }),
  event(3, 'A', 'MERGED', { otherIdentityId: 'B', after: { movedRecords: ['r3'] } }),
  event(3, 'B', 'MERGED', { otherIdentityId: 'A', after: { mergedInto: 'A', movedRecords: ['r3'] } }),
  event(4, 'A', 'UNLINKED', { recordId: 'r2', otherIdentityId: 'C' }),
  event(4, 'C', 'CREATED', { recordId: 'r2' }),
  event(4, 'C', 'SPLIT', { recordId: 'r2', otherIdentityId: 'A' }),
  event(5, 'A', 'RECORD_DELETED', { recordId: 'r1' }),
  event(6, 'D', 'MERGED', { otherIdentityId: 'A', after: { movedRecords: ['r1', 'r3'] } }),
  event(6, 'A', 'MERGED', { otherIdentityId: 'D', after: { mergedInto: 'D', movedRecords: ['r1', 'r3'] } }),
];
const mergedNow = new Set(['A', 'B']);

describe('identity membership replayed from events', () => {
  test.each<[string, string, number, string[]]>([
    ['a new identity holds its first record', 'A', 0, ['r1']],
    ['a linked record joins', 'A', 1, ['r1', 'r2']],
    ['the merged identity keeps its records until the merge', 'B', 2, ['r3']],
    ['the survivor gains the merged records', 'A', 3, ['r1', 'r2', 'r3']],
    ['the merged identity is empty after the merge', 'B', 3, []],
    ['an unlinked record leaves', 'A', 4, ['r1', 'r3']],
    ['the split record starts a new identity', 'C', 4, ['r2']],
    ['a deleted record is no longer a member', 'A', 5, ['r3']],
    ['a deleted record moved by a merge stays deleted', 'D', 6, ['r3']],
  ])('%s', (_name, identity, minute, members) => {
    expect(membersAsOf(identity, t(minute), history)).toEqual(members);
  });

  test('ignores events after the instant, whatever order they come in', () => {
    expect(membersAsOf('A', t(2), [...history].reverse())).toEqual(['r1', 'r2']);
  });
});

describe('following merges as of an instant', () => {
  test('finds the event that merged an identity away, not one where it absorbed another', () => {
    expect(mergedAway('A', history)).toEqual({ into: 'D', at: t(6) });
  });

  test.each<[string, string, number, string, string[]]>([
    ['an identity not yet merged stands for itself', 'A', 5, 'A', []],
    ['after its merge it stands for the survivor', 'B', 3, 'A', ['B']],
    ['merges are followed as far as they had happened', 'B', 6, 'D', ['B', 'A']],
    ['before its merge a since-merged identity stands for itself', 'B', 2, 'B', []],
  ])('%s', (_name, requested, minute, identityId, redirectedFrom) => {
    expect(resolveAsOf(requested, t(minute), history, mergedNow)).toEqual({ identityId, redirectedFrom });
  });
});

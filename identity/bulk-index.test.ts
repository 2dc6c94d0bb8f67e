import { describe, expect, test } from 'vitest';
import { blockingKeys, defaultModel, normaliseRecord, type NormalisedRecord } from '../matching/index.ts';
import { LoadIndex } from './bulk-index.ts';
import type { PlannedOp, PlannedRecord } from './plan.ts';

const model = defaultModel();

/** A window of new records, each planned into an identity of its own. */
function window(people: Array<Record<string, string>>, prefix: string) {
  const normalised = people.map((p) => normaliseRecord(p).record);
  const recordIds = people.map((_, i) => `${prefix}-r${i}`);
  const records: PlannedRecord[] = people.map((_, i) => ({
    index: i,
    outcome: 'CREATED',
    identityId: `${prefix}-i${i}`,
    candidates: [],
    reviewOp: null,
  }));
  const ops: PlannedOp[] = records.map((r) => ({ kind: 'CREATE_IDENTITY', identityId: r.identityId, recordId: recordIds[r.index]! }));
  return { recordIds, normalised, keys: normalised.map((n) => blockingKeys(n, model)), plan: { records, ops } };
}

const nobodyStored = () => 0;

function valuesMet(index: LoadIndex, keys: string[]): Map<string, NormalisedRecord> {
  const out = new Map<string, NormalisedRecord>();
  for (const list of index.view(keys, nobodyStored).values()) for (const c of list) out.set(c.recordId, c.normalised);
  return out;
}

describe('LoadIndex', () => {
  const first = window(
    [
      { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1815-12-10', sex: 'F', postcode: 'W1 1AA' },
      { givenName: 'Charles', familyName: 'Babbage', birthDate: '1791-12-26', sex: 'M', postcode: 'SW1 2BB' },
    ],
    'w1',
  );

  test("gives each earlier record's values as they were planned, once per record however many keys meet it", () => {
    const index = new LoadIndex(200, 50);
    index.add(first, first.plan);
    const view = index.view(first.keys[0]!, nobodyStored);
    const met = new Set([...view.values()].flat());
    expect([...met].map((c) => c.recordId)).toEqual(['w1-r0']);
    const [ada] = met;
    expect(ada!.identityId).toBe('w1-i0');
    expect(ada!.normalised).toEqual(first.normalised[0]);
    // Every key of the record lists the one candidate object.
    expect(view.size).toBe(new Set(first.keys[0]).size);
  });

  test('decodes a record met by consecutive windows once, and again when a window in between did not meet it', () => {
    const index = new LoadIndex(200, 50);
    index.add(first, first.plan);
    const adaKeys = first.keys[0]!;
    const charlesKeys = first.keys[1]!;
    const a1 = valuesMet(index, adaKeys).get('w1-r0')!;
    const a2 = valuesMet(index, [...adaKeys, ...charlesKeys]).get('w1-r0')!;
    // Met by the window before: the same values object (and with it the scorer's prepared form).
    expect(a2).toBe(a1);
    const c2 = valuesMet(index, charlesKeys).get('w1-r1')!;
    expect(c2).toEqual(first.normalised[1]);
    // Two windows on, Ada was not met in between: decoded again, to the same values.
    const a4 = valuesMet(index, adaKeys).get('w1-r0')!;
    expect(a4).not.toBe(a1);
    expect(a4).toEqual(first.normalised[0]);
    // The planner's context lists those same values.
    const context = index.context(
      index.view(adaKeys, nobodyStored),
      { storedByKey: new Map(), members: [], memberCount: new Map(), notDuplicates: new Set(), openReviews: new Set() },
      [],
    );
    expect([...context.storedByKey.values()].flat().every((c) => c.normalised === a4)).toBe(true);
  });

  test("lists a key's oldest records first, within the cap left after the records stored before the load", () => {
    const twins = window(
      ['Ann', 'Anne', 'Anna', 'Annie', 'Anya'].map((givenName) => ({ givenName, familyName: 'Hart', birthDate: '1990-04-01', sex: 'F' })),
      'w1',
    );
    const shared = twins.keys.reduce((common, keys) => common.filter((k) => keys.includes(k)));
    expect(shared.length).toBeGreaterThan(0);
    const index = new LoadIndex(3, 50);
    index.add(twins, twins.plan);
    const listed = (stored: number) =>
      index
        .view([shared[0]!], () => stored)
        .get(shared[0]!)
        ?.map((c) => c.recordId) ?? [];
    // The cap keeps the first three records that carry the key, in file order.
    expect(listed(0)).toEqual(['w1-r0', 'w1-r1', 'w1-r2']);
    expect(listed(1)).toEqual(['w1-r0', 'w1-r1']);
    expect(listed(2)).toEqual(['w1-r0']);
    expect(listed(3)).toEqual([]);
  });
});

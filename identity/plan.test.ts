import { describe, expect, test } from 'vitest';
import { defaultModel, blockingKeys, normaliseRecord, type MatchModel } from '../matching/index.ts';
import { planBatch, type PlanInput, type PlanState, type StoredCandidate, type StoredMember } from './plan.ts';

const model: MatchModel = defaultModel();
let ids = 0;
const newId = () => `new-${(ids += 1)}`;

function record(fields: Record<string, string>, recordId: string, extra: Partial<PlanInput> = {}): PlanInput {
  const normalised = normaliseRecord(fields).record;
  return { index: 0, recordId, normalised, keys: blockingKeys(normalised, model), currentIdentity: null, wasActive: false, ...extra };
}

function stored(input: PlanInput, identityId: string): StoredCandidate {
  return { recordId: input.recordId, identityId, normalised: input.normalised, keys: input.keys };
}

function member(input: PlanInput, identityId: string): StoredMember {
  return { recordId: input.recordId, identityId, normalised: input.normalised };
}

function state(candidates: StoredCandidate[] = [], extra: Partial<PlanState> = {}): PlanState {
  const storedByKey = new Map<string, StoredCandidate[]>();
  const memberCount = new Map<string, number>();
  for (const c of candidates) {
    for (const k of c.keys) storedByKey.set(k, [...(storedByKey.get(k) ?? []), c]);
    memberCount.set(c.identityId, (memberCount.get(c.identityId) ?? 0) + 1);
  }
  return { storedByKey, memberCount, notDuplicates: new Set(), openReviews: new Set(), newId, ...extra };
}

const ann = {
  givenName: 'Annika',
  familyName: 'Thorsdottir',
  birthDate: '1984-11-02',
  sex: 'F',
  phone: '5035550142',
  addressLine1: '88 Alder Street',
  city: 'Portland',
  state: 'OR',
  postalCode: '97205',
};
const bert = {
  givenName: 'Bertram',
  familyName: 'Quiroga',
  birthDate: '1950-01-17',
  sex: 'M',
  phone: '3125550199',
  addressLine1: '7 Lake Shore Dr',
  city: 'Chicago',
  state: 'IL',
  postalCode: '60611',
};

describe('batch planning', () => {
  test('creates one identity for two records of a new patient in the same batch', () => {
    const a = record(ann, 'r1', { index: 0 });
    const b = record({ ...ann, phone: '' }, 'r2', { index: 1 });
    const plan = planBatch([a, b], state(), model);
    expect(plan.records.map((r) => r.outcome)).toEqual(['CREATED', 'LINKED']);
    expect(plan.records[1]!.identityId).toBe(plan.records[0]!.identityId);
    expect(plan.ops.filter((op) => op.kind === 'CREATE_IDENTITY')).toHaveLength(1);
  });

  test('links a new record to the stored identity it matches', () => {
    const old = record(ann, 'old');
    const plan = planBatch([record({ ...ann, givenName: 'Anika' }, 'r1')], state([stored(old, 'id-ann')]), model);
    expect(plan.records[0]).toMatchObject({ outcome: 'LINKED', identityId: 'id-ann' });
  });

  test('keeps different patients apart', () => {
    const old = record(ann, 'old');
    const plan = planBatch([record(bert, 'r1')], state([stored(old, 'id-ann')]), model);
    expect(plan.records[0]!.outcome).toBe('CREATED');
  });

  test('does not auto-link a twin who shares birth date, family name and address', () => {
    const old = record(ann, 'old');
    const twin = record({ ...ann, givenName: 'Sigrid' }, 'r1');
    const plan = planBatch([twin], state([stored(old, 'id-ann')]), model);
    expect(plan.records[0]!.outcome).not.toBe('LINKED');
    expect(plan.records[0]!.identityId).not.toBe('id-ann');
  });

  test('splits a changed record out of an identity whose other records it no longer matches', () => {
    const sibling = record(ann, 'other');
    const changed = record(bert, 'r1', { currentIdentity: 'id-ann', wasActive: true });
    const s = state([stored(sibling, 'id-ann')]);
    s.memberCount.set('id-ann', 2);
    const plan = planBatch([changed], s, model);
    expect(plan.ops.some((op) => op.kind === 'UNLINKED' && op.fromIdentity === 'id-ann')).toBe(true);
    expect(plan.records[0]!.identityId).not.toBe('id-ann');
  });

  test('a lone record that now matches another identity joins it and its old identity is absorbed', () => {
    const target = record(ann, 'target');
    const changed = record(ann, 'r1', { currentIdentity: 'id-old', wasActive: true });
    const s = state([stored(target, 'id-ann')]);
    s.memberCount.set('id-old', 1);
    const plan = planBatch([changed], s, model);
    expect(plan.records[0]).toMatchObject({ outcome: 'LINKED', identityId: 'id-ann' });
    expect(plan.ops).toContainEqual(expect.objectContaining({ kind: 'ABSORB', fromIdentity: 'id-old', intoIdentity: 'id-ann' }));
  });

  test("never links across a steward's not-duplicate decision", () => {
    const target = record(ann, 'target');
    const changed = record(ann, 'r1', { currentIdentity: 'id-old', wasActive: true });
    const s = state([stored(target, 'id-ann')], { notDuplicates: new Set(['id-ann|id-old']) });
    s.memberCount.set('id-old', 1);
    const plan = planBatch([changed], s, model);
    expect(plan.records[0]!.identityId).toBe('id-old');
    expect(plan.ops.some((op) => op.kind === 'LINK')).toBe(false);
  });

  test('weighs a record against every member of the identity, also those it shares no key with', () => {
    const found = record(ann, 'found');
    const twin = record({ ...ann, givenName: 'Sigrid' }, 'twin');
    const s = state([stored(found, 'id-ann')], { members: [member(twin, 'id-ann')] });
    const plan = planBatch([record({ ...ann, givenName: 'Anika' }, 'r1')], s, model);
    expect(plan.records[0]!.outcome).toBe('REVIEW');
    expect(plan.records[0]!.identityId).not.toBe('id-ann');
    expect(plan.records[0]!.candidates[0]).toMatchObject({ identityId: 'id-ann', blockers: ['twin'] });
  });

  test('does not chain a record onto an identity whose records it matches only one of (as mpi link clusters)', () => {
    const sparse = record({ givenName: ann.givenName, familyName: ann.familyName, birthDate: ann.birthDate }, 'sparse');
    const other = record(bert, 'other');
    const s = state([stored(sparse, 'id-x')], { members: [member(other, 'id-x')] });
    const plan = planBatch([record(ann, 'r1')], s, model);
    expect(plan.records[0]!.candidates[0]!.probability).toBeGreaterThanOrEqual(model.thresholds.matchThreshold);
    expect(plan.records[0]).toMatchObject({ outcome: 'REVIEW' });
    expect(plan.records[0]!.identityId).not.toBe('id-x');
    expect(plan.records[0]!.candidates[0]!.blockers).toEqual(['chaining']);
  });

  test('joins the next identity above the threshold when the guard refuses the best one', () => {
    const sparse = record({ givenName: ann.givenName, familyName: ann.familyName, birthDate: ann.birthDate, sex: 'F' }, 'sparse');
    const other = record(bert, 'other');
    const same = record({ ...ann, givenName: 'Anika', addressLine1: '', phone: '', postalCode: '', email: '' }, 'same');
    const s = state([stored(sparse, 'id-x'), stored(same, 'id-ann')], { members: [member(other, 'id-x')] });
    const plan = planBatch([record({ ...ann, email: '' }, 'r1')], s, model);
    expect(plan.records[0]!.candidates.map((c) => c.identityId)).toEqual(['id-x', 'id-ann']);
    expect(plan.records[0]).toMatchObject({ outcome: 'LINKED', identityId: 'id-ann' });
    expect(plan.records[0]!.candidates[0]!.blockers).toEqual(['chaining']);
    expect(plan.ops.some((op) => op.kind === 'REVIEW_DUPLICATE')).toBe(false);
  });
});

describe('a record that bridges two identities', () => {
  // Two records of one patient that matched too weakly to link (a phone in one, an address in the other, the
  // day and month of birth swapped), and a third record carrying both that matches each above the threshold.
  const byPhone = { givenName: 'Annika', familyName: 'Thorsdottir', birthDate: '1984-11-02', sex: 'F', phone: '5035550142' };
  const byAddress = { ...ann, givenName: 'Anika', birthDate: '1984-11-20', phone: '' };
  const bridge = { ...ann, email: 'annika.t@example.org' };
  const twinOf = (givenName: string) => ({ ...ann, givenName });

  test('merges them when the merge guard passes on all their records, the larger identity surviving', () => {
    const phone = record(byPhone, 'phone');
    const address = record(byAddress, 'address');
    const extra = record({ ...byPhone, givenName: 'Annika' }, 'extra');
    const s = state([stored(phone, 'id-phone'), stored(address, 'id-address')], { members: [member(extra, 'id-phone')] });
    s.memberCount.set('id-phone', 2);
    const plan = planBatch([record(bridge, 'r1')], s, model);
    expect(plan.records[0]).toMatchObject({ outcome: 'LINKED', identityId: 'id-phone' });
    const merges = plan.ops.filter((op) => op.kind === 'MERGE');
    expect(merges).toEqual([expect.objectContaining({ recordId: 'r1', survivorId: 'id-phone', mergedId: 'id-address' })]);
    expect(merges[0]!.kind === 'MERGE' && merges[0]!.evidence).toMatchObject({
      survivor: { identityId: 'id-phone' },
      merged: { identityId: 'id-address', recordId: 'address' },
      survivorRecords: 3,
      mergedRecords: 1,
    });
    expect(plan.ops.some((op) => op.kind === 'REVIEW_DUPLICATE')).toBe(false);
  });

  test.each([
    ['twins (same birth date, family name and address, different given names)', twinOf('Annika'), twinOf('Liesel'), 'twin'],
    ['a Jr and a Sr', { ...ann, suffix: 'Jr' }, { ...ann, suffix: 'Sr' }, 'generation_suffix'],
  ])('opens a possible-duplicate review instead of merging %s', (_kind, one, two, reason) => {
    // A record that tells the two apart by neither given name nor suffix matches both.
    const vague = record({ ...one, givenName: one.givenName === two.givenName ? one.givenName : '', suffix: '' }, 'r1');
    const plan = planBatch([vague], state([stored(record(one, 'a'), 'id-a'), stored(record(two, 'b'), 'id-b')]), model);
    expect(plan.records[0]!.candidates.map((c) => c.probability >= model.thresholds.matchThreshold)).toEqual([true, true]);
    expect(plan.ops.some((op) => op.kind === 'MERGE')).toBe(false);
    const review = plan.ops.find((op) => op.kind === 'REVIEW_DUPLICATE');
    expect(review).toBeDefined();
    expect(review!.kind === 'REVIEW_DUPLICATE' && review!.candidate.blockers).toEqual([reason]);
  });

  test('neither merges nor flags two identities a steward declared different people', () => {
    const phone = record(byPhone, 'phone');
    const address = record(byAddress, 'address');
    const s = state([stored(phone, 'id-phone'), stored(address, 'id-address')], { notDuplicates: new Set(['id-address|id-phone']) });
    const plan = planBatch([record(bridge, 'r1')], s, model);
    expect(plan.records[0]!.outcome).toBe('LINKED');
    expect(plan.ops.filter((op) => op.kind === 'MERGE' || op.kind === 'REVIEW_DUPLICATE')).toEqual([]);
  });

  test('opens the review as before when merging is off (the bulk load)', () => {
    const s = state([stored(record(byPhone, 'phone'), 'id-phone'), stored(record(byAddress, 'address'), 'id-address')], {
      mergeIdentities: false,
    });
    const plan = planBatch([record(bridge, 'r1')], s, model);
    expect(plan.ops.some((op) => op.kind === 'MERGE')).toBe(false);
    expect(plan.ops.some((op) => op.kind === 'REVIEW_DUPLICATE')).toBe(true);
  });

  test('later records of the batch meet the survivor, with the merged identity inherited', () => {
    const s = state([stored(record(byPhone, 'phone'), 'id-phone'), stored(record(byAddress, 'address'), 'id-address')]);
    const later = record({ ...byAddress, email: 'annika.t@example.org' }, 'r2', { index: 1 });
    const plan = planBatch([record(bridge, 'r1'), later], s, model);
    const survivor = plan.records[0]!.identityId;
    expect(plan.records[1]).toMatchObject({ outcome: 'LINKED', identityId: survivor });
    expect(plan.records[1]!.candidates.map((c) => c.identityId)).toEqual([survivor]);
  });
});

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

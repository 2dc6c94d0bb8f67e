import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

// The operations of the README's identity walkthrough, exactly as shown there.
describe(`README identity walkthrough on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('works as shown', async () => {
    const registered = await app.gql(`mutation {
  ehr: registerSource(input: { code: "ehr", name: "General Hospital EHR", kind: EHR, trustRank: 80 }) { code }
  lab: registerSource(input: { code: "lab", name: "Regional Lab", kind: LAB, trustRank: 40 }) { code }
}`);
    expect(registered.errors).toBeUndefined();

    const first = await app.gql<{ ingestRecord: { outcome: string; identity: { id: string } } }>(`mutation {
  ingestRecord(input: {
    source: "ehr", localId: "MRN-1001", givenName: "Jonathan", familyName: "Whitaker", sex: "M",
    birthDate: "1961-07-04", ssn: "512-48-3067", phone: "(617) 555-0134",
    addressLine1: "12 Beacon St", city: "Boston", state: "MA", postalCode: "02108"
  }) {
    outcome
    identity { id }
  }
}`);
    expect(first.data?.ingestRecord.outcome).toBe('CREATED');

    const second = await app.gql<{
      ingestRecord: { outcome: string; identity: { id: string }; candidates: Array<{ grade: string }> };
    }>(`mutation {
  ingestRecord(input: {
    source: "lab", localId: "L-77", givenName: "Jon", familyName: "Whitaker", sex: "male",
    birthDate: "1961-07-04", phone: "6175550134", postalCode: "02108"
  }) {
    outcome
    identity { id golden { givenName familyName birthDate } }
    candidates { probability grade explanation { prior contributions { comparison level weight } conflicts } }
  }
}`);
    expect(second.data?.ingestRecord.outcome).toBe('LINKED');
    expect(second.data?.ingestRecord.identity.id).toBe(first.data?.ingestRecord.identity.id);
    expect(second.data?.ingestRecord.candidates[0]?.grade).toBe('CERTAIN');

    const resolved = await app.gql<{ resolve: { id: string; records: unknown[] } }>(
      '{ resolve(source: "lab", localId: "L-77") { id status records { source localId } } }',
    );
    expect(resolved.data?.resolve.id).toBe(first.data?.ingestRecord.identity.id);
    expect(resolved.data?.resolve.records).toHaveLength(2);

    const matched = await app.gql<{ match: Array<{ identity: { id: string }; grade: string }> }>(`{
  match(input: { givenName: "Jonathan", familyName: "Whittaker", birthDate: "1961-07-04" }, count: 3) {
    identity { id } probability grade
  }
}`);
    expect(matched.data?.match[0]?.identity.id).toBe(first.data?.ingestRecord.identity.id);

    const queue = await app.gql(
      '{ reviewQueue(first: 10) { edges { node { id kind probability blockers record { localId } identityA { id } } } } }',
    );
    expect(queue.errors).toBeUndefined();

    const bad = await app.gql('mutation { ingestRecord(input: { source: "ehr", localId: "X", birthDate: "1961-02-30" }) { outcome } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.birthDate' });
    expect(bad.errors?.[0]?.message).toBe('Invalid input: input.birthDate: day is out of range for its month');
  });
});

import { desc, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditLog, reviewItems } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const ERROR_FIELDS = '... on Error { __typename code message field }';

const MERGE = `mutation($s: ID!, $m: ID!, $sv: Int) {
  mergeIdentitiesResult(survivorId: $s, mergedId: $m, reason: "same person", survivorVersion: $sv) {
    __typename
    ... on MergeIdentitiesSuccess { identity { id version } }
    ... on StaleVersionError { identityId expectedVersion currentVersion }
    ${ERROR_FIELDS}
  }
}`;

const UNLINK = `mutation($r: ID!) {
  unlinkRecordResult(recordId: $r, reason: "wrong patient") {
    __typename
    ... on UnlinkRecordSuccess { record { id identity { id } } }
    ${ERROR_FIELDS}
  }
}`;

const NOT_DUPLICATE = `mutation($a: ID!, $b: ID!) {
  markNotDuplicateResult(a: $a, b: $b, reason: "different people") {
    __typename
    ... on MarkNotDuplicateSuccess { identities { id } }
    ... on ValidationError { problems { field code } }
    ${ERROR_FIELDS}
  }
}`;

const RESOLVE = `mutation($id: ID!) {
  resolveReviewItemResult(id: $id, decision: NOT_MATCH, reason: "different people") {
    __typename
    ... on ResolveReviewItemSuccess { reviewItem { id status decision } }
    ${ERROR_FIELDS}
  }
}`;

const SET_POLICY = `mutation($rules: [FieldRuleInput!]!) {
  setSurvivorshipPolicyResult(rules: $rules) {
    __typename
    ... on SetSurvivorshipPolicySuccess { change { policy { version active } run { status } } }
    ... on ValidationError { problems { field code } }
    ${ERROR_FIELDS}
  }
}`;

type Result = Record<string, unknown> & { __typename: string };

describe(`result unions of the steward and policy mutations on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let serial = 0;

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** A new identity of one record, of a patient no other test uses. */
  async function identity() {
    serial += 1;
    return ingest(app, { source: 'ehr', localId: `RU-${serial}`, ...person(90_000 + serial * 7) });
  }

  /** Runs a mutation and returns its one root field, failing the test on a GraphQL error. */
  async function answer(query: string, variables: Record<string, unknown>): Promise<Result> {
    const result = await app.gql<Record<string, Result>>(query, variables);
    expect(result.errors).toBeUndefined();
    return Object.values(result.data!)[0]!;
  }

  test('mergeIdentitiesResult answers the survivor, or a stale version as a StaleVersionError with both versions', async () => {
    const [a, b, c] = [await identity(), await identity(), await identity()];
    const merged = await answer(MERGE, { s: a.identity.id, m: b.identity.id, sv: a.identity.version });
    expect(merged).toMatchObject({ __typename: 'MergeIdentitiesSuccess', identity: { id: a.identity.id } });

    const stale = await answer(MERGE, { s: a.identity.id, m: c.identity.id, sv: a.identity.version });
    expect(stale).toMatchObject({
      __typename: 'StaleVersionError',
      code: 'STALE_VERSION',
      field: 'survivorVersion',
      identityId: a.identity.id,
      expectedVersion: a.identity.version,
      currentVersion: (merged.identity as { version: number }).version,
    });
    const notFound = await answer(MERGE, { s: a.identity.id, m: 'no-such-identity' });
    expect(notFound).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', field: 'mergedId' });

    // The original mutation keeps answering the same failure as a GraphQL error.
    const original = await app.gql(
      'mutation($s: ID!, $m: ID!, $sv: Int) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "x", survivorVersion: $sv) { id } }',
      { s: a.identity.id, m: c.identity.id, sv: a.identity.version },
    );
    expect(original.errors?.[0]?.extensions).toMatchObject({ code: 'STALE_VERSION', field: 'survivorVersion' });
  });

  test('a failure answered as data is still audited as a failed decision', async () => {
    const [a, b] = [await identity(), await identity()];
    await answer(MERGE, { s: a.identity.id, m: b.identity.id, sv: a.identity.version + 5 });
    const [entry] = await app.services.database.db
      .select()
      .from(auditLog)
      .where(like(auditLog.action, 'mutation:mergeIdentitiesResult%'))
      .orderBy(desc(auditLog.id))
      .limit(1);
    expect(entry).toMatchObject({ outcome: 'ERROR', details: expect.objectContaining({ errorCodes: ['STALE_VERSION'] }) });
  });

  test('unlinkRecordResult answers the moved record, or the only record of an identity as a ConflictError', async () => {
    serial += 1;
    const patient = person(95_000 + serial);
    const first = await ingest(app, { source: 'ehr', localId: `RU-U${serial}`, ...patient });
    const second = await ingest(app, { source: 'lab', localId: `RU-U${serial}`, ...patient });
    expect(second.identity.id).toBe(first.identity.id);

    const moved = await answer(UNLINK, { r: second.record.id });
    expect(moved.__typename).toBe('UnlinkRecordSuccess');
    const record = moved.record as { id: string; identity: { id: string } };
    expect(record.id).toBe(second.record.id);
    expect(record.identity.id).not.toBe(first.identity.id);

    const only = await answer(UNLINK, { r: first.record.id });
    expect(only).toMatchObject({ __typename: 'ConflictError', code: 'ONLY_RECORD', field: 'recordId' });
  });

  test('markNotDuplicateResult answers both identities, or the same identity twice as a ValidationError', async () => {
    const [a, b] = [await identity(), await identity()];
    const marked = await answer(NOT_DUPLICATE, { a: a.identity.id, b: b.identity.id });
    expect(marked).toEqual({ __typename: 'MarkNotDuplicateSuccess', identities: [{ id: a.identity.id }, { id: b.identity.id }] });

    const same = await answer(NOT_DUPLICATE, { a: a.identity.id, b: a.identity.id });
    expect(same).toMatchObject({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      field: 'b',
      problems: [{ field: 'b', code: 'SAME_IDENTITY' }],
    });
  });

  test('resolveReviewItemResult answers the decided item, or a second decision as ALREADY_RESOLVED', async () => {
    const [a, b] = [await identity(), await identity()];
    const [item] = await app.services.database.db
      .insert(reviewItems)
      .values({
        kind: 'POSSIBLE_DUPLICATE',
        identityA: a.identity.id,
        identityB: b.identity.id,
        probability: 0.6,
        weight: 1,
        priority: 0.5,
        explanation: { prior: 0, contributions: [], conflicts: [] },
      })
      .returning({ id: reviewItems.id });

    const decided = await answer(RESOLVE, { id: item!.id });
    expect(decided).toEqual({
      __typename: 'ResolveReviewItemSuccess',
      reviewItem: { id: item!.id, status: 'RESOLVED', decision: 'NOT_MATCH' },
    });

    const again = await answer(RESOLVE, { id: item!.id });
    expect(again).toMatchObject({ __typename: 'ConflictError', code: 'ALREADY_RESOLVED', field: 'id' });
  });

  test('setSurvivorshipPolicyResult answers the new policy, or invalid rules as a ValidationError naming each', async () => {
    const changed = await answer(SET_POLICY, { rules: [{ field: 'phone', rule: 'SOURCE_PRIORITY' }] });
    expect(changed).toMatchObject({ __typename: 'SetSurvivorshipPolicySuccess' });
    expect((changed.change as { policy: { active: boolean; version: number } }).policy).toMatchObject({ active: true });
    expect((changed.change as { policy: { version: number } }).policy.version).toBeGreaterThan(1);

    const unchanged = await answer(SET_POLICY, { rules: [{ field: 'phone', rule: 'SOURCE_PRIORITY' }] });
    expect(unchanged).toMatchObject({ __typename: 'ValidationError', field: 'rules', problems: [{ field: 'rules', code: 'UNCHANGED' }] });

    const invalid = await answer(SET_POLICY, {
      rules: [
        { field: 'phone', rule: 'MOST_RECENT', value: 'x' },
        { field: 'phone', rule: 'MOST_FREQUENT' },
      ],
    });
    expect(invalid).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    expect((invalid.problems as Array<{ field: string; code: string }>).map((p) => p.code)).toContain('DUPLICATE_FIELD');
  });

  test('a refused role is a GraphQL error, never a result', async () => {
    const key = await app.gql<{ createApiKey: { key: string } }>('mutation { createApiKey(name: "ru-pipeline", role: PIPELINE) { key } }');
    expect(key.errors).toBeUndefined();
    const refused = await app.gql(
      MERGE,
      { s: '00000000-0000-4000-8000-000000000001', m: '00000000-0000-4000-8000-000000000002' },
      { key: key.data!.createApiKey.key },
    );
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

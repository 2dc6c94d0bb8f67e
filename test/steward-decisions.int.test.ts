import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface HistoryEvent {
  type: string;
  modelVersion: string | null;
  evidence: Record<string, unknown> | null;
}

describe(`steward decisions on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  const history = async (id: string) =>
    (
      await app.gql<{ identityHistory: HistoryEvent[] }>('query($id: ID!) { identityHistory(id: $id) { type modelVersion evidence } }', {
        id,
      })
    ).data!.identityHistory;

  test('refuses to merge two identities marked as different people unless the steward overrides it', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'SD-1', ...person(301) });
    const b = await ingest(app, { source: 'lab', localId: 'SD-2', ...person(302) });
    const ids = { a: a.identity.id, b: b.identity.id };
    const marked = await app.gql('mutation($a: ID!, $b: ID!) { markNotDuplicate(a: $a, b: $b, reason: "twins") { id } }', ids);
    expect(marked.errors).toBeUndefined();

    const merge =
      'mutation($a: ID!, $b: ID!, $o: Boolean) { mergeIdentities(survivorId: $a, mergedId: $b, reason: "chart review", overrideNotDuplicate: $o) { id records { localId } } }';
    const refused = await app.gql(merge, ids);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'MARKED_NOT_DUPLICATE', field: 'mergedId' });
    expect(refused.errors?.[0]?.message).toMatch(/marked as different people.*overrideNotDuplicate/);
    expect(
      (await app.gql<{ identity: { status: string } }>('query($id: ID!) { identity(id: $id) { status } }', { id: ids.b })).data?.identity
        .status,
    ).toBe('ACTIVE');

    const merged = await app.gql<{ mergeIdentities: { records: Array<{ localId: string }> } }>(merge, { ...ids, o: true });
    expect(merged.errors).toBeUndefined();
    expect(merged.data?.mergeIdentities.records.map((r) => r.localId).sort()).toEqual(['SD-1', 'SD-2']);
    const event = (await history(ids.a)).find((e) => e.type === 'MERGED');
    expect(event?.evidence).toMatchObject({ manual: true, decision: 'MERGE', overrodeNotDuplicate: true });
  });

  test('records the model version and evidence on every manual decision', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'SD-3', ...person(303) });
    const b = await ingest(app, { source: 'lab', localId: 'SD-4', ...person(304) });
    await app.gql('mutation($a: ID!, $b: ID!) { markNotDuplicate(a: $a, b: $b, reason: "siblings") { id } }', {
      a: a.identity.id,
      b: b.identity.id,
    });
    const decisions = (await history(a.identity.id)).filter((e) => e.type === 'NOT_DUPLICATE');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.modelVersion).toEqual(expect.any(String));
    expect(decisions[0]!.evidence).toMatchObject({ manual: true, decision: 'NOT_DUPLICATE' });
  });

  test('gives the identity a split-off record lands in a time-ordered id, with a decision event', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'SD-5', ...person(305) });
    const b = await ingest(app, { source: 'lab', localId: 'SD-6', ...person(305) });
    expect(b.identity.id).toBe(a.identity.id);
    const split = await app.gql<{ unlinkRecord: { identity: { id: string } } }>(
      'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "registration error") { identity { id } } }',
      { r: b.record.id },
    );
    expect(split.errors).toBeUndefined();
    const newId = split.data!.unlinkRecord.identity.id;
    expect(newId).toMatch(V7);
    const created = (await history(newId)).find((e) => e.type === 'SPLIT');
    expect(created?.modelVersion).toEqual(expect.any(String));
    expect(created?.evidence).toMatchObject({ manual: true, decision: 'SPLIT' });
  });
});

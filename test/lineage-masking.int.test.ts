import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../platform/api-keys.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';

describe(`lineage masking on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let keys: Record<'pipeline' | 'steward' | 'governance', string>;
  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    const key = async (role: string) => (await createApiKey(app.services.database.db, `lm-${role}`, role)).key;
    keys = { pipeline: await key('pipeline'), steward: await key('steward'), governance: await key('governance') };
    await seedSources(app, ['ehr', { code: 'trusted', trustRank: 90 }]);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('shows governance provenance and beaten values masked, stewards in full', async () => {
    const ingest = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { identity { id } } }';
    const patient = person(4242, { familyName: 'Castellanos' });
    const first = await app.gql<{ ingestRecord: { identity: { id: string } } }>(
      ingest,
      { input: { source: 'ehr', localId: 'E-1', ...patient } },
      { key: keys.pipeline },
    );
    await app.gql(ingest, { input: { source: 'trusted', localId: 'T-1', ...patient, familyName: 'Castellano' } }, { key: keys.pipeline });
    const query = 'query($id: ID!) { lineage(identityId: $id, field: familyName) { history { value competitors { value } } } }';
    const read = async (role: 'steward' | 'governance') => {
      const result = await app.gql<{ lineage: { history: Array<{ value: string; competitors: Array<{ value: string }> }> } }>(
        query,
        { id: first.data!.ingestRecord.identity.id },
        { key: keys[role] },
      );
      expect(result.errors).toBeUndefined();
      return JSON.stringify(result.data);
    };
    const steward = await read('steward');
    expect(steward).toContain('Castellanos');
    const governance = await read('governance');
    expect(governance).not.toContain('Castellano');
    expect(governance).toContain('C.');
  });
});

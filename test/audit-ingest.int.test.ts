import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditLog } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { INGEST, person, seedSources } from './fixtures.ts';

describe(`ingest auditing on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
  });
  afterAll(async () => {
    await app?.close();
  });

  const entries = () => app.services.database.db.select().from(auditLog);

  test('an ingest and its audit entry commit together: one entry naming the record and identity', async () => {
    const before = (await entries()).length;
    const result = await app.gql<{ ingestRecord: { record: { id: string }; identity: { id: string } } }>(INGEST, {
      input: { source: 'ehr', localId: 'A-1', ...person(31) },
    });
    const added = (await entries()).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ action: 'mutation:ingestRecord', outcome: 'SUCCESS' });
    expect(added[0]!.objectIds).toEqual(
      expect.arrayContaining([`record:${result.data!.ingestRecord.record.id}`, `identity:${result.data!.ingestRecord.identity.id}`]),
    );
    expect((await app.gql('{ verifyAuditChain { valid } }')).data).toEqual({ verifyAuditChain: { valid: true } });
  });

  test('a refused ingest stores nothing but still leaves an ERROR entry', async () => {
    const before = (await entries()).length;
    const result = await app.gql(INGEST, { input: { source: 'ehr', localId: 'A-2', ...person(32), birthDate: '2999-01-01' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const added = (await entries()).slice(before);
    expect(added.map((e) => e.outcome)).toEqual(['ERROR']);
  });
});

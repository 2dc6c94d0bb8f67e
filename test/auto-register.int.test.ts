import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person } from './fixtures.ts';

describe(`auto-registration of sources on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { MPI_AUTO_REGISTER_SOURCES: 'true' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  test('registers an unknown source through the catalog on first ingest, with its classified fields', async () => {
    const first = await ingest(app, { source: 'new_feed', localId: 'N-1', ...person(40) });
    expect(first.outcome).toBe('CREATED');
    const source = await app.gql<{ source: { code: string; datasets: Array<{ fields: Array<{ name: string; phiClass: string }> }> } }>(
      '{ source(code: "new_feed") { code datasets { fields { name phiClass } } } }',
    );
    expect(source.errors).toBeUndefined();
    const fields = source.data!.source.datasets[0]!.fields;
    expect(fields).toContainEqual({ name: 'ssn', phiClass: 'DIRECT_IDENTIFIER' });
    expect(fields).toContainEqual({ name: 'birthDate', phiClass: 'QUASI_IDENTIFIER' });
  });

  test('still refuses a source code that is not a valid code, naming the field', async () => {
    const result = await app.gql('mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }', {
      input: { source: 'bad code!', localId: 'X', ...person(41) },
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ field: 'input.source' });
  });
});

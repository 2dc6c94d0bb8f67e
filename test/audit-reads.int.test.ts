import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../platform/api-keys.ts';
import { listAuditEntries, type AuditRow } from '../platform/audit.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

const EHR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.72';

describe(`every attempt to read patient data is audited, found or not, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let steward: string;
  let pipeline: string;
  let sequence = 0;

  /** Sends a request with its own request id and returns the one audit entry it left. */
  async function entryOf(send: (requestId: string) => Promise<Response>): Promise<{ status: number; body: unknown; entry: AuditRow }> {
    const requestId = `read-audit-${++sequence}`;
    const response = await send(requestId);
    const body = await response.json();
    const entries = (await listAuditEntries(app.services.database.db, {}, { limit: 50 })).filter((r) => r.requestId === requestId);
    expect(entries, `one audit entry for ${requestId}`).toHaveLength(1);
    return { status: response.status, body, entry: entries[0]! };
  }

  const gql = (key: string, query: string, variables: Record<string, unknown> = {}) =>
    entryOf((requestId) =>
      app.fetch(
        '/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
          body: JSON.stringify({ query, variables }),
        },
        { key },
      ),
    );

  const fhir = (key: string, method: string, path: string, body?: unknown) =>
    entryOf((requestId) =>
      app.fetch(
        `/fhir/${path}`,
        {
          method,
          headers: { 'content-type': 'application/fhir+json', 'x-request-id': requestId },
          ...(body ? { body: JSON.stringify(body) } : {}),
        },
        { key },
      ),
    );

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'ehr', name: 'EHR', system: EHR_SYSTEM });
    steward = (await createApiKey(app.services.database.db, 'reads-steward', 'steward')).key;
    pipeline = (await createApiKey(app.services.database.db, 'reads-pipeline', 'pipeline')).key;
    const made = await app.gql(
      'mutation($i: SourceRecordInput!) { ingestRecord(input: $i) { outcome } }',
      { i: { source: 'ehr', localId: 'READ-1', ...person(8100) } },
      { key: pipeline },
    );
    expect(made.errors).toBeUndefined();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('a GraphQL lookup of an unknown identity id is NOT_FOUND and names the id asked for', async () => {
    const unknown = randomUUID();
    const { body, entry } = await gql(steward, 'query($id: ID!) { identity(id: $id) { id golden { familyName } } }', { id: unknown });
    expect(body).toEqual({ data: { identity: null } });
    expect(entry).toMatchObject({
      action: 'query:identity',
      outcome: 'NOT_FOUND',
      objectIds: [`identity:${unknown}`],
      details: expect.objectContaining({ nothingFound: { identity: 'NOT_FOUND' } }),
    });
  });

  test('a GraphQL match without candidates is EMPTY', async () => {
    const { body, entry } = await gql(pipeline, 'query($i: RecordFieldsInput!) { match(input: $i) { probability } }', {
      i: { familyName: 'Nobodyhere', givenName: 'Zebediah', birthDate: '1901-01-01' },
    });
    expect(body).toEqual({ data: { match: [] } });
    expect(entry).toMatchObject({ action: 'query:match', outcome: 'EMPTY', objectIds: [] });
  });

  test('a GraphQL lookup that finds its identity stays SUCCESS', async () => {
    const resolved = await gql(pipeline, '{ resolve(source: "ehr", localId: "READ-1") { id } }');
    const id = (resolved.body as { data: { resolve: { id: string } } }).data.resolve.id;
    expect(resolved.entry.outcome).toBe('SUCCESS');
    const { entry } = await gql(steward, 'query($id: ID!) { identity(id: $id) { id } }', { id });
    expect(entry).toMatchObject({ outcome: 'SUCCESS', objectIds: [`identity:${id}`] });
  });

  test('a FHIR read of an unknown id is NOT_FOUND and names the id asked for', async () => {
    const { status, entry } = await fhir(steward, 'GET', 'Patient/no-such-patient-1');
    expect(status).toBe(404);
    expect(entry).toMatchObject({ action: 'fhir:read', outcome: 'NOT_FOUND', objectIds: ['patient:no-such-patient-1'] });
  });

  test('a FHIR $match without candidates is EMPTY', async () => {
    const { status, entry } = await fhir(pipeline, 'POST', 'Patient/$match', {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'Nobodyhere' }], birthDate: '1901-01-01' } }],
    });
    expect(status).toBe(200);
    expect(entry).toMatchObject({ action: 'fhir:match', outcome: 'EMPTY', objectIds: [] });
  });

  test('a FHIR search without results is EMPTY; one with results is SUCCESS', async () => {
    const none = await fhir(steward, 'GET', 'Patient?family=Nobodyhere');
    expect(none.status).toBe(200);
    expect(none.entry).toMatchObject({ action: 'fhir:search', outcome: 'EMPTY', objectIds: [] });
    const some = await fhir(steward, 'GET', `Patient?identifier=${encodeURIComponent(`${EHR_SYSTEM}|READ-1`)}`);
    expect(some.status).toBe(200);
    expect(some.entry.outcome).toBe('SUCCESS');
    expect(some.entry.objectIds.length).toBeGreaterThan(0);
  });
});

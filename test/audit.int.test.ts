import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordAudit } from '../api/audit-plugin.ts';
import type { Role } from '../api/context.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { listAuditEntries, type AuditRow } from '../platform/audit.ts';
import { verifyAuditChain } from '../platform/audit-verify.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { INGEST, person, seedSources, type IngestData } from './fixtures.ts';

const CLIENT = '192.0.2.44';

describe(`audit trail on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys = {} as Record<Role, string>;
  let sequence = 0;

  /** Runs an operation as a role with its own request id and client address; returns the data and that id. */
  async function call<T>(
    role: Role,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<{ data: T | null; errors?: unknown[]; requestId: string }> {
    const requestId = `audit-test-${++sequence}`;
    const response = await app.yoga.fetch(
      'http://localhost/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}`, 'x-request-id': requestId },
        body: JSON.stringify({ query, variables }),
      },
      { clientAddress: CLIENT },
    );
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    return { data: body.data ?? null, errors: body.errors, requestId };
  }

  async function entryFor(requestId: string): Promise<AuditRow> {
    const rows = (await listAuditEntries(app.services.database.db, {}, { limit: 100 })).filter((r) => r.requestId === requestId);
    expect(rows, `exactly one audit entry for ${requestId}`).toHaveLength(1);
    return rows[0]!;
  }

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    for (const role of ['pipeline', 'steward', 'governance', 'auditor'] as const) {
      keys[role] = (await createApiKey(app.services.database.db, `audit-${role}`, role)).key;
    }
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('leaves an entry for every read and write of patient data in an end-to-end flow', async () => {
    const ingestA = await call<IngestData>('pipeline', INGEST, { input: { source: 'ehr', localId: 'AUD-A', ...person(4100) } });
    const a = ingestA.data!.ingestRecord;
    const ingestB = await call<IngestData>('pipeline', INGEST, { input: { source: 'ehr', localId: 'AUD-B', ...person(4200) } });
    const b = ingestB.data!.ingestRecord;
    const ingestA2 = await call<IngestData>('pipeline', INGEST, { input: { source: 'lab', localId: 'AUD-A2', ...person(4100) } });
    const a2 = ingestA2.data!.ingestRecord;
    expect(a2.identity.id).toBe(a.identity.id);

    // Each step: the operation, the role that runs it, and the objects its entry must name.
    const steps: Array<{
      role: Role;
      query: string;
      variables?: Record<string, unknown>;
      action: string;
      objects: string[];
      fields?: string[];
      outcome?: string;
    }> = [
      {
        role: 'pipeline',
        query: 'query($s: String!, $l: String!) { resolve(source: $s, localId: $l) { id } }',
        variables: { s: 'lab', l: 'AUD-A2' },
        action: 'query:resolve',
        objects: [`identity:${a.identity.id}`],
      },
      {
        role: 'pipeline',
        query: 'query($i: RecordFieldsInput!) { match(input: $i) { probability } }',
        variables: { i: person(4100) },
        action: 'query:match',
        objects: [`identity:${a.identity.id}`],
      },
      {
        role: 'steward',
        query: 'query($id: ID!) { identity(id: $id) { golden { givenName birthDate ssn } } }',
        variables: { id: a.identity.id },
        action: 'query:identity',
        objects: [`identity:${a.identity.id}`],
        fields: ['birthDate', 'givenName', 'ssn'],
      },
      {
        role: 'governance',
        query: 'query($id: ID!) { identity(id: $id) { records { familyName } } }',
        variables: { id: a.identity.id },
        action: 'query:identity',
        objects: [`identity:${a.identity.id}`, `record:${a.record.id}`, `record:${a2.record.id}`],
      },
      {
        role: 'steward',
        query: 'query($id: ID!) { sourceRecord(id: $id) { givenName phone } }',
        variables: { id: b.record.id },
        action: 'query:sourceRecord',
        objects: [`record:${b.record.id}`],
      },
      {
        role: 'steward',
        query: 'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "chart review") { id } }',
        variables: { s: a.identity.id, m: b.identity.id },
        action: 'mutation:mergeIdentities',
        objects: [`identity:${a.identity.id}`, `identity:${b.identity.id}`],
      },
      {
        role: 'steward',
        query: 'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "different patient") { id identity { id } } }',
        variables: { r: b.record.id },
        action: 'mutation:unlinkRecord',
        objects: [`record:${b.record.id}`, `identity:${a.identity.id}`],
      },
      {
        role: 'steward',
        query: 'query($id: ID!) { identityHistory(id: $id) { type } }',
        variables: { id: a.identity.id },
        action: 'query:identityHistory',
        objects: [`identity:${a.identity.id}`],
      },
      {
        role: 'governance',
        query: 'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "x") { id } }',
        variables: { s: a.identity.id, m: b.identity.id },
        action: 'mutation:mergeIdentities',
        objects: [],
        outcome: 'DENIED',
      },
    ];

    for (const [requestId, record, identity] of [
      [ingestA.requestId, a.record.id, a.identity.id],
      [ingestA2.requestId, a2.record.id, a.identity.id],
    ] as const) {
      const entry = await entryFor(requestId);
      expect(entry).toMatchObject({
        actor: 'api-key:audit-pipeline',
        role: 'pipeline',
        action: 'mutation:ingestRecord',
        outcome: 'SUCCESS',
        clientAddress: CLIENT,
      });
      expect(entry.objectIds).toEqual(expect.arrayContaining([`record:${record}`, `identity:${identity}`]));
      expect(entry.fields).toEqual(expect.arrayContaining(['outcome', 'givenName', 'birthDate']));
      expect(entry.details).toMatchObject({ wrote: true, phiMasked: true });
    }
    for (const step of steps) {
      const result = await call(step.role, step.query, step.variables);
      const entry = await entryFor(result.requestId);
      expect(entry, step.action).toMatchObject({
        actor: `api-key:audit-${step.role}`,
        role: step.role,
        action: step.action,
        outcome: step.outcome ?? 'SUCCESS',
        clientAddress: CLIENT,
      });
      expect(entry.objectIds, step.action).toEqual(expect.arrayContaining(step.objects));
      if (step.fields) expect(entry.fields).toEqual(expect.arrayContaining(step.fields));
    }
  });

  test('does not audit operations that touch no patient data', async () => {
    const before = (await listAuditEntries(app.services.database.db, {}, { limit: 1 }))[0]?.id;
    const result = await call('steward', '{ me { name } serverInfo { version } }');
    expect(result.errors).toBeUndefined();
    expect((await listAuditEntries(app.services.database.db, {}, { limit: 1 }))[0]?.id).toBe(before);
  });

  test('records non-GraphQL access through recordAudit', async () => {
    await recordAudit(app.services, {
      actor: 'api-key:audit-pipeline',
      role: 'pipeline',
      action: 'fhir:Patient.read',
      objectType: 'identity',
      objectIds: ['identity:00000000-0000-4000-8000-000000000001'],
      fields: ['name', 'birthDate'],
      outcome: 'SUCCESS',
      requestId: 'fhir-1',
    });
    const [entry] = await listAuditEntries(app.services.database.db, { action: 'fhir:*' }, { limit: 1 });
    expect(entry).toMatchObject({ action: 'fhir:Patient.read', requestId: 'fhir-1' });
  });

  test('lets auditors filter and page the trail', async () => {
    type Page = {
      auditLog: {
        edges: Array<{ cursor: string; node: { action: string; actor: string; outcome: string; objectIds: string[] } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const Q =
      'query($f: AuditFilter, $first: Int, $after: String) { auditLog(filter: $f, first: $first, after: $after) { edges { cursor node { action actor outcome objectIds } } pageInfo { hasNextPage endCursor } } }';
    const denied = await call<Page>('auditor', Q, { f: { outcome: 'DENIED', actor: 'api-key:audit-governance' } });
    expect(denied.data!.auditLog.edges.map((e) => e.node.action)).toEqual(['mutation:mergeIdentities']);

    const writes = await call<Page>('auditor', Q, { f: { action: 'mutation:*' } });
    expect(new Set(writes.data!.auditLog.edges.map((e) => e.node.action.split(':')[0]))).toEqual(new Set(['mutation']));

    const first = await call<Page>('auditor', Q, { f: { actor: 'api-key:audit-pipeline' }, first: 2 });
    expect(first.data!.auditLog.pageInfo.hasNextPage).toBe(true);
    const next = await call<Page>('auditor', Q, {
      f: { actor: 'api-key:audit-pipeline' },
      first: 2,
      after: first.data!.auditLog.pageInfo.endCursor,
    });
    const ids = [...first.data!.auditLog.edges, ...next.data!.auditLog.edges].map((e) => Number(e.cursor));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(new Set(ids).size).toBe(ids.length);

    const [history] = await listAuditEntries(app.services.database.db, { action: 'query:identityHistory' }, { limit: 1 });
    const someIdentity = history!.objectIds[0]!;
    const byObject = await call<Page>('auditor', Q, { f: { objectId: someIdentity.split(':')[1] } });
    expect(byObject.data!.auditLog.edges.length).toBeGreaterThanOrEqual(3);
    expect(byObject.data!.auditLog.edges.every((e) => e.node.objectIds.includes(someIdentity))).toBe(true);

    const future = await call<Page>('auditor', Q, { f: { from: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(future.data!.auditLog.edges).toEqual([]);
    const badRange = await call('auditor', Q, { f: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } });
    expect(JSON.stringify(badRange.errors)).toContain('INVALID_RANGE');
  });

  test('exports the trail as FHIR AuditEvent resources', async () => {
    const result = await call<{ auditEvents: { resourceType: string; type: string; entry: Array<{ resource: Record<string, unknown> }> } }>(
      'auditor',
      'query($f: AuditFilter) { auditEvents(filter: $f, first: 20) }',
      { f: { action: 'mutation:mergeIdentities', outcome: 'SUCCESS' } },
    );
    expect(result.data!.auditEvents).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const event = result.data!.auditEvents.entry[0]!.resource;
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      action: 'U',
      outcome: '0',
      agent: [{ who: { display: 'api-key:audit-steward' }, requestor: true, network: { address: CLIENT, type: '2' } }],
      source: { observer: { display: 'mpi' } },
    });
    expect(JSON.stringify(event.entity)).toMatch(/"reference":"Patient\/[0-9a-f-]{36}"/);
  });

  test('keeps one valid chain when many requests append at once', async () => {
    const db = app.services.database.db;
    const before = (await verifyAuditChain(db)).entriesChecked;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        recordAudit(app.services, {
          actor: `api-key:burst-${i % 3}`,
          role: 'pipeline',
          action: 'mutation:ingestRecord',
          objectIds: [`record:burst-${i}`],
          outcome: 'SUCCESS',
          requestId: `burst-${i}`,
        }),
      ),
    );
    const after = await verifyAuditChain(db);
    expect(after).toMatchObject({ valid: true, entriesChecked: before + 60 });
  });

  test('altering, removing or inserting a stored entry makes verifyAuditChain fail', async () => {
    const db = app.services.database.db;
    const chain = await call<{ verifyAuditChain: { valid: boolean; entriesChecked: number } }>(
      'auditor',
      '{ verifyAuditChain { valid entriesChecked } }',
    );
    expect(chain.data!.verifyAuditChain.valid).toBe(true);
    expect(chain.data!.verifyAuditChain.entriesChecked).toBeGreaterThan(10);

    const [victim] = await listAuditEntries(db, { action: 'mutation:mergeIdentities', outcome: 'SUCCESS' }, { limit: 1 });
    await db.execute(sql`update audit_log set actor = 'api-key:someone-else' where id = ${victim!.id}`);
    const altered = await verifyAuditChain(db);
    expect(altered).toMatchObject({ valid: false, firstInvalidId: victim!.id });
    const viaApi = await call<{ verifyAuditChain: { valid: boolean; firstInvalidId: number } }>(
      'auditor',
      '{ verifyAuditChain { valid firstInvalidId } }',
    );
    expect(viaApi.data!.verifyAuditChain).toEqual({ valid: false, firstInvalidId: victim!.id });

    await db.execute(sql`update audit_log set actor = ${victim!.actor} where id = ${victim!.id}`);
    expect((await verifyAuditChain(db)).valid).toBe(true);
    await db.execute(sql`delete from audit_log where id = ${victim!.id}`);
    expect((await verifyAuditChain(db)).valid).toBe(false);
  });
});

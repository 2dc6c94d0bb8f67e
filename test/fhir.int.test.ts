import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { MATCH_GRADE_EXTENSION } from '../interop/index.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

const EHR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.1';
const CLINIC_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.2';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A FHIR Patient for a synthetic person from `fixtures.person`. */
function patient(seed: number, system: string, mrn: string, overrides: Record<string, unknown> = {}): Json {
  const p = person(seed, overrides) as Record<string, string>;
  return {
    resourceType: 'Patient',
    identifier: [{ system, value: mrn }],
    name: [{ use: 'official', family: p.familyName, given: [p.givenName] }],
    gender: p.sex === 'F' ? 'female' : 'male',
    birthDate: p.birthDate,
    telecom: [{ system: 'phone', value: p.phone, use: 'home' }],
    address: [{ use: 'home', line: [p.addressLine1], city: p.city, state: p.state, postalCode: p.postalCode }],
  };
}

async function counts(app: TestApp): Promise<Record<string, number>> {
  const [row] = await queryRows<Record<string, string>>(app.services.database.db, sql`select
    (select count(*) from source_records) as records, (select count(*) from identities) as identities,
    (select count(*) from links) as links`);
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
}

describe(`FHIR R4 over the identity service on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'EHR', name: 'Hospital EHR', system: EHR_SYSTEM });
    await app.services.catalog.registerSource({ code: 'CLINIC', name: 'Clinic', system: CLINIC_SYSTEM });
    for (const role of ['pipeline', 'steward', 'governance', 'auditor']) {
      keys[role] = (await createApiKey(app.services.database.db, `fhir-${role}`, role)).key;
    }
  });
  afterAll(async () => { await app?.close(); });

  async function call(method: string, path: string, body?: unknown, role = 'steward', headers: Record<string, string> = {}) {
    const init: RequestInit = { method, headers: { 'content-type': 'application/fhir+json', ...headers } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await app.fetch(`/fhir${path}`, init, role ? { key: keys[role]! } : {});
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
  }

  test('serves a public CapabilityStatement listing Patient read, create, update and $match', async () => {
    const { status, body } = await call('GET', '/metadata', undefined, '');
    expect(status).toBe(200);
    expect(body.resourceType).toBe('CapabilityStatement');
    const patientResource = body.rest[0].resource.find((r: Json) => r.type === 'Patient');
    expect(patientResource.interaction.map((i: Json) => i.code)).toEqual(expect.arrayContaining(['read', 'create', 'update']));
    expect(JSON.stringify(patientResource.operation)).toContain('match');
  });

  test('ingests a Patient as a source record of the source its identifier system is registered for', async () => {
    const created = await call('POST', '/Patient', patient(1, EHR_SYSTEM, 'E-1'), 'pipeline');
    expect(created.status).toBe(201);
    expect(created.headers.get('x-mpi-ingest-outcome')).toBe('CREATED');
    expect(created.headers.get('location')).toBe(`http://localhost/fhir/Patient/${created.body.id}`);
    const resolved = await app.services.ingest.resolve('EHR', 'E-1');
    expect(resolved?.id).toBe(created.body.id);
  });

  test('reads the golden identity with every source identifier, unmasked for a steward', async () => {
    const first = await call('POST', '/Patient', patient(2, EHR_SYSTEM, 'E-2'), 'pipeline');
    const second = await call('PUT', '/Patient/C-2', patient(2, CLINIC_SYSTEM, 'C-2'), 'pipeline');
    expect(second.headers.get('x-mpi-ingest-outcome')).toBe('LINKED');
    expect(second.body.id).toBe(first.body.id);
    const read = await call('GET', `/Patient/${first.body.id}`, undefined, 'steward');
    expect(read.status).toBe(200);
    expect(read.body.identifier).toEqual(expect.arrayContaining([
      expect.objectContaining({ system: EHR_SYSTEM, value: 'E-2' }),
      expect.objectContaining({ system: CLINIC_SYSTEM, value: 'C-2' }),
    ]));
    expect(read.body.name[0].family).toBe(person(2).familyName);
    expect(read.body.birthDate).toBe(person(2).birthDate);
  });

  test('masks demographics for a pipeline caller as GraphQL does: initials, birth year', async () => {
    const created = await call('POST', '/Patient', patient(3, EHR_SYSTEM, 'E-3'), 'pipeline');
    const p = person(3) as Record<string, string>;
    expect(created.body.name[0]).toMatchObject({ family: `${p.familyName![0]}.`, given: [`${p.givenName![0]}.`] });
    expect(created.body.birthDate).toBe(p.birthDate!.slice(0, 4));
    expect(JSON.stringify(created.body)).not.toContain(p.phone);
  });

  test('a re-sent identical Patient is UNCHANGED and stores nothing new', async () => {
    await call('PUT', '/Patient/E-4', patient(4, EHR_SYSTEM, 'E-4'), 'pipeline');
    const before = await counts(app);
    const again = await call('PUT', '/Patient/E-4', patient(4, EHR_SYSTEM, 'E-4'), 'pipeline');
    expect(again.status).toBe(200);
    expect(again.headers.get('x-mpi-ingest-outcome')).toBe('UNCHANGED');
    expect(await counts(app)).toEqual(before);
  });

  test('$match returns a searchset ordered by score with match grades', async () => {
    const stored = await call('POST', '/Patient', patient(5, EHR_SYSTEM, 'E-5'), 'pipeline');
    const p = person(5) as Record<string, string>;
    const exact = await call('POST', '/Patient/$match', {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: patient(5, CLINIC_SYSTEM, 'probe') }, { name: 'count', valueInteger: 3 }],
    }, 'pipeline');
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const top = exact.body.entry[0];
    expect(top.resource.id).toBe(stored.body.id);
    expect(top.search.extension).toEqual([{ url: MATCH_GRADE_EXTENSION, valueCode: 'certain' }]);
    const scores = exact.body.entry.map((e: Json) => e.search.score);
    expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));

    const partial = await call('POST', '/Patient/$match', {
      resourceType: 'Patient', name: [{ family: p.familyName, given: [p.givenName] }], birthDate: p.birthDate,
    }, 'pipeline');
    const grade = partial.body.entry?.find((e: Json) => e.resource.id === stored.body.id)?.search.extension[0].valueCode;
    expect(['probable', 'possible', 'certain']).toContain(grade);
  });

  test('onlyCertainMatches leaves out candidates that are not certain', async () => {
    await call('POST', '/Patient', patient(6, EHR_SYSTEM, 'E-6'), 'pipeline');
    const p = person(6) as Record<string, string>;
    const result = await call('POST', '/Patient/$match', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { resourceType: 'Patient', name: [{ family: p.familyName }], birthDate: p.birthDate } },
        { name: 'onlyCertainMatches', valueBoolean: true },
      ],
    }, 'steward');
    expect(result.status).toBe(200);
    for (const e of result.body.entry ?? []) expect(e.search.extension[0].valueCode).toBe('certain');
  });

  test.each([
    ['a wrong resourceType', { resourceType: 'Observation' }, 400],
    ['no identifier with a system', { resourceType: 'Patient', identifier: [{ value: 'X' }], birthDate: '1980-01-01' }, 400],
    ['an impossible birth date', { ...patient(7, EHR_SYSTEM, 'E-7'), birthDate: '1980-02-30' }, 400],
    ['a partial birth date', { ...patient(7, EHR_SYSTEM, 'E-7'), birthDate: '1980-02' }, 422],
    ['an unregistered identifier system', patient(7, 'urn:oid:1.2.3.4.5', 'E-7'), 422],
    ['a malformed SSN', { ...patient(7, EHR_SYSTEM, 'E-7'), identifier: [{ system: EHR_SYSTEM, value: 'E-7' }, { system: 'http://hl7.org/fhir/sid/us-ssn', value: '12-34' }] }, 422],
    ['a birth date in the future', { ...patient(7, EHR_SYSTEM, 'E-7'), birthDate: '2999-01-01' }, 422],
  ])('answers %s with an OperationOutcome and stores nothing', async (_name, resource, status) => {
    const before = await counts(app);
    const result = await call('POST', '/Patient', resource, 'pipeline');
    expect(result.status).toBe(status);
    expect(result.body.resourceType).toBe('OperationOutcome');
    expect(result.body.issue.length).toBeGreaterThan(0);
    expect(await counts(app)).toEqual(before);
  });

  test('never quotes submitted patient values in an OperationOutcome', async () => {
    const result = await call('POST', '/Patient', { ...patient(8, EHR_SYSTEM, 'E-8'), birthDate: '1980-02-30' }, 'pipeline');
    expect(JSON.stringify(result.body)).not.toContain('1980-02-30');
    expect(JSON.stringify(result.body)).not.toContain(person(8).familyName as string);
  });

  test('answers a request without credentials with 401 and a wrong role with 403, storing nothing', async () => {
    const before = await counts(app);
    const anonymous = await call('POST', '/Patient', patient(9, EHR_SYSTEM, 'E-9'), '');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(anonymous.body.issue[0].code).toBe('login');
    const badKey = await app.fetch('/fhir/Patient/abc', {}, { key: 'not-a-real-key' });
    expect(badKey.status).toBe(401);
    const governance = await call('POST', '/Patient', patient(9, EHR_SYSTEM, 'E-9'), 'governance');
    expect(governance.status).toBe(403);
    expect(governance.body.issue[0].code).toBe('forbidden');
    const auditor = await call('POST', '/Patient/$match', { resourceType: 'Patient', birthDate: '1980-01-01' }, 'auditor');
    expect(auditor.status).toBe(403);
    expect(await counts(app)).toEqual(before);
  });

  test('writes one audit entry per FHIR request that read or wrote patient data, and one for each refusal', async () => {
    const created = await call('POST', '/Patient', patient(10, EHR_SYSTEM, 'E-10'), 'pipeline', { 'x-request-id': 'fhir-audit-1' });
    await call('GET', `/Patient/${created.body.id}`, undefined, 'steward', { 'x-request-id': 'fhir-audit-2' });
    await call('POST', '/Patient', patient(10, EHR_SYSTEM, 'E-10'), 'governance', { 'x-request-id': 'fhir-audit-3' });
    const rows = await queryRows<{ request_id: string; action: string; outcome: string; actor: string; object_ids: string[]; fields: string[] }>(
      app.services.database.db,
      sql`select request_id, action, outcome, actor, object_ids, fields from audit_log where request_id like 'fhir-audit-%' order by id`,
    );
    expect(rows.map((r) => [r.request_id, r.action, r.outcome])).toEqual([
      ['fhir-audit-1', 'fhir:ingest', 'SUCCESS'],
      ['fhir-audit-2', 'fhir:read', 'SUCCESS'],
      ['fhir-audit-3', 'fhir:ingest', 'DENIED'],
    ]);
    expect(rows[0]!.actor).toBe('api-key:fhir-pipeline');
    expect(rows[0]!.object_ids).toContain(`identity:${created.body.id}`);
    expect(rows[1]!.fields).toEqual(expect.arrayContaining(['birthDate', 'familyName']));
    const text = JSON.stringify(rows);
    for (const value of Object.values(person(10))) expect(text).not.toContain(String(value));
  });

  test('shows a merged identity as inactive and replaced-by its survivor, and the survivor as replacing it', async () => {
    const a = await call('POST', '/Patient', patient(11, EHR_SYSTEM, 'E-11'), 'pipeline');
    const b = await call('POST', '/Patient', patient(12, EHR_SYSTEM, 'E-12'), 'pipeline');
    await app.services.steward.merge(a.body.id, b.body.id, { actor: 'test', reason: 'same patient per chart review' });
    const merged = await call('GET', `/Patient/${b.body.id}`);
    expect(merged.body).toMatchObject({ active: false, link: [{ other: { reference: `Patient/${a.body.id}` }, type: 'replaced-by' }] });
    const survivor = await call('GET', `/Patient/${a.body.id}`);
    expect(survivor.body.link).toEqual([{ other: { reference: `Patient/${b.body.id}` }, type: 'replaces' }]);
    expect(survivor.body.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ value: 'E-12' })]));
  });

  test('answers an unknown Patient id with 404 and leaves GraphQL on the same handler', async () => {
    const missing = await call('GET', '/Patient/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    const graphql = await app.fetch('/graphql', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { roles } }' }),
    }, { key: keys.steward! });
    expect(((await graphql.json()) as Json).data.me.roles).toEqual(['steward']);
  });
});

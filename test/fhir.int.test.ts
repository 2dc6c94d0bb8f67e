import type { Client } from 'fhir-kit-client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MATCH_GRADE_EXTENSION } from '../interop/index.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { attempt, fhirClient, listen, validFhir, type Json } from './fhir-client.ts';
import { person } from './fixtures.ts';

const EHR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.1';
const CLINIC_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.2';
const GOLDEN = 'urn:mpi:record-status|golden';

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

/** Everything a rich registration sends that has no canonical field, to prove it comes back as sent. */
function richPatient(mrn: string): Json {
  return {
    resourceType: 'Patient',
    extension: [
      {
        url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
        valueCode: 'F',
      },
    ],
    identifier: [
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: EHR_SYSTEM, value: mrn },
    ],
    name: [
      { use: 'official', prefix: ['Dr.'], family: 'Quillfeather', given: ['Zephyrine', 'Mae'] },
      { use: 'maiden', family: 'Ashcombe' },
      { use: 'nickname', given: ['Zeph'] },
    ],
    telecom: [
      { system: 'phone', value: '(503) 555-0142', use: 'home' },
      { system: 'phone', value: '+1 503 555 0199', use: 'mobile' },
      { system: 'email', value: 'zq@example.org' },
    ],
    gender: 'female',
    birthDate: '1984-02-29',
    address: [
      { use: 'home', line: ['12 Larch Lane'], city: 'Fernvale', state: 'OR', postalCode: '97001', country: 'US' },
      { use: 'old', line: ['3 Elm Row'], city: 'Dunmore', state: 'OR', postalCode: '97002', country: 'US', period: { end: '2019-05-01' } },
    ],
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] }, preferred: true }],
  };
}

/** The resource without what the server owns (id, meta) and adds (the link to the golden Patient). */
function asSent(resource: Json): Json {
  const { id: _id, meta: _meta, link, ...rest } = resource;
  const own = (link ?? []).filter((l: Json) => l.type !== 'refer');
  return own.length > 0 ? { ...rest, link: own } : rest;
}

async function counts(app: TestApp): Promise<Record<string, number>> {
  const [row] = await queryRows<Record<string, string>>(
    app.services.database.db,
    sql`select
    (select count(*) from source_records) as records, (select count(*) from identities) as identities,
    (select count(*) from fhir_patient_versions) as versions`,
  );
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
}

describe(`FHIR R4 through fhir-kit-client on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let server: Awaited<ReturnType<typeof listen>>;
  const as: Record<string, Client> = {};

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    server = await listen(app);
    await app.services.catalog.registerSource({ code: 'EHR', name: 'Hospital EHR', system: EHR_SYSTEM });
    await app.services.catalog.registerSource({ code: 'CLINIC', name: 'Clinic', system: CLINIC_SYSTEM });
    for (const role of ['pipeline', 'steward', 'governance', 'auditor', 'admin']) {
      as[role] = fhirClient(server.baseUrl, (await createApiKey(app.services.database.db, `fhir-${role}`, role)).key);
    }
    as.anonymous = fhirClient(server.baseUrl);
  });
  afterAll(async () => {
    await server?.close();
    await app?.close();
  });

  const create = (role: string, body: Json, headers: Record<string, string> = {}) =>
    attempt(() => as[role]!.create({ resourceType: 'Patient', body, options: { headers } }));

  test('publishes a CapabilityStatement that lists the served interactions, search parameters and operations', async () => {
    const { status, body } = await attempt(() => as.anonymous!.capabilityStatement());
    expect(status).toBe(200);
    const patientResource = body.rest[0].resource.find((r: Json) => r.type === 'Patient');
    expect(patientResource.interaction.map((i: Json) => i.code).sort()).toEqual([
      'create',
      'delete',
      'history-instance',
      'read',
      'search-type',
      'update',
      'vread',
    ]);
    expect(patientResource.versioning).toBe('versioned-update');
    expect(patientResource.searchParam.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(['family', 'birthdate', 'identifier', '_tag']),
    );
    expect(patientResource.operation.map((o: Json) => o.name)).toEqual(['match', 'ihe-pix']);
  });

  test('creates each source record as a Patient of its own: 201, versioned Location, ETag, Last-Modified', async () => {
    const first = await create('pipeline', patient(1, EHR_SYSTEM, 'E-1'));
    const second = await create('pipeline', patient(1, CLINIC_SYSTEM, 'C-1'));
    for (const made of [first, second]) {
      expect(made.status).toBe(201);
      expect(made.headers.get('location')).toBe(`${server.baseUrl}/Patient/${made.body.id}/_history/1`);
      expect(made.headers.get('etag')).toBe('W/"1"');
      expect(made.headers.get('last-modified')).toBe(new Date(made.body.meta.lastUpdated).toUTCString());
      expect(made.body.meta.versionId).toBe('1');
    }
    expect(second.headers.get('x-mpi-ingest-outcome')).toBe('LINKED');
    expect(second.body.id).not.toBe(first.body.id);
    const identityId = first.headers.get('x-mpi-identity-id');
    expect(second.headers.get('x-mpi-identity-id')).toBe(identityId);
    expect((await app.services.ingest.resolve('EHR', 'E-1'))?.id).toBe(identityId);
    expect(first.body.link).toEqual([{ other: { reference: `Patient/${identityId}` }, type: 'refer' }]);
  });

  test('reads back exactly what was sent, apart from meta, for every element without a canonical field', async () => {
    const sent = richPatient('E-RICH');
    const made = await create('pipeline', sent);
    const read = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: made.body.id }));
    expect(read.status).toBe(200);
    expect(asSent(read.body)).toEqual(sent);
  });

  test('masks a source Patient for a role without full access and marks it redacted', async () => {
    const made = await create('pipeline', richPatient('E-MASK'));
    const read = await attempt(() => as.governance!.read({ resourceType: 'Patient', id: made.body.id }));
    expect(read.body.meta.security).toEqual([expect.objectContaining({ code: 'REDACTED' })]);
    expect(read.body.name[0]).toMatchObject({ family: 'Q.', given: ['Z.', 'M.'] });
    expect(read.body.birthDate).toBe('1984');
    const text = JSON.stringify(read.body);
    for (const value of ['Quillfeather', 'Ashcombe', '555-0142', 'zq@example.org', 'Larch']) expect(text).not.toContain(value);
  });

  test('a pipeline read → edit → PUT round trip cannot write masked values over the real ones', async () => {
    const sent = richPatient('E-ROUNDTRIP');
    const made = await create('pipeline', sent);
    const id = made.body.id as string;
    const masked = await attempt(() => as.pipeline!.read({ resourceType: 'Patient', id }));
    expect(masked.body.meta.security).toEqual([expect.objectContaining({ code: 'REDACTED' })]);

    const edited: Json = { ...masked.body, telecom: [{ system: 'phone', value: '503-555-0100', use: 'mobile' }] };
    const labelled = await attempt(() => as.pipeline!.update({ resourceType: 'Patient', id, body: edited }));
    expect(labelled.status).toBe(422);
    expect(labelled.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['Patient.meta.security'] });

    const { meta: _meta, ...unlabelled } = edited;
    const placeholders = await attempt(() => as.pipeline!.update({ resourceType: 'Patient', id, body: unlabelled }));
    expect(placeholders.status).toBe(422);
    const paths = placeholders.body.issue.map((i: Json) => i.expression[0]);
    expect(paths).toEqual(
      expect.arrayContaining(['Patient.name[0].family', 'Patient.name[0].given[0]', 'Patient.birthDate', 'Patient.address[0].postalCode']),
    );
    expect(JSON.stringify(placeholders.body)).not.toContain('Q.');

    // Nothing was written: the real values are still there, in one version.
    const stored = await attempt(() => as.steward!.read({ resourceType: 'Patient', id }));
    expect(asSent(stored.body)).toEqual(sent);
    expect(stored.body.meta.versionId).toBe('1');
    // The pipeline's own system holds the real values: sending them is an ordinary update.
    const real = await attempt(() => as.pipeline!.update({ resourceType: 'Patient', id, body: { ...sent, id, active: true } }));
    expect(real.status).toBe(200);
  });

  test('updates in place: read, edit, PUT back with If-Match; a stale If-Match is 412; vread and _history keep both', async () => {
    const made = await create('pipeline', patient(2, EHR_SYSTEM, 'E-2'));
    const id = made.body.id as string;
    const current = await attempt(() => as.admin!.read({ resourceType: 'Patient', id }));
    const edited = { ...current.body, telecom: [{ system: 'phone', value: '503-555-0100', use: 'mobile' }] };
    const updated = await attempt(() =>
      as.admin!.update({ resourceType: 'Patient', id, body: edited, options: { headers: { 'If-Match': 'W/"1"' } } }),
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, meta: { versionId: '2' }, telecom: edited.telecom });
    expect(updated.headers.get('location')).toBe(`${server.baseUrl}/Patient/${id}/_history/2`);

    const stale = await attempt(() =>
      as.admin!.update({ resourceType: 'Patient', id, body: edited, options: { headers: { 'If-Match': 'W/"1"' } } }),
    );
    expect(stale.status).toBe(412);
    const old = await attempt(() => as.admin!.vread({ resourceType: 'Patient', id, version: '1' }));
    expect(old.body.telecom).toEqual(patient(2, EHR_SYSTEM, 'E-2').telecom);
    const history = await attempt(() => as.admin!.history({ resourceType: 'Patient', id }));
    expect(history.body).toMatchObject({ type: 'history', total: 2 });
    expect(history.body.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(['2', '1']);

    const noId = await attempt(() => as.pipeline!.update({ resourceType: 'Patient', id, body: patient(2, EHR_SYSTEM, 'E-2') }));
    expect(noId.status).toBe(400);
    expect(noId.body.issue[0].expression).toEqual(['Patient.id']);
  });

  test('a record stored by another channel reads as version 1; its first FHIR write is version 2, unless it was deleted', async () => {
    const actor = { actor: 'test:feed', reason: null };
    await app.services.ingest.ingest({ source: 'EHR', localId: 'E-90', ...person(90) } as never, actor);
    const update = (body: Json, headers: Record<string, string> = {}) =>
      attempt(() =>
        as.pipeline!.update({
          resourceType: 'Patient',
          searchParams: { identifier: `${EHR_SYSTEM}|${body.identifier[0].value}` },
          body,
          options: { headers },
        }),
      );
    const stale = await update(patient(90, EHR_SYSTEM, 'E-90'), { 'If-Match': 'W/"2"' });
    expect(stale.status).toBe(412);
    const written = await update(patient(90, EHR_SYSTEM, 'E-90'), { 'If-Match': 'W/"1"' });
    expect(written.status).toBe(200);
    expect(written.body.meta.versionId).toBe('2');

    await app.services.ingest.ingest({ source: 'EHR', localId: 'E-91', ...person(91) } as never, actor);
    await app.services.ingest.deleteRecord('EHR', 'E-91', actor);
    const revived = await update(patient(91, EHR_SYSTEM, 'E-91'));
    expect(revived.status).toBe(201);
    expect(revived.body.meta.versionId).toBe('1');
  });

  test('conditional update by identifier creates, then updates the same Patient; If-None-Exist creates nothing twice', async () => {
    const body = patient(3, EHR_SYSTEM, 'E-3');
    const put = () =>
      attempt(() => as.pipeline!.update({ resourceType: 'Patient', searchParams: { identifier: `${EHR_SYSTEM}|E-3` }, body }));
    const first = await put();
    expect(first.status).toBe(201);
    const changed = await attempt(() =>
      as.pipeline!.update({
        resourceType: 'Patient',
        searchParams: { identifier: `${EHR_SYSTEM}|E-3` },
        body: { ...body, active: true },
      }),
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: first.body.id, meta: { versionId: '2' } });

    const before = await counts(app);
    const again = await create('pipeline', body, { 'If-None-Exist': `identifier=${EHR_SYSTEM}|E-3` });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await counts(app)).toEqual(before);
  });

  test('PUT to a new id creates the Patient under that id, and GET of the same URL reads it', async () => {
    const made = await attempt(() =>
      as.pipeline!.update({ resourceType: 'Patient', id: 'C-4', body: { ...patient(4, CLINIC_SYSTEM, 'C-4'), id: 'C-4' } }),
    );
    expect(made.status).toBe(201);
    const read = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: 'C-4' }));
    expect(read.body).toMatchObject({ id: 'C-4', identifier: [{ system: CLINIC_SYSTEM, value: 'C-4' }] });
  });

  test('a resource id belongs to one source record: PUT of another record under it, or a second id, is 409 and stores nothing', async () => {
    const put = (id: string, mrn: string, seed: number) =>
      attempt(() => as.pipeline!.update({ resourceType: 'Patient', id, body: { ...patient(seed, CLINIC_SYSTEM, mrn), id } }));
    expect((await put('C-42', 'C-42', 42)).status).toBe(201);
    const resent = await put('C-42', 'C-42', 42);
    expect(resent.status).toBe(200);
    expect(resent.body.meta.versionId).toBe('1');
    const before = await counts(app);
    const taken = await put('C-42', 'C-43', 43);
    expect(taken.status).toBe(409);
    expect(taken.body.issue[0].expression).toEqual(['Patient.id']);
    expect(await counts(app)).toEqual(before);

    expect((await put('C-43', 'C-43', 43)).status).toBe(201);
    const after = await counts(app);
    const second = await put('C-43-b', 'C-43', 43);
    expect(second.status).toBe(409);
    expect(await counts(app)).toEqual(after);
  });

  test('DELETE removes the source record; its Patient then reads as 410 Gone', async () => {
    const made = await create('pipeline', patient(5, EHR_SYSTEM, 'E-5'));
    const removed = await attempt(() => as.pipeline!.delete({ resourceType: 'Patient', id: made.body.id }));
    expect(removed.status).toBe(200);
    expect(await app.services.ingest.resolve('EHR', 'E-5')).toBeNull();
    const gone = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: made.body.id }));
    expect(gone.status).toBe(410);
  });

  test('the golden Patient is tagged golden and lists its sources as seealso; merges are replaced-by / replaces', async () => {
    const a = await create('pipeline', patient(6, EHR_SYSTEM, 'E-6'));
    const b = await create('pipeline', patient(7, EHR_SYSTEM, 'E-7'));
    const [goldenA, goldenB] = [a.headers.get('x-mpi-identity-id')!, b.headers.get('x-mpi-identity-id')!];
    const read = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: goldenA }));
    expect(read.body.meta.tag).toEqual([expect.objectContaining({ system: 'urn:mpi:record-status', code: 'golden' })]);
    expect(read.body.link).toEqual([{ other: { reference: `Patient/${a.body.id}` }, type: 'seealso' }]);
    const refused = await attempt(() =>
      as.pipeline!.update({ resourceType: 'Patient', id: goldenA, body: { ...patient(6, EHR_SYSTEM, 'E-6'), id: goldenA } }),
    );
    expect(refused.status).toBe(405);

    await app.services.steward.merge(goldenA, goldenB, { actor: 'test', reason: 'same patient per chart review' });
    const merged = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: goldenB }));
    expect(merged.body.active).toBe(false);
    expect(merged.body.link).toEqual([{ other: { reference: `Patient/${goldenA}` }, type: 'replaced-by' }]);
    const survivor = await attempt(() => as.steward!.read({ resourceType: 'Patient', id: goldenA }));
    expect(survivor.body.link).toEqual(
      expect.arrayContaining([
        { other: { reference: `Patient/${goldenB}` }, type: 'replaces' },
        { other: { reference: `Patient/${b.body.id}` }, type: 'seealso' },
      ]),
    );
  });

  test.each([
    ['an unknown element', { foo: 1 }, 'Patient.foo'],
    ['a string for a boolean', { deceasedBoolean: 'yes' }, 'Patient.deceased[x]'],
    ['a fraction for an integer', { multipleBirthInteger: 1.5 }, 'Patient.multipleBirth[x]'],
    ['an empty array', { communication: [] }, 'Patient.communication'],
  ])('refuses %s with a 400 naming the path, never the value, and stores nothing', async (_name, extra, path) => {
    const before = await counts(app);
    const result = await create('pipeline', { ...patient(8, EHR_SYSTEM, 'E-8'), ...extra });
    expect(result.status).toBe(400);
    expect(result.body.issue.map((i: Json) => i.expression[0])).toContain(path);
    expect(JSON.stringify(result.body)).not.toMatch(/yes|1\.5/);
    expect(await counts(app)).toEqual(before);
  });

  test.each(['constructor', 'toString', '__proto__'])(
    'answers gender %j, a word every object carries, as an unknown code: 400 on search and create, nothing stored',
    async (gender) => {
      const search = await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams: { gender } }));
      expect(search.status).toBe(400);
      expect(search.body.issue[0].code).toBe('code-invalid');
      const before = await counts(app);
      const created = await create('pipeline', { ...patient(10, EHR_SYSTEM, 'E-10'), gender });
      expect(created.status).toBe(400);
      expect(created.body.resourceType).toBe('OperationOutcome');
      expect(await counts(app)).toEqual(before);
    },
  );

  test('a search by an _id or enterprise identifier that is no identity id finds nothing (200); a real one finds its Patient', async () => {
    const made = await create('pipeline', patient(47, EHR_SYSTEM, 'E-47'));
    const identityId = made.headers.get('x-mpi-identity-id')!;
    const ids = (bundle: Json) => (bundle.entry ?? []).map((e: Json) => e.resource.id);
    for (const value of ['abc', 'constructor', `${identityId}x`, `urn:mpi:identity|${identityId}`]) {
      for (const searchParams of [
        { _id: value } as Record<string, string>,
        { _id: value, _tag: GOLDEN },
        { _id: ` ${value}` },
        { identifier: `urn:mpi:identity|${value}` },
      ]) {
        const found = await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams }));
        expect(found.status, JSON.stringify(searchParams)).toBe(200);
        expect(ids(found.body)).toEqual([]);
      }
    }
    for (const searchParams of [
      { _id: identityId } as Record<string, string>,
      { _id: identityId, _tag: GOLDEN },
      { identifier: `urn:mpi:identity|${identityId}` },
    ]) {
      expect(ids((await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams }))).body)).toContain(identityId);
    }
    expect(ids((await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams: { _id: made.body.id } }))).body)).toContain(
      made.body.id,
    );
  });

  test.each([
    ['no identifier with a system', { resourceType: 'Patient', identifier: [{ value: 'X' }], birthDate: '1980-01-01' }, 400],
    ['an impossible birth date', { ...patient(9, EHR_SYSTEM, 'E-9'), birthDate: '1980-02-30' }, 400],
    ['a partial birth date', { ...patient(9, EHR_SYSTEM, 'E-9'), birthDate: '1980-02' }, 422],
    ['an unregistered identifier system', patient(9, 'urn:oid:1.2.3.4.5', 'E-9'), 422],
    ['a birth date in the future', { ...patient(9, EHR_SYSTEM, 'E-9'), birthDate: '2999-01-01' }, 422],
  ])('answers %s with an OperationOutcome and stores nothing', async (_name, resource, status) => {
    const before = await counts(app);
    const result = await create('pipeline', resource);
    expect(result.status).toBe(status);
    expect(result.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(result.body)).not.toContain('1980-02-30');
    expect(await counts(app)).toEqual(before);
  });

  test('answers 406 to a client that accepts only XML', async () => {
    const result = await attempt(() => as.steward!.capabilityStatement({ headers: { Accept: 'application/fhir+xml' } }));
    expect(result.status).toBe(406);
  });

  test.each([
    [
      'Accept: application/fhir+xml on a read',
      { headers: { Accept: 'application/fhir+xml' } },
      'Patient/00000000-0000-4000-8000-000000000000',
    ],
    ['_format=xml on a search', {}, 'Patient?family=whit&_format=xml'],
  ])('answers 406 with an OperationOutcome to %s, before reading anything', async (_name, options, path) => {
    const result = await attempt(() => as.steward!.request(path, { options }));
    expect(result.status).toBe(406);
    expect(result.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
  });

  test('$match: no entry array when nothing matches; an identifier alone is a certain match', async () => {
    const made = await create('pipeline', patient(10, EHR_SYSTEM, 'E-10'));
    const none = await attempt(() =>
      as.pipeline!.operation({
        resourceType: 'Patient',
        name: '$match',
        input: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'Nobodyhere' }], birthDate: '1901-01-01' } },
          ],
        },
      }),
    );
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0 });

    const byId = await attempt(() =>
      as.pipeline!.operation({
        resourceType: 'Patient',
        name: '$match',
        input: {
          resourceType: 'Parameters',
          parameter: [{ name: 'resource', resource: { resourceType: 'Patient', identifier: [{ system: EHR_SYSTEM, value: 'E-10' }] } }],
        },
      }),
    );
    expect(byId.body.entry).toHaveLength(1);
    expect(byId.body.entry[0]).toMatchObject({
      fullUrl: `${server.baseUrl}/Patient/${made.headers.get('x-mpi-identity-id')}`,
      search: { score: 1, extension: [{ url: MATCH_GRADE_EXTENSION, valueCode: 'certain' }] },
    });
  });

  test('$match onlyCertainMatches returns a match only when exactly one is certain', async () => {
    const twin = { familyName: 'Abernathy-Vex', givenName: 'Oriel' };
    await create('pipeline', patient(11, EHR_SYSTEM, 'E-11', twin));
    const second = await create('pipeline', patient(11, CLINIC_SYSTEM, 'C-11', twin));
    const probe = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { ...patient(11, EHR_SYSTEM, 'probe', twin), identifier: undefined } },
        { name: 'onlyCertainMatches', valueBoolean: true },
      ],
    };
    const one = await attempt(() => as.pipeline!.operation({ resourceType: 'Patient', name: '$match', input: probe }));
    expect(one.body.total).toBe(1);
    await app.services.steward.unlink(second.headers.get('x-mpi-record-id')!, null, { actor: 'test', reason: 'registration error' });
    const two = await attempt(() => as.pipeline!.operation({ resourceType: 'Patient', name: '$match', input: probe }));
    expect(two.body).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0 });
  });

  test('PDQm search by demographics pages through source and golden Patients; _tag picks golden ones', async () => {
    const family = 'Pemberton-Quayle';
    const a = await create('pipeline', patient(12, EHR_SYSTEM, 'E-12', { familyName: family }));
    await create('pipeline', patient(12, CLINIC_SYSTEM, 'C-12', { familyName: family }));
    const birthdate = person(12).birthDate as string;
    const page1 = await attempt(() =>
      as.steward!.search({ resourceType: 'Patient', searchParams: { family: 'pemberton', birthdate, _count: 2 } }),
    );
    expect(page1.body.entry.map((e: Json) => e.resource.meta.tag[0].code)).toEqual(['source', 'source']);
    const page2 = validFhir((await as.steward!.nextPage({ bundle: page1.body as never })) as Json);
    expect(page2.entry.map((e: Json) => e.resource.id)).toEqual([a.headers.get('x-mpi-identity-id')]);

    const golden = await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams: { family, _tag: GOLDEN } }));
    expect(golden.body.total).toBe(1);
    const byIdentifier = await attempt(() =>
      as.steward!.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${EHR_SYSTEM}|E-12`, _tag: 'urn:mpi:record-status|source' },
      }),
    );
    expect(byIdentifier.body.entry.map((e: Json) => e.resource.id)).toEqual([a.body.id]);
    const masked = await attempt(() => as.governance!.search({ resourceType: 'Patient', searchParams: { family, _tag: GOLDEN } }));
    expect(masked.body.entry[0].resource.name[0].family).toBe('P.');
    const nothing = await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams: { family: 'Zzyzx-None' } }));
    expect(nothing.body.entry).toBeUndefined();
  });

  test('PDQm pages run on from the source Patients into the golden ones, and the last page has no next link', async () => {
    const family = 'Thistlewood-Arkwright';
    const a = await create('pipeline', patient(41, EHR_SYSTEM, 'E-41', { familyName: family }));
    await create('pipeline', patient(41, CLINIC_SYSTEM, 'C-41', { familyName: family }));
    const b = await create('pipeline', patient(46, EHR_SYSTEM, 'E-46', { familyName: family }));
    const golden = [a, b].map((r) => r.headers.get('x-mpi-identity-id')).sort();
    expect(golden[0]).not.toBe(golden[1]);
    const pages: Json[] = [];
    let page = (await attempt(() => as.steward!.search({ resourceType: 'Patient', searchParams: { family, _count: 2 } }))).body;
    pages.push(page);
    while (page.link.some((l: Json) => l.relation === 'next')) {
      page = validFhir((await as.steward!.nextPage({ bundle: page as never })) as Json);
      pages.push(page);
    }
    const seen = pages.map((p) => (p.entry ?? []).map((e: Json) => `${e.resource.meta.tag[0].code}`));
    expect(seen).toEqual([['source', 'source'], ['source', 'golden'], ['golden']]);
    expect(
      pages.flatMap((p) => (p.entry ?? []).filter((e: Json) => e.resource.meta.tag[0].code === 'golden').map((e: Json) => e.resource.id)),
    ).toEqual(golden);
    expect(pages.map((p) => p.total)).toEqual([undefined, undefined, 5]);
    const second = await attempt(() =>
      as.steward!.search({ resourceType: 'Patient', searchParams: { family, _tag: GOLDEN, _count: 1, _offset: 1 } }),
    );
    expect(second.body.entry.map((e: Json) => e.resource.id)).toEqual([golden[1]]);
    expect(second.body.total).toBe(2);
  });

  test('PIXm answers every other identifier of the person and the golden reference', async () => {
    const twin = { familyName: 'Fairweather-Ng' };
    await create('pipeline', patient(13, EHR_SYSTEM, 'E-13', twin));
    const clinic = await create('pipeline', patient(13, CLINIC_SYSTEM, 'C-13', twin));
    const identityId = clinic.headers.get('x-mpi-identity-id');
    const pix = await attempt(() =>
      as.pipeline!.operation({
        resourceType: 'Patient',
        name: '$ihe-pix',
        method: 'GET',
        input: { sourceIdentifier: `${EHR_SYSTEM}|E-13` },
      }),
    );
    expect(pix.status).toBe(200);
    expect(pix.body.parameter).toEqual([
      { name: 'targetIdentifier', valueIdentifier: { system: CLINIC_SYSTEM, value: 'C-13' } },
      { name: 'targetId', valueReference: { reference: `${server.baseUrl}/Patient/${clinic.body.id}` } },
      { name: 'targetIdentifier', valueIdentifier: { use: 'official', system: 'urn:mpi:identity', value: identityId } },
      { name: 'targetId', valueReference: { reference: `${server.baseUrl}/Patient/${identityId}` } },
    ]);
    const only = await attempt(() =>
      as.pipeline!.operation({
        resourceType: 'Patient',
        name: '$ihe-pix',
        method: 'GET',
        input: { sourceIdentifier: `${EHR_SYSTEM}|E-13`, targetSystem: CLINIC_SYSTEM },
      }),
    );
    expect(only.body.parameter.map((p: Json) => p.name)).toEqual(['targetIdentifier', 'targetId']);
    const unknown = await attempt(() =>
      as.pipeline!.operation({
        resourceType: 'Patient',
        name: '$ihe-pix',
        method: 'GET',
        input: { sourceIdentifier: `${EHR_SYSTEM}|NOPE` },
      }),
    );
    expect(unknown.status).toBe(404);
    const domain = await attempt(() =>
      as.pipeline!.operation({ resourceType: 'Patient', name: '$ihe-pix', method: 'GET', input: { sourceIdentifier: 'urn:oid:9.9|X' } }),
    );
    expect(domain.status).toBe(400);
  });

  test('answers 401 without credentials and 403 for a wrong role, storing nothing', async () => {
    const before = await counts(app);
    const anonymous = await create('anonymous', patient(14, EHR_SYSTEM, 'E-14'));
    expect(anonymous.status).toBe(401);
    const governance = await create('governance', patient(14, EHR_SYSTEM, 'E-14'));
    expect(governance.status).toBe(403);
    const auditor = await attempt(() => as.auditor!.search({ resourceType: 'Patient', searchParams: { family: 'Okonkwo' } }));
    expect(auditor.status).toBe(403);
    expect(await counts(app)).toEqual(before);
  });

  test('writes one audit entry per request that read or wrote patient data, without patient values', async () => {
    const headers = (id: string) => ({ 'x-request-id': id });
    const made = await create('pipeline', patient(15, EHR_SYSTEM, 'E-15'), headers('fhir-audit-1'));
    await attempt(() => as.steward!.read({ resourceType: 'Patient', id: made.body.id, options: { headers: headers('fhir-audit-2') } }));
    await attempt(() =>
      as.steward!.search({
        resourceType: 'Patient',
        searchParams: { identifier: `${EHR_SYSTEM}|E-15` },
        options: { headers: headers('fhir-audit-3') },
      }),
    );
    await create('governance', patient(15, EHR_SYSTEM, 'E-15'), headers('fhir-audit-4'));
    const rows = await queryRows<{ request_id: string; action: string; outcome: string; object_ids: string[]; fields: string[] }>(
      app.services.database.db,
      sql`select request_id, action, outcome, object_ids, fields from audit_log where request_id like 'fhir-audit-%' order by id`,
    );
    expect(rows.map((r) => [r.request_id, r.action, r.outcome])).toEqual([
      ['fhir-audit-1', 'fhir:ingest', 'SUCCESS'],
      ['fhir-audit-2', 'fhir:read', 'SUCCESS'],
      ['fhir-audit-3', 'fhir:search', 'SUCCESS'],
      ['fhir-audit-4', 'fhir:ingest', 'DENIED'],
    ]);
    expect(rows[1]!.object_ids).toContain(`record:${made.headers.get('x-mpi-record-id')}`);
    expect(rows[2]!.fields).toEqual(expect.arrayContaining(['birthDate', 'familyName']));
    const text = JSON.stringify(rows);
    for (const value of Object.values(person(15))) expect(text).not.toContain(String(value));
  });

  test('the AuditEvent Bundle carries absolute fullUrls', async () => {
    const result = await app.gql<{ auditEvents: Json }>(
      '{ auditEvents(first: 2) }',
      {},
      { key: (await createApiKey(app.services.database.db, 'fhir-auditor-2', 'auditor')).key },
    );
    for (const entry of validFhir(result.data!.auditEvents).entry)
      expect(entry.fullUrl).toMatch(/^http:\/\/localhost\/fhir\/AuditEvent\/\d+$/);
  });
});

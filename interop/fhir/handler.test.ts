import { beforeEach, describe, expect, test } from 'vitest';
import { FakePort, type TestContext } from '../testing/fake-port.ts';
import { PortError } from '../ports.ts';
import { createFhirHandler, type FhirHandler } from './handler.ts';
import { MATCH_GRADE_EXTENSION } from './match.ts';
import { US_SSN_SYSTEM } from './patient-to-record.ts';

const BASE = 'http://mpi.test/fhir';
const ctx: TestContext = { actor: 'api-key:pipeline-ehr' };

function zephyrine(system = 'urn:ehr', value = 'MRN-1'): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [
      { system, value },
      { system: US_SSN_SYSTEM, value: '900-12-3456' },
    ],
    name: [{ use: 'official', family: 'Quillfeather', given: ['Zephyrine', 'Mae'] }],
    gender: 'female',
    birthDate: '1984-02-29',
    telecom: [{ system: 'phone', value: '555-0142', use: 'home' }],
    address: [{ use: 'home', line: ['12 Larch Lane'], city: 'Fernvale', state: 'OR', postalCode: '97001' }],
  };
}

let port: FakePort;
let handle: FhirHandler<TestContext>;
const errors: unknown[] = [];

beforeEach(() => {
  port = new FakePort({ 'urn:ehr': 'EHR', 'urn:lab': 'LAB' });
  errors.length = 0;
  handle = createFhirHandler(port, { capabilityDate: '2024-01-01', onError: (e) => errors.push(e) });
});

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { 'content-type': 'application/fhir+json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await handle(new Request(`${BASE}${path}`, init), ctx);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('POST /fhir/Patient', () => {
  test('ingests the Patient under the source its identifier system maps to and returns it as its own resource', async () => {
    const res = await send('POST', '/Patient', zephyrine());
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(res.headers.get('x-mpi-ingest-outcome')).toBe('CREATED');
    expect(res.headers.get('location')).toBe(`${BASE}/Patient/${res.body.id}/_history/1`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body.link).toEqual([{ other: { reference: `Patient/${res.headers.get('x-mpi-identity-id')}` }, type: 'refer' }]);
    expect(port.writes()).toEqual([
      {
        method: 'ingest',
        ctx,
        args: [
          expect.objectContaining({
            source: 'EHR',
            localId: 'MRN-1',
            familyName: 'Quillfeather',
            middleName: 'Mae',
            ssn: '900-12-3456',
            sex: 'F',
          }),
        ],
      },
    ]);
    expect(res.body.identifier).toContainEqual({ system: 'urn:ehr', value: 'MRN-1' });
  });

  test('links the same person from a second source into one identity', async () => {
    const first = await send('POST', '/Patient', zephyrine('urn:ehr', 'MRN-1'));
    const second = await send('POST', '/Patient', zephyrine('urn:lab', 'L-9'));
    expect(second.status).toBe(201);
    expect(second.headers.get('x-mpi-ingest-outcome')).toBe('LINKED');
    expect(second.body.id).not.toBe(first.body.id);
    const golden = await send('GET', `/Patient/${second.headers.get('x-mpi-identity-id')}`);
    expect(golden.body.id).toBe(first.headers.get('x-mpi-identity-id'));
    expect(golden.body.identifier).toEqual(
      expect.arrayContaining([
        { use: 'usual', system: 'urn:ehr', value: 'MRN-1' },
        { use: 'usual', system: 'urn:lab', value: 'L-9' },
      ]),
    );
  });

  test('answers a repeated post as unchanged', async () => {
    await send('POST', '/Patient', zephyrine());
    const again = await send('POST', '/Patient', zephyrine());
    expect(again.status).toBe(200);
    expect(again.headers.get('x-mpi-ingest-outcome')).toBe('UNCHANGED');
  });

  test.each([
    { prefer: 'return=minimal', body: null },
    { prefer: 'return=OperationOutcome', body: expect.objectContaining({ resourceType: 'OperationOutcome' }) },
  ])('honours Prefer: $prefer', async ({ prefer, body }) => {
    const res = await send('POST', '/Patient', zephyrine(), { prefer });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(body);
  });

  test.each([
    { behaviour: 'a wrong resourceType', body: { resourceType: 'Observation' }, status: 400, expression: 'Patient.resourceType' },
    { behaviour: 'an invalid birth date', body: { ...zephyrine(), birthDate: '1984-02-30' }, status: 400, expression: 'Patient.birthDate' },
    { behaviour: 'a partial birth date', body: { ...zephyrine(), birthDate: '1984' }, status: 422, expression: 'Patient.birthDate' },
    {
      behaviour: 'no identifier with a system',
      body: { ...zephyrine(), identifier: [{ value: 'MRN-1' }] },
      status: 400,
      expression: 'Patient.identifier',
    },
    { behaviour: 'an unregistered identifier system', body: zephyrine('urn:nobody'), status: 422, expression: 'Patient.identifier' },
  ])('rejects $behaviour with an OperationOutcome and stores nothing', async ({ body, status, expression }) => {
    const res = await send('POST', '/Patient', body);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toContainEqual(expect.objectContaining({ severity: 'error', expression: [expression] }));
    expect(port.writes()).toEqual([]);
  });

  test.each([
    { behaviour: 'a body that is not JSON', body: '{"resourceType":"Patient",', headers: {}, status: 400 },
    { behaviour: 'a non-JSON content type', body: 'x', headers: { 'content-type': 'text/plain' }, status: 415 },
    {
      behaviour: 'a body over the size limit',
      body: { ...zephyrine(), text: { div: 'x'.repeat(2 * 1024 * 1024) } },
      headers: {},
      status: 413,
    },
  ])('rejects $behaviour without storing anything', async ({ body, headers, status }) => {
    const res = await send('POST', '/Patient', body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(port.writes()).toEqual([]);
  });

  test('turns a service validation error into an OperationOutcome pointing at the Patient element', async () => {
    port.ingest = async () => {
      throw Object.assign(new Error('Invalid input'), {
        code: 'VALIDATION_FAILED',
        problems: [{ field: 'birthDate', message: 'is in the future' }],
      });
    };
    const res = await send('POST', '/Patient', zephyrine());
    expect(res.status).toBe(422);
    expect(res.body.issue).toEqual([
      { severity: 'error', code: 'value', diagnostics: 'is in the future', expression: ['Patient.birthDate'] },
    ]);
  });

  test('masks an unexpected failure as a 500 and reports it to onError', async () => {
    port.ingest = async () => {
      throw new Error('connection reset while writing Quillfeather');
    };
    const res = await send('POST', '/Patient', zephyrine());
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('Quillfeather');
    expect(errors).toHaveLength(1);
  });
});

describe('PUT /fhir/Patient/{id}', () => {
  test('upserts the record whose identifier value is the id in the URL', async () => {
    const res = await send('PUT', '/Patient/MRN-1', { ...zephyrine(), id: 'MRN-1' });
    expect(res.status).toBe(201);
    expect(port.writes()[0]?.args[0]).toMatchObject({ source: 'EHR', localId: 'MRN-1' });
    const update = await send('PUT', '/Patient/MRN-1', { ...zephyrine(), id: 'MRN-1', gender: 'other' });
    expect(update.status).toBe(200);
    expect(update.body.gender).toBe('other');
  });

  test.each([
    {
      behaviour: 'a body id that differs from the URL',
      path: '/Patient/MRN-1',
      body: { ...zephyrine(), id: 'MRN-2' },
      expression: 'Patient.id',
    },
    { behaviour: 'a body without an id', path: '/Patient/MRN-1', body: zephyrine(), expression: 'Patient.id' },
  ])('rejects $behaviour', async ({ path, body, expression }) => {
    const res = await send('PUT', path, body);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual([expression]);
    expect(port.writes()).toEqual([]);
  });
});

describe('GET /fhir/Patient/{id}', () => {
  test('reads the golden identity with every source identifier', async () => {
    const created = await send('POST', '/Patient', zephyrine());
    const identityId = created.headers.get('x-mpi-identity-id');
    const res = await send('GET', `/Patient/${identityId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Patient', id: identityId, active: true, birthDate: '1984-02-29' });
    expect(res.body.meta.tag).toEqual([expect.objectContaining({ code: 'golden' })]);
  });

  test('shows a merged identity as replaced by its survivor', async () => {
    const a = await send('POST', '/Patient', zephyrine('urn:ehr', 'MRN-1'));
    const b = await send('POST', '/Patient', { ...zephyrine('urn:lab', 'L-9'), birthDate: '1990-01-01' });
    await port.mergeBySourceIds(ctx, { source: 'EHR', localId: 'MRN-1' }, { source: 'LAB', localId: 'L-9' }, 'test');
    const [goldenA, goldenB] = [a.headers.get('x-mpi-identity-id'), b.headers.get('x-mpi-identity-id')];
    const merged = await send('GET', `/Patient/${goldenB}`);
    expect(merged.body).toMatchObject({ active: false, link: [{ other: { reference: `Patient/${goldenA}` }, type: 'replaced-by' }] });
    const survivor = await send('GET', `/Patient/${goldenA}`);
    expect(survivor.body.link).toEqual([{ other: { reference: `Patient/${goldenB}` }, type: 'replaces' }]);
  });

  test.each([
    { behaviour: 'an unknown id with 404', path: '/Patient/nobody', status: 404 },
    { behaviour: 'a malformed id with 400', path: '/Patient/bad%20id', status: 400 },
  ])('answers $behaviour', async ({ path, status }) => {
    const res = await send('GET', path);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('POST /fhir/Patient/$match', () => {
  test('returns graded candidates ordered by score', async () => {
    await send('POST', '/Patient', zephyrine('urn:ehr', 'MRN-1'));
    await send('POST', '/Patient', {
      ...zephyrine('urn:lab', 'L-9'),
      name: [{ family: 'Quillfeather', given: ['Orla'] }],
      birthDate: '1950-05-05',
    });
    const probe = { resourceType: 'Patient', name: [{ family: 'Quillfeather', given: ['Zephyrine'] }], birthDate: '1984-02-29' };
    const res = await send('POST', '/Patient/$match', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: probe }] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    const grades = res.body.entry.map((e: { search: { score: number; extension: Array<{ url: string; valueCode: string }> } }) => [
      e.search.score,
      e.search.extension.find((x) => x.url === MATCH_GRADE_EXTENSION)?.valueCode,
    ]);
    expect(grades).toEqual([
      [0.99, 'certain'],
      [0.3, 'possible'],
    ]);
    expect(port.calls.find((c) => c.method === 'match')?.args[1]).toEqual({ count: 10, onlyCertain: false });
  });

  test.each([
    { onlyCertainMatches: false, asked: { count: 5, onlyCertain: false } },
    // Only one certain candidate may be returned: the port is asked for two, to see whether a second exists.
    { onlyCertainMatches: true, asked: { count: 2, onlyCertain: true } },
  ])(
    'passes onlyCertainMatches=$onlyCertainMatches and a count clamped to the server maximum to the port',
    async ({ onlyCertainMatches, asked }) => {
      const limited = createFhirHandler(port, { maxMatchCount: 5 });
      const body = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: { resourceType: 'Patient', birthDate: '1984-02-29' } },
          { name: 'onlyCertainMatches', valueBoolean: onlyCertainMatches },
          { name: 'count', valueInteger: 50 },
        ],
      };
      const res = await limited(
        new Request(`${BASE}/Patient/$match`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
        ctx,
      );
      expect(res.status).toBe(200);
      expect(port.calls.find((c) => c.method === 'match')?.args[1]).toEqual(asked);
    },
  );

  test('rejects Parameters without a resource and never calls match', async () => {
    const res = await send('POST', '/Patient/$match', { resourceType: 'Parameters', parameter: [{ name: 'count', valueInteger: 2 }] });
    expect(res.status).toBe(400);
    expect(port.calls.some((c) => c.method === 'match')).toBe(false);
  });
});

describe('routing', () => {
  test('serves a CapabilityStatement listing the Patient interactions and operations', async () => {
    const res = await send('GET', '/metadata');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', date: '2024-01-01' });
    const patient = res.body.rest[0].resource[0];
    expect(patient.interaction.map((i: { code: string }) => i.code)).toEqual([
      'read',
      'vread',
      'history-instance',
      'create',
      'update',
      'delete',
      'search-type',
    ]);
    expect(patient.operation.map((o: { name: string }) => o.name)).toEqual(['match', 'ihe-pix']);
  });

  test.each([
    { method: 'PATCH', path: '/Patient/x', status: 405 },
    { method: 'DELETE', path: '/Patient', status: 405 },
    { method: 'GET', path: '/Patient/x/_history/abc', status: 400 },
    { method: 'GET', path: '/metadata?_format=xml', status: 406 },
    { method: 'GET', path: '/Observation/1', status: 404 },
    { method: 'GET', path: '/Patient/a/b', status: 404 },
  ])('answers $method $path with $status', async ({ method, path, status }) => {
    const res = await send(method, path);
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('maps a service refusal to its HTTP status', async () => {
    port.getIdentity = async () => {
      throw new PortError('FORBIDDEN', 'not allowed for this role');
    };
    expect((await send('GET', '/Patient/id-1')).status).toBe(403);
  });
});

describe('input the database cannot hold, and a database that went away', () => {
  test.each([
    ['a NUL byte in a name', '"name":[{"family":"Quill\\u0000feather"}]', 'Patient.name[0].family', /control characters/],
    ['another control character', '"name":[{"given":["Zeph\\u0007"]}]', 'Patient.name[0].given[0]', /control characters/],
    ['an unpaired high surrogate', '"name":[{"family":"Quill\\ud800"}]', 'Patient.name[0].family', /unpaired UTF-16 surrogate/],
    ['an unpaired low surrogate', '"address":[{"city":"\\udc00Fernvale"}]', 'Patient.address[0].city', /unpaired UTF-16 surrogate/],
  ])('answers %s with a 400 naming the element, and writes nothing', async (_name, element, path, message) => {
    const body = `{"resourceType":"Patient","identifier":[{"system":"urn:ehr","value":"MRN-9"}],${element}}`;
    const res = await send('POST', '/Patient', body);
    expect(res.status).toBe(400);
    expect(res.body.issue).toContainEqual(
      expect.objectContaining({ code: 'value', expression: [path], diagnostics: expect.stringMatching(message) }),
    );
    expect(port.writes()).toEqual([]);
  });

  test('keeps tabs and line breaks, which FHIR strings allow', async () => {
    const res = await send('POST', '/Patient', { ...zephyrine(), address: [{ line: ['12 Larch Lane\nFlat 2'], city: 'Fernvale' }] });
    expect(res.status).toBe(201);
  });

  test('answers a NUL byte in a search parameter with a 400 naming the parameter', async () => {
    const res = await send('GET', '/Patient?family=Quill%00feather');
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'value', expression: ['family'] });
  });

  test('answers a lost database connection with a retryable 503 OperationOutcome, not a 500', async () => {
    port.readPatient = async () => {
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    };
    const res = await send('GET', '/Patient/abc');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
    expect(errors).toEqual([]);
  });
});

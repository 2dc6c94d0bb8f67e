import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../platform/api-keys.ts';
import { ensureSource, getSourceByCode } from '../catalog/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

const REGISTER = `mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) {
    code name kind trustRank owner active
    datasets { name owner fields { name phiClass goldenField glossaryTerms dataType } }
  }
}`;
const UPDATE =
  'mutation($code: String!, $input: UpdateSourceInput!) { updateSource(code: $code, input: $input) { code description trustRank } }';
const FIELDS = 'query($filter: FieldFilter) { fields(filter: $filter) { name phiClass source { code } dataset { name } } }';
const CLASSIFY =
  'mutation($input: ClassifyFieldInput!) { classifyField(input: $input) { name phiClass description goldenField glossaryTerms tags } }';

interface Field {
  name: string;
  phiClass: string;
  goldenField: string | null;
  glossaryTerms: string[];
  dataType: string;
}

describe(`catalog API on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    app = await createTestApp();
    for (const role of ['pipeline', 'steward', 'governance', 'auditor']) {
      keys[role] = (await createApiKey(app.services.database.db, `catalog-${role}`, role)).key;
    }
    const seeded = await app.gql(REGISTER, {
      input: { code: 'LAB7', name: 'Lab seven', kind: 'LAB', owner: 'Clinical Labs', steward: 'Dana Ops' },
    });
    expect(seeded.errors).toBeUndefined();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('registers a source with a patients dataset whose canonical fields are classified and mapped', async () => {
    const result = await app.gql<{
      registerSource: {
        code: string;
        kind: string;
        trustRank: number;
        active: boolean;
        datasets: Array<{ name: string; owner: string; fields: Field[] }>;
      };
    }>(REGISTER, { input: { code: 'EHR-MAIN', name: 'Main EHR', kind: 'EHR', owner: 'Health IT' } });
    expect(result.errors).toBeUndefined();
    const source = result.data!.registerSource;
    expect(source).toMatchObject({ code: 'EHR-MAIN', kind: 'EHR', trustRank: 50, active: true });
    expect(source.datasets.map((d) => d.name)).toEqual(['patients']);
    expect(source.datasets[0]!.owner).toBe('Health IT');
    const fields = new Map(source.datasets[0]!.fields.map((f) => [f.name, f]));
    expect(fields.size).toBe(14);
    expect(fields.get('ssn')).toMatchObject({
      phiClass: 'DIRECT_IDENTIFIER',
      goldenField: 'ssn',
      glossaryTerms: ['social security number'],
    });
    expect(fields.get('birthDate')).toMatchObject({ phiClass: 'QUASI_IDENTIFIER', goldenField: 'birthDate', dataType: 'date' });
    expect(fields.get('postalCode')?.phiClass).toBe('QUASI_IDENTIFIER');
    expect(fields.get('addressLine1')?.phiClass).toBe('DIRECT_IDENTIFIER');
  });

  test('refuses a second source with the same code', async () => {
    const result = await app.gql(REGISTER, { input: { code: 'LAB7', name: 'Again' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'SOURCE_EXISTS', field: 'code' });
  });

  test('rejects a malformed source code, naming the field but not echoing the value', async () => {
    const result = await app.gql(REGISTER, { input: { code: 'bad code.with dots', name: 'Bad' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'code' });
    expect(result.errors?.[0]?.message).not.toContain('bad code');
  });

  test('refuses an identifier system another source already maps', async () => {
    await app.gql(REGISTER, { input: { code: 'PAYER1', name: 'Payer', system: 'urn:oid:2.16.840.1.113883.3.999.1' } });
    const result = await app.gql(REGISTER, { input: { code: 'PAYER2', name: 'Payer 2', system: 'urn:oid:2.16.840.1.113883.3.999.1' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'SYSTEM_IN_USE', field: 'system' });
  });

  test('gives one of two concurrent registrations of the same identifier system a SYSTEM_IN_USE conflict', async () => {
    const system = 'urn:oid:2.16.840.1.113883.3.999.2';
    const results = await Promise.allSettled(
      ['RACE-A', 'RACE-B'].map((code) => app.services.catalog.registerSource({ code, name: code, system })),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toMatchObject({ code: 'SYSTEM_IN_USE', field: 'system' });
  });

  test.each([
    ['pipeline', true, false],
    ['steward', true, false],
    ['governance', true, false],
    ['auditor', false, false],
  ])('lets %s read sources: %s, register them: %s', async (role, canRead, canRegister) => {
    const read = await app.gql('{ sources { code } }', undefined, { key: keys[role] });
    expect(read.errors === undefined).toBe(canRead);
    const write = await app.gql(REGISTER, { input: { code: `X-${role}`, name: 'x' } }, { key: keys[role] });
    expect(write.errors === undefined).toBe(canRegister);
    if (!canRegister) expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('lets governance edit catalog metadata but not trust rank, which stays with administrators', async () => {
    const described = await app.gql<{ updateSource: { description: string } }>(
      UPDATE,
      { code: 'LAB7', input: { description: 'Outpatient lab results' } },
      { key: keys.governance },
    );
    expect(described.data?.updateSource.description).toBe('Outpatient lab results');
    const ranked = await app.gql(UPDATE, { code: 'LAB7', input: { trustRank: 90 } }, { key: keys.governance });
    expect(ranked.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const byAdmin = await app.gql<{ updateSource: { trustRank: number } }>(UPDATE, { code: 'LAB7', input: { trustRank: 90 } });
    expect(byAdmin.data?.updateSource.trustRank).toBe(90);
  });

  test('reports an update of an unknown source as not found', async () => {
    const result = await app.gql(UPDATE, { code: 'NOPE', input: { description: 'x' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'code' });
  });

  test('returns null for a source code nobody registered', async () => {
    const result = await app.gql<{ source: null }>('{ source(code: "NOPE") { code } }');
    expect(result.errors).toBeUndefined();
    expect(result.data?.source).toBeNull();
  });

  test.each([
    [{ source: 'LAB7', phiClass: 'QUASI_IDENTIFIER' }, ['birthDate', 'city', 'postalCode', 'sex', 'state']],
    [{ source: 'LAB7', search: 'surname' }, ['familyName']],
    [{ source: 'LAB7', glossaryTerm: 'postal address' }, ['addressLine1', 'addressLine2', 'city', 'postalCode', 'state']],
    [{ source: 'LAB7', tag: 'matching', phiClass: 'DIRECT_IDENTIFIER' }, ['addressLine1', 'familyName', 'givenName', 'phone']],
    [{ owner: 'dana', phiClass: 'NONE' }, []],
    [{ owner: 'clinical labs', search: 'ssn' }, ['ssn']],
  ])('searches the catalog with %j', async (filter, expected) => {
    const result = await app.gql<{ fields: Array<{ name: string; source: { code: string } }> }>(FIELDS, { filter });
    expect(result.errors).toBeUndefined();
    expect(result.data!.fields.map((f) => f.name).sort()).toEqual(expected);
  });

  test('reclassifies a field and documents a new one, which must come with a PHI class', async () => {
    const reclassified = await app.gql<{ classifyField: { phiClass: string; description: string } }>(
      CLASSIFY,
      {
        input: { source: 'LAB7', field: 'city', phiClass: 'NONE', description: "Lab site city, not the patient's" },
      },
      { key: keys.governance },
    );
    expect(reclassified.data?.classifyField).toMatchObject({ phiClass: 'NONE', description: "Lab site city, not the patient's" });

    const unclassified = await app.gql(CLASSIFY, { input: { source: 'LAB7', field: 'mrnCheckDigit' } }, { key: keys.governance });
    expect(unclassified.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'phiClass' });

    const added = await app.gql<{ classifyField: { name: string; phiClass: string; tags: string[] } }>(
      CLASSIFY,
      {
        input: { source: 'LAB7', field: 'mrnCheckDigit', phiClass: 'NONE', tags: ['lab'] },
      },
      { key: keys.governance },
    );
    expect(added.data?.classifyField).toMatchObject({ name: 'mrnCheckDigit', phiClass: 'NONE', tags: ['lab'] });
  });

  test('accepts only glossary terms the glossary defines', async () => {
    const unknown = await app.gql(CLASSIFY, { input: { source: 'LAB7', field: 'phone', glossaryTerms: ['telephone number', 'pager'] } });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'glossaryTerms.1' });
    const defined = await app.gql(
      'mutation { defineGlossaryTerm(term: "pager", definition: "A one-way paging number.") { term } }',
      undefined,
      { key: keys.governance },
    );
    expect(defined.errors).toBeUndefined();
    const known = await app.gql<{ classifyField: { glossaryTerms: string[] } }>(CLASSIFY, {
      input: { source: 'LAB7', field: 'phone', glossaryTerms: ['telephone number', 'pager'] },
    });
    expect(known.data?.classifyField.glossaryTerms).toEqual(['telephone number', 'pager']);
  });

  test('seeds the glossary with the terms the canonical fields use', async () => {
    const result = await app.gql<{ glossary: Array<{ term: string }> }>('{ glossary { term definition } }', undefined, {
      key: keys.governance,
    });
    expect(result.data?.glossary.map((t) => t.term)).toEqual(
      expect.arrayContaining(['date of birth', 'social security number', 'duplicate record', 'overlay']),
    );
  });

  test('fails ingest from an unknown source with a typed UNKNOWN_SOURCE error on the source field', async () => {
    await expect(ensureSource(app.services.database.db, 'NEW-FEED', { autoRegister: false })).rejects.toMatchObject({
      code: 'UNKNOWN_SOURCE',
      field: 'source',
      message: 'source "NEW-FEED" is not registered; register it first or enable MPI_AUTO_REGISTER_SOURCES',
    });
    expect(await getSourceByCode(app.services.database.db, 'NEW-FEED')).toBeNull();
    // Text that is no source code (any text a caller sent) is not repeated back.
    await expect(ensureSource(app.services.database.db, 'not a code <b>', { autoRegister: false })).rejects.toMatchObject({
      code: 'UNKNOWN_SOURCE',
      message: 'source is not registered; register it first or enable MPI_AUTO_REGISTER_SOURCES',
    });
  });

  test('auto-registers an unknown source with its catalog when configured, once under concurrency', async () => {
    const db = app.services.database.db;
    const [a, b] = await Promise.all([
      ensureSource(db, 'AUTO-1', { autoRegister: true }),
      ensureSource(db, 'AUTO-1', { autoRegister: true }),
    ]);
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ code: 'AUTO-1', kind: 'OTHER', active: true });
    const fields = await app.gql<{ fields: unknown[] }>(FIELDS, { filter: { source: 'AUTO-1' } });
    expect(fields.data?.fields).toHaveLength(14);
  });

  test('refuses records from a source an administrator switched off', async () => {
    await app.gql(UPDATE, { code: 'PAYER1', input: { active: false } });
    await expect(ensureSource(app.services.database.db, 'PAYER1', { autoRegister: true })).rejects.toMatchObject({
      code: 'INACTIVE_SOURCE',
      field: 'source',
      message: 'source "PAYER1" is inactive and does not accept records',
    });
    const active = await app.gql<{ sources: Array<{ code: string }> }>('{ sources(active: false) { code } }');
    expect(active.data?.sources.map((s) => s.code)).toEqual(['PAYER1']);
  });
});

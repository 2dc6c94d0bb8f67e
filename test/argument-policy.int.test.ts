import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schema } from '../api/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const SOME_ID = '00000000-0000-7000-8000-000000000001';
const OTHER_ID = '00000000-0000-7000-8000-000000000002';

/** A value the argument's type accepts (the operation may still refuse it: only the refusal's type is checked). */
function sample(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return sample(type.ofType, name);
  if (isListType(type)) return [sample(type.ofType, name)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type));
    return Object.fromEntries(fields.map((f) => [f.name, sample(f.type, f.name)]));
  }
  const samples: Record<string, unknown> = {
    ID: SOME_ID,
    Int: 1,
    Float: 1,
    Boolean: false,
    DateTime: '2026-01-01T00:00:00Z',
    Date: '2000-01-01',
    JSON: {},
  };
  return samples[type.name] ?? (name === 'source' ? 'ehr' : 'x');
}

/** One String or ID place in an operation's arguments, and the variables that put a value there. */
interface TextPlace {
  field: string;
  path: string;
  kind: 'String' | 'ID';
  query: string;
  variables: (value: string) => Record<string, unknown>;
}

function textPlaces(
  type: GraphQLInputType,
  path: string,
  value: unknown,
  put: (v: unknown) => Record<string, unknown>,
): Array<Omit<TextPlace, 'field' | 'query'>> {
  if (isNonNullType(type)) return textPlaces(type.ofType, path, value, put);
  if (isListType(type)) return textPlaces(type.ofType, `${path}[0]`, (value as unknown[])[0], (v) => put([v]));
  if (isInputObjectType(type)) {
    const base = value as Record<string, unknown>;
    return Object.values(type.getFields()).flatMap((f) =>
      textPlaces(f.type, `${path}.${f.name}`, base[f.name] ?? sample(f.type, f.name), (v) => put({ ...base, [f.name]: v })),
    );
  }
  if (isScalarType(type) && (type.name === 'String' || type.name === 'ID')) return [{ path, kind: type.name, variables: (v) => put(v) }];
  return [];
}

/** Every String and ID argument (nested ones included) of every query and mutation, read from the schema. */
function everyTextArgument(): TextPlace[] {
  const roots: Array<[string, GraphQLObjectType]> = [
    ['query', schema.getQueryType()!],
    ['mutation', schema.getMutationType()!],
  ];
  return roots.flatMap(([operation, root]) =>
    Object.values(root.getFields()).flatMap((field: GraphQLField<unknown, unknown>) => {
      const named = getNamedType(field.type);
      const selection = isScalarType(named) || isEnumType(named) ? '' : '{ __typename }';
      const declared = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
      const passed = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const query = `${operation}${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''} ${selection} }`;
      const base = Object.fromEntries(field.args.filter((a) => isNonNullType(a.type)).map((a) => [a.name, sample(a.type, a.name)]));
      return field.args.flatMap((a) =>
        textPlaces(a.type, a.name, base[a.name] ?? sample(a.type, a.name), (v) => ({ ...base, [a.name]: v })).map((place) => ({
          ...place,
          field: field.name,
          query,
        })),
      );
    }),
  );
}

/** One of each kind of character the policy refuses, with what the refusal says. */
const REFUSED: Array<[string, string, RegExp]> = [
  ['NUL', 'a\u0000b', /control characters/],
  ['a C1 control (NEL)', 'a\u0085b', /control characters/],
  ['a right-to-left mark (U+200F)', 'a\u200fb', /bidirectional/],
  ['a word joiner (U+2060)', 'a\u2060b', /invisible/],
  ['a tag character (U+E0041)', 'a\u{E0041}b', /invisible/],
  ['an unpaired surrogate', 'a\ud800b', /unpaired UTF-16 surrogate/],
];

describe(`one character policy for every argument on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
  });
  afterAll(async () => {
    await app?.close();
  });

  const places = everyTextArgument();

  test('the schema has the arguments this test walks', () => {
    expect(places.length).toBeGreaterThan(100);
    expect(places.map((p) => `${p.field}.${p.path}`)).toEqual(
      expect.arrayContaining(['identities.filter.familyName', 'mergeIdentities.reason']),
    );
  });

  test.each(REFUSED)(
    'every String and ID argument refuses %s with INVALID_CHARACTERS naming the argument',
    async (_kind, value, message) => {
      const wrong: string[] = [];
      for (const place of places) {
        const result = await app.gql(place.query, place.variables(value));
        const error = result.errors?.[0];
        const problem = (error?.extensions?.problems as Array<{ field: string; code: string; message: string }> | undefined)?.[0];
        const ok =
          error?.extensions?.code === 'VALIDATION_FAILED' &&
          error.extensions.field === place.path &&
          problem?.code === 'INVALID_CHARACTERS' &&
          message.test(problem.message);
        if (!ok) wrong.push(`${place.field}(${place.path}): ${String(error?.extensions?.code ?? 'accepted')} ${error?.message ?? ''}`);
      }
      expect(wrong).toEqual([]);
    },
  );

  test('no ID argument answers a value that is not an id with an untyped error', async () => {
    const untyped: string[] = [];
    for (const place of places.filter((p) => p.kind === 'ID')) {
      const result = await app.gql(place.query, place.variables('not-an-id'));
      const code = result.errors?.[0]?.extensions?.code;
      if (code === 'INTERNAL_SERVER_ERROR' || result.status >= 500) untyped.push(`${place.field}(${place.path})`);
    }
    expect(untyped).toEqual([]);
  });

  test.each([
    ['mergeIdentities', 'survivorId', `mutation { mergeIdentities(survivorId: "abc", mergedId: "${SOME_ID}", reason: "r") { id } }`],
    ['mergeIdentities', 'mergedId', `mutation { mergeIdentities(survivorId: "${SOME_ID}", mergedId: "abc", reason: "r") { id } }`],
    ['unlinkRecord', 'recordId', 'mutation { unlinkRecord(recordId: "abc", reason: "r") { id } }'],
    ['unlinkRecord', 'toIdentityId', `mutation { unlinkRecord(recordId: "${SOME_ID}", toIdentityId: "abc", reason: "r") { id } }`],
    ['markNotDuplicate', 'a', `mutation { markNotDuplicate(a: "abc", b: "${OTHER_ID}", reason: "r") { id } }`],
    ['markNotDuplicate', 'b', `mutation { markNotDuplicate(a: "${SOME_ID}", b: "abc", reason: "r") { id } }`],
    ['resolveReviewItem', 'id', 'mutation { resolveReviewItem(id: "abc", decision: MATCH, reason: "r") { id } }'],
    ['identityHistory', 'id', 'query { identityHistory(id: "abc") { type } }'],
    ['changeEvents', 'identityId', 'query { changeEvents(identityId: "abc") { id } }'],
    ['setWebhookEndpointActive', 'id', 'mutation { setWebhookEndpointActive(id: "abc", active: false) { id } }'],
  ])('%s refuses a %s that is not a UUID with a typed error naming it', async (_op, field, query) => {
    const result = await app.gql(query);
    const extensions = result.errors?.[0]?.extensions ?? {};
    expect(extensions.field).toBe(field);
    // The steward decisions answer "no such identity" (NOT_FOUND); lists and filters say the id is malformed.
    if (extensions.code === 'NOT_FOUND') return;
    expect(extensions).toMatchObject({ code: 'VALIDATION_FAILED', problems: [{ field, code: 'INVALID_ID' }] });
  });

  test('a literal in the operation text is checked like a variable', async () => {
    const result = await app.gql('query { identities(filter: { familyName: "Sm\\u0000ith" }) { edges { cursor } } }');
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ field: 'filter.familyName', code: 'INVALID_CHARACTERS' }],
    });
  });

  test("a name filter is a prefix of the name itself: LIKE's wildcards in it match only themselves", async () => {
    await ingest(app, { source: 'ehr', localId: 'LIKE-1', ...person(9201), familyName: 'Percivalle', givenName: 'Ottoline' });
    const count = async (filter: Record<string, string>) => {
      const result = await app.gql<{ identities: { totalCount: number } }>(
        'query($f: IdentityFilter) { identities(filter: $f) { totalCount } }',
        { f: filter },
      );
      expect(result.errors).toBeUndefined();
      return result.data!.identities.totalCount;
    };
    expect(await count({ familyName: 'Percival' })).toBe(1);
    expect(await count({ givenName: 'otto' })).toBe(1);
    // Each of these matched before: every identity, or this one through a wildcard.
    expect(await count({ familyName: '%' })).toBe(0);
    expect(await count({ familyName: '%ercivalle' })).toBe(0);
    expect(await count({ familyName: '_ercivalle' })).toBe(0);
    expect(await count({ givenName: 'Ott_line' })).toBe(0);
  });

  test('an operation sent again checks the values of each request, not those it was first sent with', async () => {
    const query = 'query($f: String) { identities(filter: { familyName: $f }) { edges { cursor } } }';
    expect((await app.gql(query, { f: 'Smith' })).errors).toBeUndefined();
    const refused = await app.gql(query, { f: 'Sm\u0000ith' });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ problems: [{ field: 'filter.familyName', code: 'INVALID_CHARACTERS' }] });
    expect((await app.gql(query, { f: 'Smith' })).errors).toBeUndefined();
  });

  test('tabs and line breaks pass in free text, zero-width joiners in names', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'ZWJ-1', ...person(9101), givenName: 'Ka\u200dmal' });
    const b = await ingest(app, { source: 'ehr', localId: 'ZWJ-2', ...person(9102) });
    const result = await app.gql('mutation($a: ID!, $b: ID!, $r: String!) { markNotDuplicate(a: $a, b: $b, reason: $r) { id } }', {
      a: a.identity.id,
      b: b.identity.id,
      r: 'checked by phone\n\twith the clinic',
    });
    expect(result.errors).toBeUndefined();
  });

  test.each([
    ['first: -5', 'first'],
    ['last: -5', 'last'],
  ])('identities(%s) is refused with a typed error naming %s', async (args, field) => {
    const result = await app.gql(`query { identities(${args}) { edges { cursor } } }`);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field });
  });

  test('an oversized page is refused as too complex before it runs', async () => {
    const result = await app.gql('query { identities(first: 1000000) { edges { cursor } } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  test.each([
    // In the filter it is a Date literal, refused while the operation is validated and named by its path.
    ['filter', 'query { identities(filter: { birthDate: "2026-02-30" }) { edges { cursor } } }', 'filter.birthDate'],
    ['deprecated argument', 'query { identities(birthDate: "2026-02-30") { edges { cursor } } }', 'birthDate'],
  ])('an impossible birth date in the identities %s is refused, not matched to nothing', async (_how, query, field) => {
    const result = await app.gql(query);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ field, code: 'INVALID_DATE', message: 'day is out of range for its month' }],
    });
  });

  describe('FHIR', () => {
    const create = (body: string) =>
      app.fetch('/fhir/Patient', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
    const patient = (name: string, birthDate = '1980-01-02') =>
      `{"resourceType":"Patient","identifier":[{"system":"urn:test:ehr","value":"F-1"}],"name":[{"family":"${name}"}],"birthDate":"${birthDate}"}`;

    test.each([
      ['an unpaired surrogate', 'Sm\\ud800ith', /unpaired UTF-16 surrogate/],
      ['a right-to-left mark', 'Sm\\u200fith', /bidirectional/],
      ['a tag character', 'Sm\\udb40\\udc41ith', /invisible/],
      ['a C1 control', 'Sm\\u0085ith', /control characters/],
    ])('a Patient with %s in a name is a 400 OperationOutcome naming the element', async (_kind, name, message) => {
      const response = await create(patient(name));
      expect(response.status).toBe(400);
      const outcome = (await response.json()) as { resourceType: string; issue: Array<{ diagnostics: string; expression?: string[] }> };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ expression: ['Patient.name[0].family'], diagnostics: expect.stringMatching(message) }),
        ]),
      );
    });

    test.each([
      ['NUL', 'family=Sm%00ith', /control characters/],
      ['a right-to-left mark', 'family=Sm%E2%80%8Fith', /bidirectional/],
      ['a word joiner', 'given=A%E2%81%A0n', /invisible/],
    ])('a search parameter with %s is a 400 OperationOutcome naming the parameter', async (_kind, query, message) => {
      const response = await app.fetch(`/fhir/Patient?${query}`);
      expect(response.status).toBe(400);
      const outcome = (await response.json()) as { resourceType: string; issue: Array<{ diagnostics: string; expression?: string[] }> };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]!.expression).toEqual([query.split('=')[0]]);
      expect(outcome.issue[0]!.diagnostics).toMatch(message);
    });

    test('an impossible birth date (2026-02-30) is a 400, in a resource and in a search', async () => {
      const created = await create(patient('Smith', '2026-02-30'));
      expect(created.status).toBe(400);
      const searched = await app.fetch('/fhir/Patient?birthdate=2026-02-30');
      expect(searched.status).toBe(400);
      expect(((await searched.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    });
  });
});

describe(`no schema suggestions in production on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  test.each([
    ['an enum typo in the text', `mutation { resolveReviewItem(id: "${SOME_ID}", decision: MATC, reason: "r") { id } }`, undefined],
    [
      'an enum typo in a variable',
      `mutation($d: ReviewDecision!) { resolveReviewItem(id: "${SOME_ID}", decision: $d, reason: "r") { id } }`,
      { d: 'MATC' },
    ],
    ['a field typo', 'query { identitie { edges { cursor } } }', undefined],
  ])('%s gets no "Did you mean"', async (_kind, query, variables) => {
    const result = await app.gql(query, variables);
    expect(result.errors?.length).toBeGreaterThan(0);
    for (const error of result.errors ?? []) expect(error.message).not.toMatch(/Did you mean|MATCH|identities/);
  });
});

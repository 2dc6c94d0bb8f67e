import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

/**
 * Odd values in every place a caller can put one: a clear refusal (4xx, a typed error) or an answer, never a
 * failure of the service (5xx, an internal error). Found so far: `_id=abc` reaching a uuid column (500).
 */
const ODD = ['', ' ', 'constructor', '__proto__', 'toString', '%', 'a'.repeat(3000), '-1', '0', 'NaN', '|', 'x|', '|x', 'a|b|c'];
const ODD_MORE = [
  'urn:mpi:identity|abc',
  'urn:mpi:identity|',
  '00000000-0000-0000-0000-000000000000',
  "'; drop table x; --",
  'ñandú',
  '🙂',
  '1980-02-30',
];
const FHIR_PARAMETERS = [
  '_id',
  'active',
  'family',
  'given',
  'name',
  'birthdate',
  'gender',
  'identifier',
  'address-postalcode',
  'telecom',
  '_tag',
];
const FHIR_PARAMETERS_MORE = [
  '_count',
  '_offset',
  '_format',
  'family:exact',
  'name:missing',
  '_sort',
  '_include',
  'constructor',
  'unknown-param',
];

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface Field {
  name: string;
  type: TypeRef;
  args: Array<{ name: string; type: TypeRef }>;
}
interface NamedType {
  name: string;
  kind: string;
  fields: Field[] | null;
  inputFields: Array<{ name: string; type: TypeRef }> | null;
  enumValues: Array<{ name: string }> | null;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';

describe(`odd input on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('FHIR search answers every odd parameter value with a Bundle or an OperationOutcome of 4xx', async () => {
    const failures: string[] = [];
    for (const name of [...FHIR_PARAMETERS, ...FHIR_PARAMETERS_MORE]) {
      for (const value of [...ODD, ...ODD_MORE]) {
        for (const path of ['/fhir/Patient', '/fhir/Patient/$ihe-pix']) {
          const url = `${path}?${new URLSearchParams([[name, value]])}`;
          const response = await app.fetch(url);
          const body = (await response.json()) as { resourceType?: string };
          if (response.status >= 500 || !['Bundle', 'OperationOutcome', 'Parameters'].includes(body.resourceType ?? '')) {
            failures.push(`${response.status} ${url.slice(0, 80)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test('FHIR refuses a body nested thousands of levels deep with a 400 naming where, on create, update and $match', async () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    for (const n of [100, 3000, 50_000]) {
      const patient = `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"1"}],"extension":${deep(n)}}`;
      const parameters = `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":${patient}}]}`;
      for (const [method, path, body] of [
        ['POST', '/fhir/Patient', patient],
        ['PUT', '/fhir/Patient?identifier=urn:x|1', patient],
        ['POST', '/fhir/Patient/$match', parameters],
      ] as const) {
        const response = await app.fetch(path, { method, headers: { 'content-type': 'application/fhir+json' }, body });
        const outcome = (await response.json()) as { issue: Array<{ diagnostics: string; expression: string[] }> };
        expect(response.status, `${method} ${path} ${n}`).toBe(400);
        expect(outcome.issue[0]!.diagnostics).toBe('is nested deeper than 64 levels');
        expect(outcome.issue[0]!.expression[0]).toMatch(/^(Patient|Parameters\.parameter\[0\]\.resource)\.extension(\[0\])+$/);
      }
    }
  });

  test('every GraphQL query and mutation answers odd arguments without an internal error', async () => {
    const introspection = await app.gql<{ __schema: { queryType: { name: string }; mutationType: { name: string }; types: NamedType[] } }>(
      `{ __schema { queryType { name } mutationType { name } types { name kind fields { name type { ${TYPE_REF} } args { name type { ${TYPE_REF} } } }
        inputFields { name type { ${TYPE_REF} } } enumValues { name } } } }`,
    );
    const schema = introspection.data!.__schema;
    const types = new Map(schema.types.map((t) => [t.name, t]));
    const unwrap = (t: TypeRef): { named: TypeRef; list: boolean } => {
      let list = false;
      while (t.ofType && (t.kind === 'NON_NULL' || t.kind === 'LIST')) {
        if (t.kind === 'LIST') list = true;
        t = t.ofType;
      }
      return { named: t, list };
    };
    const typeName = (t: TypeRef): string =>
      t.kind === 'NON_NULL' ? `${typeName(t.ofType!)}!` : t.kind === 'LIST' ? `[${typeName(t.ofType!)}]` : t.name!;
    const valueOf = (t: TypeRef, odd: string, depth = 0): unknown => {
      const { named, list } = unwrap(t);
      const type = types.get(named.name!)!;
      let value: unknown;
      if (type.kind === 'SCALAR')
        value =
          named.name === 'Int' ? [-1, 0, 2147483647][odd.length % 3] : named.name === 'Float' ? 1.5 : named.name === 'Boolean' ? true : odd;
      else if (type.kind === 'ENUM') value = type.enumValues![0]!.name;
      else value = depth > 2 ? {} : Object.fromEntries((type.inputFields ?? []).map((f) => [f.name, valueOf(f.type, odd, depth + 1)]));
      return list ? [value] : value;
    };
    const failures: string[] = [];
    let sent = 0;
    for (const [operation, root] of [
      ['query', schema.queryType.name],
      ['mutation', schema.mutationType.name],
    ] as const) {
      for (const field of types.get(root)!.fields!) {
        if (field.args.length === 0) continue;
        const returns = types.get(unwrap(field.type).named.name!)!;
        const selection = ['SCALAR', 'ENUM'].includes(returns.kind) ? '' : ' { __typename }';
        const declared = field.args.map((a) => `$${a.name}: ${typeName(a.type)}`).join(', ');
        const passed = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
        for (const odd of [
          'constructor',
          'abc',
          '',
          '00000000-0000-0000-0000-000000000000',
          '\u0000',
          'a'.repeat(3000),
          '\ud800',
          '0000-01-01T00:00:00Z',
        ]) {
          const variables = Object.fromEntries(field.args.map((a) => [a.name, valueOf(a.type, odd)]));
          const result = await app.gql(`${operation} Odd(${declared}) { ${field.name}(${passed})${selection} }`, variables);
          sent += 1;
          const internal = (result.errors ?? []).filter(
            (e) => !e.extensions?.code || /INTERNAL|UNEXPECTED/.test(String(e.extensions.code)),
          );
          if (result.status >= 500 || internal.length > 0)
            failures.push(`${field.name} ${JSON.stringify(odd.slice(0, 12))}: ${internal[0]?.message ?? result.status}`);
        }
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(failures).toEqual([]);
  }, 180_000);
});

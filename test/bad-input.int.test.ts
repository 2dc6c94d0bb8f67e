import { count } from 'drizzle-orm';
import { getNamedType, isInputObjectType, isScalarType } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schema } from '../api/schema/index.ts';
import { identities, identityEvents, links, reviewItems, sourceRecords } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';

const MAX_BODY = 64 * 1024;
const INGEST_ONE = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }';

/** Every text field of SourceRecordInput, read from the schema so a new field is covered automatically. */
const TEXT_FIELDS = (() => {
  const type = schema.getType('SourceRecordInput');
  if (!isInputObjectType(type)) throw new Error('SourceRecordInput is missing');
  return Object.values(type.getFields())
    .filter((f) => isScalarType(getNamedType(f.type)) && getNamedType(f.type).name === 'String')
    .map((f) => f.name);
})();

/** Hostile strings: each must be refused with a typed error naming the field, or stored as plain data. */
const INJECTIONS: Array<{ kind: string; value: string; mustReject: boolean }> = [
  { kind: 'SQL', value: "x'); DROP TABLE source_records; --", mustReject: false },
  { kind: 'SQL tautology', value: "' OR '1'='1", mustReject: false },
  { kind: 'script', value: '<script>alert(document.cookie)</script>', mustReject: false },
  { kind: 'NUL', value: 'Ann\u0000Smith', mustReject: true },
  { kind: 'escape sequence', value: 'Ann\u001b[31mSmith', mustReject: true },
  { kind: 'newline (log forging)', value: 'Ann\nlevel=info msg=forged', mustReject: false },
  { kind: 'bidi override', value: 'Ann\u202eSmith', mustReject: false },
];

describe(`bad input on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let serial = 0;
  beforeAll(async () => {
    app = await createTestApp({ env: { MPI_MAX_BODY_BYTES: String(MAX_BODY) } });
    await seedSources(app, ['ehr']);
    await app.gql(INGEST_ONE, { input: { source: 'ehr', localId: 'BASE-1', ...person(5000) } });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Row counts of every patient-data table. */
  async function counts(): Promise<Record<string, number>> {
    const db = app.services.database.db;
    const tables = { sourceRecords, identities, links, identityEvents, reviewItems };
    const entries = await Promise.all(
      Object.entries(tables).map(async ([name, table]) => [name, Number((await db.select({ n: count() }).from(table))[0]!.n)] as const),
    );
    return Object.fromEntries(entries);
  }

  async function post(body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
    return app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  }

  /** No stack trace, SQL or driver detail in anything sent to a client. */
  function expectNoInternals(text: string): void {
    expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|stack|insert into|select .+ from|postgres|pglite/i);
  }

  test('answers malformed JSON with 400 and a clear error, storing nothing', async () => {
    const before = await counts();
    const response = await post('{"query": "mutation { ingestRecord(input: {source: \\"ehr\\"}) { outcome } }"');
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toMatch(/JSON/i);
    expectNoInternals(text);
    expect(await counts()).toEqual(before);
  });

  test.each([
    ['declared with Content-Length', false],
    ['streamed without Content-Length', true],
  ])('refuses an oversized body %s with 413, storing nothing', async (_label, streamed) => {
    const before = await counts();
    const records = Array.from({ length: 400 }, (_, i) => ({
      source: 'ehr',
      localId: `BIG-${i}`,
      ...person(6000 + i),
      addressLine2: 'x'.repeat(150),
    }));
    const bytes = new TextEncoder().encode(
      JSON.stringify({ query: 'mutation($r: [SourceRecordInput!]!) { ingestRecords(input: $r) { outcome } }', variables: { r: records } }),
    );
    expect(bytes.byteLength).toBeGreaterThan(MAX_BODY);
    const body = streamed
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
            controller.close();
          },
        })
      : bytes;
    const response = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(streamed ? {} : { 'content-length': String(bytes.byteLength) }) },
      body,
      ...(streamed ? { duplex: 'half' } : {}),
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(await counts()).toEqual(before);
  });

  test.each([
    [
      'too deep',
      `{ identities { edges { node { records { identity { records { identity { records { identity { records { identity { records { identity { id } } } } } } } } } } } } } }`,
    ],
    ['too many aliases', `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { name }`).join(' ')} }`],
    // Under the token limit, but deeper than the parser's recursion reaches (it overflowed: an internal error).
    ['nested too deeply to parse', `{ identities(first: ${'['.repeat(3000)}1${']'.repeat(3000)}) { totalCount } }`],
    [
      'too costly',
      `{ ${Array.from({ length: 25 }, (_, i) => `q${i}: identities(first: 100) { edges { node { golden { givenName familyName birthDate ssn } records { givenName familyName } } } }`).join(' ')} }`,
    ],
  ])('refuses a query that is %s with a typed error before running it', async (_label, query) => {
    const before = await counts();
    const result = await app.gql(query);
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(await counts()).toEqual(before);
  });

  test('refuses a batch of more operations than the limit', async () => {
    const batch = Array.from({ length: 11 }, () => ({ query: '{ me { name } }' }));
    const response = await post(JSON.stringify(batch));
    expect(response.status).toBe(413);
    const ok = await post(JSON.stringify(batch.slice(0, 3)));
    expect(((await ok.json()) as unknown[]).length).toBe(3);
  });

  test.each(TEXT_FIELDS)('refuses or safely stores hostile strings in %s', async (field) => {
    for (const injection of INJECTIONS) {
      const before = await counts();
      const input = { source: 'ehr', localId: `INJ-${++serial}`, ...person(7000 + serial), [field]: injection.value };
      const result = await app.gql<{ ingestRecord: { outcome: string } }>(INGEST_ONE, { input });
      const label = `${field} with ${injection.kind}`;
      const text = JSON.stringify(result.errors ?? []);
      expect(text, label).not.toContain(injection.value);
      expectNoInternals(text);
      if (result.errors) {
        expect(result.errors[0]?.extensions?.code, label).toMatch(/^(VALIDATION_FAILED|UNKNOWN_SOURCE)$/);
        expect(result.errors[0]?.extensions?.field, label).toBe(`input.${field}`);
        expect(await counts(), label).toEqual(before);
      } else {
        expect(injection.mustReject, `${label} was accepted`).toBe(false);
        expect((await counts()).sourceRecords, label).toBe(before.sourceRecords! + 1);
      }
    }
  });

  test.each(['1990-02-30', '1990-13-01', '01/02/1990', '19900102', '2990-01-01', '1990-1-2', 'yesterday'])(
    'refuses the birth date %j with a typed error, storing nothing',
    async (birthDate) => {
      const before = await counts();
      const result = await app.gql(INGEST_ONE, {
        input: { source: 'ehr', localId: `DATE-${++serial}`, ...person(8000 + serial), birthDate },
      });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input.birthDate' });
      expect(JSON.stringify(result.errors)).not.toContain(birthDate);
      expect(await counts()).toEqual(before);
    },
  );

  test('refuses an invalid DateTime argument with a clear error', async () => {
    const result = await app.gql('query($f: AuditFilter) { auditLog(filter: $f) { edges { cursor } } }', { f: { from: 'last tuesday' } });
    expect(result.errors?.[0]?.message).toMatch(/ISO-8601/);
  });

  test.each([
    [
      'as a literal',
      'mutation { resolveReviewItem(id: "00000000-0000-4000-8000-000000000000", decision: MAYBE, reason: "r") { id } }',
      undefined,
    ],
    [
      'in a variable',
      'mutation($d: ReviewDecision!) { resolveReviewItem(id: "00000000-0000-4000-8000-000000000000", decision: $d, reason: "r") { id } }',
      { d: 'MAYBE' },
    ],
  ])('refuses an unknown enum value %s, changing nothing', async (_label, query, variables) => {
    const before = await counts();
    const result = await app.gql(query, variables);
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.message).toMatch(/MAYBE|ReviewDecision/);
    expect(await counts()).toEqual(before);
  });

  test('rejects a whole batch ingest when one record is invalid', async () => {
    const before = await counts();
    const result = await app.gql('mutation($r: [SourceRecordInput!]!) { ingestRecords(input: $r) { outcome } }', {
      r: [
        { source: 'ehr', localId: 'BATCH-1', ...person(9001) },
        { source: 'ehr', localId: 'BATCH-2', ...person(9002), birthDate: '1990-02-30' },
      ],
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'input[1].birthDate' });
    expect(await counts()).toEqual(before);
  });

  test('masks an unexpected failure without leaking SQL or a stack trace', async () => {
    const result = await app.gql('query($id: ID!) { sourceRecord(id: $id) { id } }', { id: "1' or '1'='1" });
    const text = JSON.stringify(result);
    expectNoInternals(text);
    if (result.errors) expect(result.errors[0]?.extensions?.code).toMatch(/^(INTERNAL_SERVER_ERROR|VALIDATION_FAILED|NOT_FOUND)$/);
  });
});

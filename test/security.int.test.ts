import { randomUUID } from 'node:crypto';
import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  getNamedType,
  isLeafType,
  type GraphQLField,
  type GraphQLInputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { schema } from '../api/schema/index.ts';
import { ROLES, type Role } from '../api/context.ts';
import { createApiKey, revokeApiKey } from '../platform/api-keys.ts';
import { listAuditEntries } from '../platform/audit.ts';
import { PERMISSIONS, type Permission } from '../platform/roles.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { INGEST, person, seedSources, type IngestData } from './fixtures.ts';

/**
 * Who may call each root field, besides admin (who may call everything). Derived from the roles in issue 7:
 * pipeline ingests, resolves and matches; steward works the review queue, merges and unmerges; governance reads
 * catalog, lineage and quality (PHI masked); auditor reads the audit trail. A new root field fails the
 * completeness test until it is added here.
 */
const ALLOWED: Record<string, Array<Exclude<Role, 'admin'>> | 'authenticated'> = {
  'Query.me': 'authenticated',
  'Query.serverInfo': 'authenticated',
  'Query.apiKeys': [],
  'Query.verifyAuditChain': ['auditor'],
  'Mutation.exportAuditCheckpoint': ['auditor', 'governance'],
  'Query.auditLog': ['auditor'],
  'Query.auditEvents': ['auditor'],
  'Query.identity': ['pipeline', 'steward', 'governance'],
  'Query.identities': ['steward', 'governance'],
  'Query.resolve': ['pipeline', 'steward'],
  'Query.sourceRecord': ['pipeline', 'steward', 'governance'],
  'Query.match': ['pipeline', 'steward'],
  'Query.identityHistory': ['steward', 'governance'],
  'Query.reviewQueue': ['steward'],
  'Query.identityEvents': ['steward', 'governance'],
  'Query.reviewItem': ['steward'],
  'Query.changeEvents': ['pipeline', 'steward', 'auditor'],
  'Query.webhookEndpoints': [],
  'Query.matchModels': ['steward', 'governance'],
  'Query.matchModel': ['steward', 'governance'],
  'Query.matchModelEvents': ['steward', 'governance'],
  'Query.sources': ['pipeline', 'steward', 'governance'],
  'Query.source': ['pipeline', 'steward', 'governance'],
  'Query.datasets': ['governance'],
  'Query.fields': ['governance'],
  'Query.glossary': ['governance'],
  'Query.qualityMetrics': ['governance'],
  'Query.qualityScorecard': ['governance'],
  'Query.lineage': ['steward', 'governance'],
  'Query.identityAsOf': ['steward', 'governance'],
  'Query.ingestRun': ['pipeline', 'governance'],
  'Query.ingestRuns': ['pipeline', 'governance'],
  'Query.survivorshipPolicy': ['steward', 'governance'],
  'Query.survivorshipPolicies': ['steward', 'governance'],
  'Query.previewSurvivorshipPolicy': ['governance'],
  'Mutation.createApiKey': [],
  'Mutation.revokeApiKey': [],
  'Mutation.ingestRecord': ['pipeline'],
  'Mutation.ingestRecords': ['pipeline'],
  'Mutation.startIngestRun': ['pipeline'],
  'Mutation.finishIngestRun': ['pipeline'],
  'Mutation.deleteRecord': ['pipeline'],
  'Mutation.resolveReviewItem': ['steward'],
  'Mutation.resolveReviewItemResult': ['steward'],
  'Mutation.mergeIdentities': ['steward'],
  'Mutation.mergeIdentitiesResult': ['steward'],
  'Mutation.unlinkRecord': ['steward'],
  'Mutation.unlinkRecordResult': ['steward'],
  'Mutation.markNotDuplicate': ['steward'],
  'Mutation.markNotDuplicateResult': ['steward'],
  'Mutation.trainModel': [],
  'Mutation.importMatchModel': [],
  'Mutation.activateMatchModel': [],
  'Mutation.registerSource': [],
  'Mutation.updateSource': ['governance'],
  'Mutation.classifyField': ['governance'],
  'Mutation.defineGlossaryTerm': ['governance'],
  'Mutation.measureQuality': ['governance'],
  'Mutation.setSurvivorshipPolicy': [],
  'Mutation.setSurvivorshipPolicyResult': [],
  'Mutation.recomputeGoldenRecords': [],
  'Mutation.createWebhookEndpoint': [],
  'Mutation.deleteWebhookEndpoint': [],
  'Mutation.setWebhookEndpointActive': [],
  'Mutation.redeliverWebhookEvents': [],
  'Mutation.replayWebhookEndpoint': [],
  'Query.deadLetters': [],
  'Mutation.replayDeadLetter': [],
  'Mutation.discardDeadLetter': [],
};

function rootFields(): Array<[string, GraphQLField<unknown, unknown>]> {
  return (['Query', 'Mutation'] as const).flatMap((typeName) => {
    const type = schema.getType(typeName);
    return isObjectType(type)
      ? Object.values(type.getFields()).map((f) => [`${typeName}.${f.name}`, f] as [string, GraphQLField<unknown, unknown>])
      : [];
  });
}

/** A syntactically valid value for an input type: enough to get past validation to the scope check. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type))
        .map((f) => [f.name, sampleValue(f.type)]),
    );
  }
  if (isScalarType(type)) {
    const samples: Record<string, unknown> = {
      ID: randomUUID(),
      String: 'x',
      Int: 1,
      Float: 1,
      Boolean: false,
      DateTime: new Date().toISOString(),
      JSON: {},
    };
    return samples[type.name] ?? 'x';
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** The smallest operation calling a root field: required arguments as variables, `__typename` as the selection. */
function minimalOperation(key: string, field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const [typeName] = key.split('.');
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const declared = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const passed = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  const query = `${typeName === 'Mutation' ? 'mutation' : 'query'}${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`;
  return { query, variables: Object.fromEntries(required.map((a) => [a.name, sampleValue(a.type)])) };
}

describe(`roles and masking on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys = {} as Record<Role, string>;
  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    for (const role of ROLES) keys[role] = (await createApiKey(app.services.database.db, `test-${role}`, role)).key;
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('the role table names every query and mutation, and nothing else', () => {
    expect(
      rootFields()
        .map(([key]) => key)
        .sort(),
    ).toEqual(Object.keys(ALLOWED).sort());
  });

  // The console hides what a role may not do by the permission table; it must name the roles the API lets in.
  test.each<[Permission, string[]]>([
    [
      'decideIdentities',
      [
        'Query.reviewQueue',
        'Query.reviewItem',
        'Mutation.resolveReviewItem',
        'Mutation.mergeIdentities',
        'Mutation.unlinkRecord',
        'Mutation.markNotDuplicate',
      ],
    ],
    ['searchIdentities', ['Query.identities', 'Query.identityEvents', 'Query.identityAsOf', 'Query.lineage']],
    [
      'governCatalog',
      [
        'Query.datasets',
        'Query.fields',
        'Query.glossary',
        'Mutation.updateSource',
        'Mutation.classifyField',
        'Mutation.defineGlossaryTerm',
      ],
    ],
    ['governQuality', ['Query.qualityMetrics', 'Query.qualityScorecard', 'Mutation.measureQuality']],
    ['readAudit', ['Query.auditLog', 'Query.verifyAuditChain']],
    ['anchorAudit', ['Mutation.exportAuditCheckpoint']],
    ['readIngestRuns', ['Query.ingestRuns', 'Query.ingestRun']],
  ])('the permission %s holds for exactly the roles the table lets call %j', (permission, fields) => {
    for (const field of fields) expect([...PERMISSIONS[permission]].sort(), field).toEqual([...(ALLOWED[field] as string[])].sort());
  });

  test.each(rootFields().map(([key, field]) => ({ key, field })))('$key allows exactly the roles in the table', async ({ key, field }) => {
    const allowed = ALLOWED[key];
    expect(allowed, `${key} has no entry in the role table`).toBeDefined();
    const { query, variables } = minimalOperation(key, field);
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const role of ROLES) {
      const result = await app.gql(query, variables, { key: keys[role] });
      const codes = (result.errors ?? []).map((e) => e.extensions?.code);
      outcomes[role] = codes.includes('FORBIDDEN') ? 'FORBIDDEN' : codes.includes('UNAUTHENTICATED') ? 'UNAUTHENTICATED' : 'allowed';
      expected[role] = role === 'admin' || allowed === 'authenticated' || allowed!.includes(role) ? 'allowed' : 'FORBIDDEN';
    }
    const anonymous = await app.gql(query, variables);
    outcomes.anonymous = anonymous.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ? 'UNAUTHENTICATED' : 'let in';
    expected.anonymous = 'UNAUTHENTICATED';
    expect(outcomes).toEqual(expected);
  });

  const GOLDEN =
    'query($id: ID!) { identity(id: $id) { golden { givenName familyName birthDate ssn phone addressLine1 city state postalCode sex } records { givenName ssn birthDate } } }';

  test('shows stewards full demographics and masks them for governance and pipeline', async () => {
    const patient = person(9100, { ssn: '123-45-6789', email: 'p9100@example.org' });
    const ingested = await app.gql<IngestData>(INGEST, { input: { source: 'ehr', localId: 'MASK-1', ...patient } }, { key: keys.pipeline });
    expect(ingested.errors).toBeUndefined();
    expect(ingested.data!.ingestRecord.identity.golden.givenName).toBe(`${String(patient.givenName)[0]}.`);
    const id = ingested.data!.ingestRecord.identity.id;

    const full = await app.gql<{ identity: { golden: Record<string, string>; records: Array<Record<string, string>> } }>(
      GOLDEN,
      { id },
      { key: keys.steward },
    );
    expect(full.data!.identity.golden).toMatchObject({
      givenName: patient.givenName,
      ssn: '123-45-6789',
      birthDate: patient.birthDate,
      city: patient.city,
    });

    for (const role of ['governance', 'pipeline'] as const) {
      const masked = await app.gql<{ identity: { golden: Record<string, string>; records: Array<Record<string, string>> } }>(
        GOLDEN,
        { id },
        { key: keys[role] },
      );
      expect(masked.errors).toBeUndefined();
      expect(masked.data!.identity.golden).toEqual({
        givenName: `${String(patient.givenName)[0]}.`,
        familyName: `${String(patient.familyName)[0]}.`,
        birthDate: String(patient.birthDate).slice(0, 4),
        ssn: '***-**-6789',
        phone: '***',
        addressLine1: '***',
        city: '***',
        state: patient.state,
        postalCode: `${String(patient.postalCode).slice(0, 3)}**`,
        sex: patient.sex,
      });
      expect(masked.data!.identity.records[0]).toEqual({
        givenName: `${String(patient.givenName)[0]}.`,
        ssn: '***-**-6789',
        birthDate: String(patient.birthDate).slice(0, 4),
      });
      expect(JSON.stringify(masked.data)).not.toContain(String(patient.familyName));
    }
  });

  test('refuses an unknown key with 401, records the refusal, and stops a revoked key at once', async () => {
    const unknown = await app.gql('{ me { name } }', {}, { key: 'mpi_not-a-key' });
    expect(unknown.status).toBe(401);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const [refusal] = await listAuditEntries(app.services.database.db, { action: 'authenticate' }, { limit: 1 });
    expect(refusal).toMatchObject({ actor: 'anonymous', outcome: 'DENIED', details: { reason: 'unknown_key' } });

    const { key, row } = await createApiKey(app.services.database.db, 'short-lived', 'pipeline');
    expect((await app.gql<{ me: { roles: string[] } }>('{ me { roles } }', {}, { key })).data?.me.roles).toEqual(['pipeline']);
    await revokeApiKey(app.services.database.db, row.id);
    const after = await app.gql('{ me { roles } }', {}, { key });
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('createApiKey takes a Role: an upper-case value creates a working key, a lower-case string or a String variable is refused', async () => {
    const CREATE = 'mutation ($name: String!, $role: Role!) { createApiKey(name: $name, role: $role) { key apiKey { name role } } }';
    const created = await app.gql<{ createApiKey: { key: string; apiKey: { name: string; role: string } } }>(
      CREATE,
      { name: 'enum-role', role: 'STEWARD' },
      { key: keys.admin },
    );
    expect(created.data?.createApiKey.apiKey).toEqual({ name: 'enum-role', role: 'steward' });
    const me = await app.gql<{ me: { roles: string[] } }>('{ me { roles } }', {}, { key: created.data!.createApiKey.key });
    expect(me.data?.me.roles).toEqual(['steward']);

    const lower = await app.gql(CREATE, { name: 'lower-role', role: 'steward' }, { key: keys.admin });
    expect(lower.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'role' });
    const asString = await app.gql(
      'mutation ($role: String!) { createApiKey(name: "string-role", role: $role) { key } }',
      { role: 'STEWARD' },
      { key: keys.admin },
    );
    expect(asString.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const names = (await app.services.apiKeys.list()).map((k) => k.name);
    expect(names).toContain('enum-role');
    expect(names).not.toContain('lower-role');
    expect(names).not.toContain('string-role');
  });

  test('never stores the key itself, only its hash', async () => {
    const { key, row } = await createApiKey(app.services.database.db, 'hash-check', 'auditor');
    expect(row.keyHash).not.toContain(key);
    expect(JSON.stringify(row)).not.toContain(key);
    const listed = await app.gql<{ apiKeys: Array<Record<string, unknown>> }>('{ apiKeys { name prefix } }', {}, { key: keys.admin });
    expect(JSON.stringify(listed.data)).not.toContain(key);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getNamedType, GraphQLObjectType, parse, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import { ROLES, type Role } from '../api/context.ts';
import { FULL_PHI_ROLES, PHI_FIELDS, phiFieldsOf } from '../api/masking.ts';
import { schema } from '../api/schema/index.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { seedSources } from './fixtures.ts';

const PATIENT = {
  givenName: 'Wilhelmina',
  middleName: 'Odalys',
  familyName: 'Quetzalcoatl',
  suffix: 'III',
  sex: 'F',
  birthDate: '1961-07-23',
  ssn: '123-45-6789',
  email: 'w.quetzalcoatl@example.org',
  addressLine1: '4417 Juniper Crescent',
  addressLine2: 'Unit 12',
  city: 'Springfield',
  state: 'OR',
  postalCode: '97477',
};
/** What a masked role must never see: every full value above, in any read path (the state and sex stay visible). */
const SECRETS = [
  'Wilhelmina',
  'Odalys',
  'Quetzalcoatl',
  '1961-07-23',
  '123-45-6789',
  '6175550101',
  '6175550202',
  'w.quetzalcoatl',
  '4417 Juniper',
  'Unit 12',
  'Springfield',
  '97477',
];

const GOLDEN = `golden { ${PHI_FIELDS.join(' ')} }`;
const RECORD = `id ${PHI_FIELDS.join(' ')}`;
const PROVENANCE = 'value competitors { value }';
/** One operation per read path that returns patient values; `$id` is the identity. */
const READS: Record<string, string> = {
  identity: `query($id: ID!) { identity(id: $id) { ${GOLDEN} records { ${RECORD} } provenance { ${PROVENANCE} } } }`,
  lineage: `query($id: ID!) { lineage(identityId: $id, field: phone) { current { value } history { ${PROVENANCE} } } }`,
  asOf: `query($id: ID!) { identityAsOf(id: $id, at: "2999-01-01T00:00:00Z") { ${GOLDEN} records { values { ${PHI_FIELDS.join(' ')} } } } }`,
  preview:
    'query { previewSurvivorshipPolicy(rules: [{ field: phone, rule: SOURCE_PRIORITY }]) { changes { currentValue proposedValue } } }',
  policy: 'query { survivorshipPolicy { rules { value } } }',
  sourceRecord: `query { sourceRecord(source: "trusted", localId: "PHI-1") { ${RECORD} } }`,
  identities: `query { identities(first: 50) { edges { node { ${GOLDEN} } } } }`,
  resolve: `query { resolve(source: "ehr", localId: "PHI-2") { ${GOLDEN} } }`,
  match: `query { match(input: { givenName: "Wilhelmina", familyName: "Quetzalcoatl", birthDate: "1961-07-23" }) { identity { ${GOLDEN} } } }`,
  // Exports and event payloads: the FHIR Provenance and OpenLineage exports of lineage, and change events' demographics.
  provenanceExport: `query($id: ID!) { lineage(identityId: $id, field: phone) { history { fhirProvenance } } }`,
  openLineage: 'query { ingestRuns(first: 20) { edges { node { openLineageEvents } } } }',
  changeEvents: `query { changeEvents(first: 20) { type identity { ${GOLDEN} } } }`,
};

/** FHIR reads and searches a masked role may make: whole values only (see the prefix tests below). */
const FHIR_READS = (identityId: string) => [
  `/fhir/Patient/${identityId}`,
  '/fhir/Patient?family=Quetzalcoatl&birthdate=1961-07-23',
  '/fhir/Patient?family=quetzalcoatl&_tag=urn:mpi:record-status|golden',
  '/fhir/Patient?telecom=6175550101',
  '/fhir/Patient?address-postalcode=97477&gender=female',
];

describe(`PHI masking for every role on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys = {} as Record<Role, string>;
  let identityId: string;

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    for (const role of ROLES) keys[role] = (await createApiKey(app.services.database.db, `phi-${role}`, role)).key;
    await seedSources(app, [{ code: 'trusted', trustRank: 90 }, 'ehr']);
    const ingest = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { identity { id } } }';
    const first = await app.gql<{ ingestRecord: { identity: { id: string } } }>(
      ingest,
      { input: { source: 'trusted', localId: 'PHI-1', ...PATIENT, phone: '6175550101' } },
      { key: keys.pipeline },
    );
    identityId = first.data!.ingestRecord.identity.id;
    await app.gql(ingest, { input: { source: 'ehr', localId: 'PHI-2', ...PATIENT, phone: '6175550202' } }, { key: keys.pipeline });
    // Publish the change events of these ingests, so the event read path has payloads to mask.
    await app.services.events.dispatcher.tick();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('every PHI field of the schema is marked, and the reads below select each of them', () => {
    const marked = phiFieldsOf(schema);
    const looksLikePhi: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const isString = getNamedType(field.type).name === 'String';
        if (isString && ((PHI_FIELDS as readonly string[]).includes(field.name) || /value$/i.test(field.name)))
          looksLikePhi.push(`${type.name}.${field.name}`);
      }
    }
    expect(marked).toEqual(looksLikePhi.sort());
    const selected = new Set<string>();
    const info = new TypeInfo(schema);
    for (const query of Object.values(READS)) {
      visit(
        parse(query),
        visitWithTypeInfo(info, {
          Field: (node) => {
            const parent = info.getParentType();
            if (parent) selected.add(`${parent.name}.${node.name.value}`);
          },
        }),
      );
    }
    expect(marked.filter((f) => !selected.has(f))).toEqual([]);
  });

  test.each(ROLES.map((role) => [role]))('%s sees PHI only when its role allows it, on every read path', async (role) => {
    const full = FULL_PHI_ROLES.includes(role);
    let allowed = 0;
    let seen = '';
    for (const [name, query] of Object.entries(READS)) {
      const result = await app.gql(query, { id: identityId }, { key: keys[role] });
      const forbidden = result.errors?.every((e) => e.extensions?.code === 'FORBIDDEN') ?? false;
      if (forbidden) continue;
      expect(result.errors, `${role} ${name}`).toBeUndefined();
      allowed += 1;
      const body = JSON.stringify(result.data);
      seen += body;
      // The event path returns demographics to mask, so it does not pass by being empty (the exports carry references only).
      if (full && name === 'changeEvents') expect(body, `${role} ${name}`).toContain('Quetzalcoatl');
      if (!full) for (const secret of SECRETS) expect(body, `${role} ${name} shows ${secret}`).not.toContain(secret);
    }
    if (full) for (const secret of SECRETS) expect(seen).toContain(secret);
    if (role !== 'auditor') expect(allowed).toBeGreaterThan(0);
  });

  test.each([
    ['familyName', '"Quetz"'],
    ['givenName', '"W"'],
    ['birthDate', '"1961-07-23"'],
  ])('refuses a %s filter to roles that see it masked, so it is no oracle', async (field, value) => {
    const query = `query { identities(${field}: ${value}) { edges { node { id } } } }`;
    const governance = await app.gql(query, {}, { key: keys.governance });
    expect(governance.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field });
    const steward = await app.gql<{ identities: { edges: Array<{ node: { id: string } }> } }>(query, {}, { key: keys.steward });
    expect(steward.errors).toBeUndefined();
    expect(steward.data!.identities.edges.map((e) => e.node.id)).toContain(identityId);
  });

  test.each(ROLES.filter((r) => !FULL_PHI_ROLES.includes(r)).map((role) => [role]))(
    '%s never sees a full value through FHIR reads and searches, source or golden',
    async (role) => {
      let answered = 0;
      const paths = FHIR_READS(identityId);
      const search = await app.fetch(paths[1]!, {}, { key: keys[role] });
      if (search.status === 200) {
        const bundle = (await search.clone().json()) as { entry?: Array<{ resource: { id: string } }> };
        expect(bundle.entry?.length ?? 0, `${role} finds the patient by whole values`).toBeGreaterThan(0);
        for (const entry of bundle.entry ?? []) paths.push(`/fhir/Patient/${entry.resource.id}`);
      }
      for (const path of paths) {
        const response = await app.fetch(path, {}, { key: keys[role] });
        if (response.status === 403) continue;
        expect(response.status, `${role} ${path}`).toBe(200);
        answered += 1;
        // A search bundle's self link echoes the caller's own parameters: what it returns is in its entries.
        const json = (await response.json()) as { resourceType: string; entry?: unknown };
        const body = JSON.stringify(json.resourceType === 'Bundle' ? (json.entry ?? []) : json);
        for (const secret of SECRETS) expect(body, `${role} ${path} shows ${secret}`).not.toContain(secret);
      }
      if (role !== 'auditor') expect(answered).toBeGreaterThan(FHIR_READS(identityId).length - 1);
    },
  );

  test.each([
    ['family=Quetz', 'a name prefix'],
    ['given=Wilh', 'a given-name prefix'],
    ['name=Quetz', 'a name prefix'],
    ['address-postalcode=974', 'a postal-code prefix'],
    ['telecom=0101', 'a phone-number suffix'],
  ])('FHIR search by part of a value (%s: %s) finds nothing for a masked role, the patient for a steward', async (query) => {
    const count = async (role: Role) => {
      const response = await app.fetch(`/fhir/Patient?${query}`, {}, { key: keys[role] });
      expect(response.status, role).toBe(200);
      return ((await response.json()) as { entry?: unknown[] }).entry?.length ?? 0;
    };
    expect(await count('governance')).toBe(0);
    expect(await count('pipeline')).toBe(0);
    expect(await count('steward')).toBeGreaterThan(0);
  });

  test('FHIR search by birth month without the day is refused to a masked role (it would reveal what the mask hides)', async () => {
    const governance = await app.fetch('/fhir/Patient?birthdate=1961-07', {}, { key: keys.governance });
    expect(governance.status).toBe(403);
    const outcome = (await governance.json()) as { issue: Array<{ diagnostics?: string }> };
    expect(JSON.stringify(outcome.issue)).toContain('birthdate');
    const steward = await app.fetch('/fhir/Patient?birthdate=1961-07', {}, { key: keys.steward });
    expect(steward.status).toBe(200);
    expect(((await steward.json()) as { entry?: unknown[] }).entry?.length).toBeGreaterThan(0);
    const byYear = await app.fetch('/fhir/Patient?birthdate=1961&family=Quetzalcoatl', {}, { key: keys.governance });
    expect(((await byYear.json()) as { entry?: unknown[] }).entry?.length).toBeGreaterThan(0);
  });
});

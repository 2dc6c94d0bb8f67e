import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FhirProvenance } from '../lineage/testing/export-shapes.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

// The README's "Lineage" walkthrough, operation for operation: if this fails, the README is wrong.

const REGISTER =
  'mutation($code: String!, $name: String!, $trust: Int!) { registerSource(input: { code: $code, name: $name, trustRank: $trust }) { code trustRank } }';
const PATIENT = {
  familyName: 'Okonkwo',
  sex: 'F',
  birthDate: '1984-06-12',
  phone: '6175550142',
  addressLine1: '12 Harbor Street',
  city: 'Boston',
  state: 'MA',
  postalCode: '02118',
};
const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome identity { id golden { givenName } } } }';
const LINEAGE = `query($id: ID!) {
  lineage(identityId: $id, field: givenName) {
    current { value rule policyVersion source { code trustRank } record { localId } competitors { value source { code trustRank } } }
    history { value rule source { code } validFrom validTo }
  }
}`;

interface LineageData {
  lineage: {
    current: {
      value: string;
      rule: string;
      policyVersion: number;
      source: { code: string; trustRank: number };
      record: { localId: string };
      competitors: Array<{ value: string; source: { code: string; trustRank: number } }>;
    };
    history: Array<{ value: string; rule: string; source: { code: string }; validFrom: string; validTo: string | null }>;
  };
}

describe(`README lineage walkthrough on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  async function ok<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const result = await app.gql<T>(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data!;
  }

  test('two sources disagree, the more trusted wins; lowering its trust hands the field over, with history', async () => {
    await ok(REGISTER, { code: 'ehr', name: 'Hospital EHR', trust: 60 });
    await ok(REGISTER, { code: 'lab', name: 'Regional lab', trust: 80 });
    const ehr = await ok<{ ingestRecord: { outcome: string; identity: { id: string } } }>(INGEST, {
      input: { source: 'ehr', localId: 'E-1001', givenName: 'Delphine', ...PATIENT },
    });
    const lab = await ok<{ ingestRecord: { outcome: string; identity: { id: string; golden: { givenName: string } } } }>(INGEST, {
      input: { source: 'lab', localId: 'L-77', givenName: 'Delphien', ...PATIENT },
    });
    expect(ehr.ingestRecord.outcome).toBe('CREATED');
    expect(lab.ingestRecord).toMatchObject({
      outcome: 'LINKED',
      identity: { id: ehr.ingestRecord.identity.id, golden: { givenName: 'Delphien' } },
    });
    const id = ehr.ingestRecord.identity.id;

    const before = await ok<LineageData>(LINEAGE, { id });
    expect(before.lineage.current).toEqual({
      value: 'Delphien',
      rule: 'SOURCE_PRIORITY',
      policyVersion: 1,
      source: { code: 'lab', trustRank: 80 },
      record: { localId: 'L-77' },
      competitors: [{ value: 'Delphine', source: { code: 'ehr', trustRank: 60 } }],
    });
    expect(before.lineage.history.map((h) => [h.value, h.source.code])).toEqual([
      ['Delphien', 'lab'],
      ['Delphine', 'ehr'],
    ]);

    await ok('mutation { updateSource(code: "lab", input: { trustRank: 40 }) { code trustRank } }');
    const runs = await ok<{ ingestRuns: { edges: Array<{ node: { job: string; status: string; counts: { goldenChanged: number } } }> } }>(
      '{ ingestRuns(first: 5) { edges { node { job status counts } } } }',
    );
    expect(runs.ingestRuns.edges.map((e) => e.node)).toContainEqual(
      expect.objectContaining({
        job: 'survivorship.source-trust',
        status: 'COMPLETED',
        counts: expect.objectContaining({ goldenChanged: 1 }),
      }),
    );
    const again = await ok<{ recomputeGoldenRecords: { status: string; counts: { goldenChanged: number } } }>(
      'mutation { recomputeGoldenRecords(source: "lab") { status counts } }',
    );
    expect(again.recomputeGoldenRecords).toMatchObject({ status: 'COMPLETED', counts: { goldenChanged: 0 } });

    const after = await ok<LineageData & { identity: { golden: { givenName: string } } }>(
      `query($id: ID!) {
      identity(id: $id) { golden { givenName } }
      ${LINEAGE.slice(LINEAGE.indexOf('lineage('), LINEAGE.lastIndexOf('}'))}
    }`,
      { id },
    );
    expect(after.identity.golden.givenName).toBe('Delphine');
    expect(after.lineage.current).toMatchObject({
      value: 'Delphine',
      source: { code: 'ehr', trustRank: 60 },
      competitors: [{ value: 'Delphien', source: { code: 'lab', trustRank: 40 } }],
    });
    expect(after.lineage.history.map((h) => [h.value, h.source.code, h.validTo === null])).toEqual([
      ['Delphine', 'ehr', true],
      ['Delphien', 'lab', false],
      ['Delphine', 'ehr', false],
    ]);

    // Time travel to while the lab's spelling held.
    const labRow = after.lineage.history[1]!;
    const asOf = await ok<{
      identityAsOf: { golden: { givenName: string }; records: Array<{ record: { source: string; localId: string } }> };
    }>(
      'query($id: ID!, $at: DateTime!) { identityAsOf(id: $id, at: $at) { golden { givenName } records { record { source localId } } } }',
      { id, at: labRow.validFrom },
    );
    expect(asOf.identityAsOf.golden.givenName).toBe('Delphien');
    expect(asOf.identityAsOf.records.map((r) => r.record.localId).sort()).toEqual(['E-1001', 'L-77']);

    const fhir = await ok<{ lineage: { current: { fhirProvenance: unknown } } }>(
      'query($id: ID!) { lineage(identityId: $id, field: givenName) { current { fhirProvenance } } }',
      { id },
    );
    expect(FhirProvenance.parse(fhir.lineage.current.fhirProvenance).target[0]!.reference).toBe(`Patient/${id}`);
  });
});

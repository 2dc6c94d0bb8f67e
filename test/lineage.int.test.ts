import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { and, eq, isNull } from 'drizzle-orm';
import { createApiKey } from '../platform/api-keys.ts';
import { auditLog, fieldProvenance } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

interface Provenance {
  id: string;
  value: string | null;
  rule: string;
  policyVersion: number;
  current: boolean;
  validFrom: string;
  validTo: string | null;
  source: { code: string } | null;
  record: { localId: string } | null;
  competitors: Array<{ value: string; source: { code: string } | null }>;
}

const PROVENANCE =
  'id value rule policyVersion current validFrom validTo source { code } record { localId } competitors { value source { code } }';

/** A transposition typo (two neighbouring letters swapped), which the matcher still links with certainty. */
function typo(name: string): string {
  const i = [...name].findIndex((c, k) => k >= 2 && k + 1 < name.length && c !== name[k + 1]);
  return name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2);
}

describe(`field-level provenance on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, [
      { code: 'ehr', trustRank: 60 },
      { code: 'lab', trustRank: 80 },
      { code: 'clinic', trustRank: 50 },
    ]);
  });
  afterAll(async () => {
    await app?.close();
  });

  async function lineage(identityId: string, field: string): Promise<{ current: Provenance | null; history: Provenance[] }> {
    const result = await app.gql<{ lineage: { current: Provenance | null; history: Provenance[] } }>(
      `query($id: ID!, $field: GoldenField!) { lineage(identityId: $id, field: $field) { current { ${PROVENANCE} } history { ${PROVENANCE} } } }`,
      { id: identityId, field },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.lineage;
  }

  async function openRows(identityId: string) {
    return app.services.database.db
      .select()
      .from(fieldProvenance)
      .where(and(eq(fieldProvenance.identityId, identityId), isNull(fieldProvenance.validTo)));
  }

  test('shows which source won a disputed field, by which rule, and the value it beat', async () => {
    const given = String(person(10).givenName);
    const first = await ingest(app, { source: 'ehr', localId: 'E-10', ...person(10) });
    const second = await ingest(app, { source: 'lab', localId: 'L-10', ...person(10, { givenName: typo(given) }) });
    expect(second.identity.id).toBe(first.identity.id);

    const { current, history } = await lineage(first.identity.id, 'givenName');
    expect(current).toMatchObject({
      value: typo(given),
      rule: 'SOURCE_PRIORITY',
      policyVersion: 1,
      source: { code: 'lab' },
      record: { localId: 'L-10' },
    });
    expect(current!.competitors).toEqual([{ value: given, source: { code: 'ehr' } }]);
    // Before the lab record arrived the EHR's value held; its row closed exactly when the new one opened.
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ value: given, current: false, source: { code: 'ehr' }, competitors: [] });
    expect(history[1]!.validTo).toBe(current!.validFrom);
  });

  test("a record update closes the changed field's row and opens a new one, leaving other fields' rows alone", async () => {
    const first = await ingest(app, { source: 'ehr', localId: 'E-20', ...person(20) });
    const before = await openRows(first.identity.id);
    await ingest(app, { source: 'ehr', localId: 'E-20', ...person(20, { phone: '6175550123' }) });
    const after = await openRows(first.identity.id);

    const phone = await lineage(first.identity.id, 'phone');
    expect(phone.history.map((h) => [h.value, h.current])).toEqual([
      ['6175550123', true],
      [person(20).phone, false],
    ]);
    expect(phone.history[1]!.validTo).toBe(phone.history[0]!.validFrom);
    const unchanged = (rows: typeof before) =>
      rows
        .filter((r) => r.field !== 'phone')
        .map((r) => r.id)
        .sort();
    expect(unchanged(after)).toEqual(unchanged(before));
    expect(new Set(after.map((r) => r.field)).size).toBe(after.length); // one open row per field
  });

  test("unmerging a record re-opens provenance on both identities and moves the record's contributions", async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'E-30', ...person(30) });
    const b = await ingest(app, { source: 'lab', localId: 'L-31', ...person(31) });
    await app.gql('mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "chart review") { id } }', {
      s: a.identity.id,
      m: b.identity.id,
    });
    const merged = await lineage(a.identity.id, 'familyName');
    expect(merged.current).toMatchObject({ value: person(31).familyName, source: { code: 'lab' } }); // more trusted

    const split = await app.gql<{ unlinkRecord: { identity: { id: string } } }>(
      'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "different patients") { identity { id } } }',
      { r: b.record.id },
    );
    const moved = split.data!.unlinkRecord.identity.id;
    const survivor = await lineage(a.identity.id, 'familyName');
    expect(survivor.history.map((h) => h.value)).toEqual([person(30).familyName, person(31).familyName, person(30).familyName]);
    expect(survivor.current).toMatchObject({ source: { code: 'ehr' }, competitors: [] });
    expect((await lineage(moved, 'familyName')).current).toMatchObject({ value: person(31).familyName, source: { code: 'lab' } });

    const contributions = await app.gql<{ sourceRecord: { contributions: Array<{ field: string; identityId: string; value: string }> } }>(
      'query($id: ID!) { sourceRecord(id: $id) { contributions { field identityId value } } }',
      { id: b.record.id },
    );
    const supplied = contributions.data!.sourceRecord.contributions;
    expect(supplied.length).toBeGreaterThan(0);
    expect(supplied.every((c) => c.identityId === moved)).toBe(true);
    expect(supplied.find((c) => c.field === 'familyName')?.value).toBe(person(31).familyName);
  });

  test('lists every golden field a record currently supplies, and none it lost', async () => {
    const ehr = await ingest(app, { source: 'ehr', localId: 'E-40', ...person(40) });
    await ingest(app, { source: 'lab', localId: 'L-40', ...person(40, { givenName: typo(String(person(40).givenName)), phone: null }) });
    const result = await app.gql<{ sourceRecord: { contributions: Array<{ field: string; rule: string }> } }>(
      'query($id: ID!) { sourceRecord(id: $id) { contributions { field rule } } }',
      { id: ehr.record.id },
    );
    const fields = result.data!.sourceRecord.contributions.map((c) => c.field);
    expect(fields).toContain('phone'); // only the EHR has one
    expect(fields).not.toContain('givenName'); // the lab, trusted more, supplies it
  });

  test("the Identity.provenance field lists current rows of every field, or one field's history", async () => {
    const created = await ingest(app, { source: 'clinic', localId: 'C-50', ...person(50) });
    const result = await app.gql<{ identity: { all: Array<{ field: string }>; phone: Array<{ value: string }> } }>(
      'query($id: ID!) { identity(id: $id) { all: provenance(current: true) { field } phone: provenance(field: phone) { value } } }',
      { id: created.identity.id },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.identity.all.map((p) => p.field)).toEqual(
      expect.arrayContaining(['givenName', 'familyName', 'birthDate', 'phone']),
    );
    expect(result.data!.identity.phone).toEqual([{ value: person(50).phone }]);
  });

  test('lineage is for stewards and governance, and is audited as a read of the identity', async () => {
    const created = await ingest(app, { source: 'clinic', localId: 'C-60', ...person(60) });
    const key = 'pipeline-key-for-lineage-tests-000000';
    await createApiKey(app.services.database.db, 'pipeline-lineage', 'pipeline', key);
    const denied = await app.gql(
      'query($id: ID!) { lineage(identityId: $id, field: birthDate) { current { value } } }',
      { id: created.identity.id },
      { key },
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await app.gql('query($id: ID!) { lineage(identityId: $id, field: birthDate) { current { value } } }', { id: created.identity.id });
    const entries = await app.services.database.db.select().from(auditLog);
    expect(entries.some((e) => e.action === 'query:lineage' && e.objectIds.includes(`identity:${created.identity.id}`))).toBe(true);
  });

  test("after a source's trust drops, its golden records are recomputed and disputed fields go to the other source", async () => {
    await seedSources(app, [
      { code: 'regional', trustRank: 70 },
      { code: 'registry', trustRank: 65 },
    ]);
    const given = String(person(70).givenName);
    const a = await ingest(app, { source: 'registry', localId: 'R-70', ...person(70) });
    await ingest(app, { source: 'regional', localId: 'G-70', ...person(70, { givenName: typo(given) }) });
    expect((await lineage(a.identity.id, 'givenName')).current?.value).toBe(typo(given));

    const lowered = await app.gql('mutation { updateSource(code: "regional", input: { trustRank: 20 }) { trustRank } }');
    expect(lowered.errors).toBeUndefined();
    const run = await app.gql<{
      recomputeGoldenRecords: { status: string; job: string; counts: Record<string, number>; source: { code: string } };
    }>('mutation { recomputeGoldenRecords(source: "regional") { status job counts source { code } } }');
    expect(run.errors).toBeUndefined();
    expect(run.data!.recomputeGoldenRecords).toMatchObject({
      status: 'COMPLETED',
      job: 'survivorship.source-trust',
      source: { code: 'regional' },
    });
    // updateSource already recomputed what the source feeds; the manual run finds nothing left to change.
    expect(run.data!.recomputeGoldenRecords.counts.goldenChanged).toBe(0);

    const after = await lineage(a.identity.id, 'givenName');
    expect(after.current).toMatchObject({
      value: given,
      source: { code: 'registry' },
      competitors: [{ value: typo(given), source: { code: 'regional' } }],
    });
    expect(after.history.map((h) => h.value)).toEqual([given, typo(given), given]);
    const golden = await app.gql<{ identity: { golden: { givenName: string } } }>(
      'query($id: ID!) { identity(id: $id) { golden { givenName } } }',
      { id: a.identity.id },
    );
    expect(golden.data!.identity.golden.givenName).toBe(given);
  });
});

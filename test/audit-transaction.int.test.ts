import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Role } from '../api/context.ts';
import { createHl7Service } from '../api/mllp.ts';
import { adtUpsert, type SamplePatient } from '../interop/testing/hl7-samples.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { loadActivePolicy } from '../lineage/index.ts';
import { person, reviewBandCase } from './fixtures.ts';

const EHR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.71';
/** Actors whose audit inserts a trigger refuses: the failure comes after the change, before its commit. */
const FAILING = 'audit-fails';

type Attempt = 'ok' | 'failing';

/**
 * One class of change: `prepare` makes what it needs, `run` makes the change as one of two callers (one whose
 * audit insert fails), `stored` says whether the change is in the database.
 */
interface ChangeCase {
  name: string;
  role: Role;
  action: string;
  prepare: (n: number) => Promise<Record<string, string>>;
  run: (key: string, data: Record<string, string>, who: Attempt) => Promise<unknown>;
  stored: (data: Record<string, string>) => Promise<boolean>;
  /** The table and row of the change, to compare its transaction with the audit entry's (xmin). */
  changedRow: (data: Record<string, string>) => ReturnType<typeof sql>;
}

describe(`audit entries commit with the changes they record on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const keys: Record<Attempt, Partial<Record<Role, string>>> = { ok: {}, failing: {} };
  let seed = 7100;

  async function rows<T extends Record<string, unknown>>(query: ReturnType<typeof sql>): Promise<T[]> {
    return queryRows<T>(app.services.database.db, query);
  }

  async function gql(key: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: unknown; errors?: unknown[] }> {
    const response = await app.fetch(
      '/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      },
      { key },
    );
    return (await response.json()) as { data?: unknown; errors?: unknown[] };
  }

  async function fhir(key: string, method: string, path: string, body?: unknown): Promise<number> {
    const response = await app.fetch(
      `/fhir/${path}`,
      { method, headers: { 'content-type': 'application/fhir+json' }, ...(body ? { body: JSON.stringify(body) } : {}) },
      { key },
    );
    return response.status;
  }

  function patient(n: number, mrn: string): Record<string, unknown> {
    const p = person(n) as Record<string, string>;
    return {
      resourceType: 'Patient',
      identifier: [{ system: EHR_SYSTEM, value: mrn }],
      name: [{ family: p.familyName, given: [p.givenName] }],
      gender: p.sex === 'F' ? 'female' : 'male',
      birthDate: p.birthDate,
    };
  }

  function hl7Patient(n: number, mrn: string): SamplePatient {
    const p = person(n) as Record<string, string>;
    return {
      mrn,
      authority: 'AUDTX',
      family: p.familyName!,
      given: p.givenName!,
      birth: p.birthDate!.replace(/-/g, ''),
      sex: p.sex!,
      street: p.addressLine1!,
      city: p.city!,
      state: p.state!,
      zip: p.postalCode!,
    };
  }

  /** Ingests as the pipeline caller whose audit entries are stored. */
  async function ingest(
    input: Record<string, unknown>,
  ): Promise<{ record: { id: string }; identity: { id: string }; reviewItem: { id: string } | null }> {
    const result = (await gql(
      keys.ok.pipeline!,
      'mutation($i: SourceRecordInput!) { ingestRecord(input: $i) { record { id } identity { id } reviewItem { id } } }',
      { i: input },
    )) as { data?: { ingestRecord: never }; errors?: unknown[] };
    if (result.errors) throw new Error(`ingest failed: ${JSON.stringify(result.errors)}`);
    return result.data!.ingestRecord;
  }

  /** What a caller gets when the change's audit entry cannot be written: a masked error, not a typed refusal. */
  function failedInternally(outcome: unknown): boolean {
    if (outcome === null || outcome === 500) return true;
    const errors = (outcome as { errors?: Array<{ extensions?: { code?: string } }> } | undefined)?.errors;
    return errors?.[0]?.extensions?.code === 'INTERNAL_SERVER_ERROR';
  }

  const recordId = async (localId: string) =>
    (
      await rows<{ id: string }>(sql`select r.id from source_records r join sources s on s.id = r.source_id where r.local_id = ${localId}`)
    )[0]?.id;

  const cases: ChangeCase[] = [
    {
      name: 'ingestRecord',
      role: 'pipeline',
      action: 'mutation:ingestRecord',
      prepare: async (n) => ({ localId: `TX-${n}`, n: String(n) }),
      run: (key, d) =>
        gql(key, 'mutation($i: SourceRecordInput!) { ingestRecord(input: $i) { outcome } }', {
          i: { source: 'ehr', localId: d.localId, ...person(Number(d.n)) },
        }),
      stored: async (d) => (await recordId(d.localId!)) !== undefined,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.localId}`,
    },
    {
      name: 'ingestRecords (the batch path of CSV imports)',
      role: 'pipeline',
      action: 'mutation:ingestRecords',
      prepare: async (n) => ({ localId: `TXB-${n}`, n: String(n) }),
      run: (key, d) =>
        gql(key, 'mutation($i: [SourceRecordInput!]!) { ingestRecords(input: $i) { outcome } }', {
          i: [
            { source: 'ehr', localId: d.localId, ...person(Number(d.n)) },
            { source: 'ehr', localId: `${d.localId}-2`, ...person(Number(d.n) + 1) },
          ],
        }),
      stored: async (d) => (await recordId(d.localId!)) !== undefined || (await recordId(`${d.localId}-2`)) !== undefined,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.localId}`,
    },
    {
      name: 'deleteRecord',
      role: 'pipeline',
      action: 'mutation:deleteRecord',
      prepare: async (n) => {
        await ingest({ source: 'ehr', localId: `TXD-${n}`, ...person(n) });
        return { localId: `TXD-${n}` };
      },
      run: (key, d) => gql(key, 'mutation($l: String!) { deleteRecord(source: "ehr", localId: $l) { id } }', { l: d.localId }),
      stored: async (d) =>
        (await rows(sql`select 1 from source_records where local_id = ${d.localId} and deleted_at is not null`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.localId}`,
    },
    {
      name: 'mergeIdentities',
      role: 'steward',
      action: 'mutation:mergeIdentities',
      prepare: async (n) => {
        const a = await ingest({ source: 'ehr', localId: `TXM-${n}`, ...person(n) });
        const b = await ingest({ source: 'ehr', localId: `TXM-${n}b`, ...person(n + 1) });
        return { survivor: a.identity.id, merged: b.identity.id };
      },
      run: (key, d) =>
        gql(key, 'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same person") { id } }', {
          s: d.survivor,
          m: d.merged,
        }),
      stored: async (d) => (await rows(sql`select 1 from identities where id = ${d.merged} and status = 'MERGED'`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from identities where id = ${d.merged}`,
    },
    {
      name: 'unlinkRecord',
      role: 'steward',
      action: 'mutation:unlinkRecord',
      prepare: async (n) => {
        const a = await ingest({ source: 'ehr', localId: `TXU-${n}`, ...person(n) });
        await ingest({ source: 'lab', localId: `TXU-${n}`, ...person(n) });
        return { record: a.record.id, identity: a.identity.id };
      },
      run: (key, d) => gql(key, 'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "different person") { id } }', { r: d.record }),
      stored: async (d) => (await rows(sql`select 1 from links where record_id = ${d.record} and identity_id <> ${d.identity}`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from links where record_id = ${d.record}`,
    },
    {
      name: 'markNotDuplicate',
      role: 'steward',
      action: 'mutation:markNotDuplicate',
      prepare: async (n) => {
        const a = await ingest({ source: 'ehr', localId: `TXN-${n}`, ...person(n) });
        const b = await ingest({ source: 'ehr', localId: `TXN-${n}b`, ...person(n + 1) });
        return { a: a.identity.id, b: b.identity.id };
      },
      run: (key, d) =>
        gql(key, 'mutation($a: ID!, $b: ID!) { markNotDuplicate(a: $a, b: $b, reason: "twins") { id } }', { a: d.a, b: d.b }),
      stored: async (d) =>
        (await rows(sql`select 1 from not_duplicates where ${d.a} in (identity_a, identity_b) and ${d.b} in (identity_a, identity_b)`))
          .length > 0,
      changedRow: (d) =>
        sql`select xmin::text as x from not_duplicates where ${d.a} in (identity_a, identity_b) and ${d.b} in (identity_a, identity_b)`,
    },
    {
      name: 'resolveReviewItem',
      role: 'steward',
      action: 'mutation:resolveReviewItem',
      prepare: async (n) => {
        const { base, variant } = await reviewBandCase(app);
        await ingest({ source: 'ehr', localId: `TXR-${n}`, ...base });
        const second = await ingest({ source: 'lab', localId: `TXR-${n}`, ...variant });
        // The same pair again (the failing run left its item open) finds that item rather than a new one.
        const [open] = await rows<{ id: string }>(sql`select id from review_items where status = 'OPEN' order by created_at desc limit 1`);
        const item = second.reviewItem?.id ?? open?.id;
        if (!item) throw new Error('the review-band case opened no review item');
        return { item };
      },
      run: (key, d) =>
        gql(key, 'mutation($i: ID!) { resolveReviewItem(id: $i, decision: NOT_MATCH, reason: "different") { id } }', { i: d.item }),
      stored: async (d) => (await rows(sql`select 1 from review_items where id = ${d.item} and status <> 'OPEN'`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from review_items where id = ${d.item}`,
    },
    {
      name: 'setSurvivorshipPolicy',
      role: 'admin',
      action: 'mutation:setSurvivorshipPolicy',
      prepare: async () => {
        const active = await loadActivePolicy(app.services.database.db);
        const current = (active.rules as Record<string, { rule?: string }>).email?.rule;
        const [row] = await rows<{ v: number }>(sql`select coalesce(max(version), 1)::int as v from survivorship_policies`);
        return { next: String(row!.v + 1), rule: current === 'MOST_RECENT' ? 'MOST_COMPLETE' : 'MOST_RECENT' };
      },
      run: (key, d) => gql(key, `mutation { setSurvivorshipPolicy(rules: [{ field: email, rule: ${d.rule} }]) { policy { version } } }`),
      stored: async (d) => (await rows(sql`select 1 from survivorship_policies where version = ${Number(d.next)}`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from survivorship_policies where version = ${Number(d.next)}`,
    },
    {
      name: 'createApiKey',
      role: 'admin',
      action: 'mutation:createApiKey',
      prepare: async (n) => ({ name: `tx-made-${n}` }),
      run: (key, d) => gql(key, 'mutation($n: String!) { createApiKey(name: $n, role: PIPELINE) { key } }', { n: d.name }),
      stored: async (d) => (await rows(sql`select 1 from api_keys where name = ${d.name}`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from api_keys where name = ${d.name}`,
    },
    {
      name: 'revokeApiKey',
      role: 'admin',
      action: 'mutation:revokeApiKey',
      prepare: async (n) => ({ id: (await createApiKey(app.services.database.db, `tx-revoke-${n}`, 'pipeline')).row.id }),
      run: (key, d) => gql(key, 'mutation($i: ID!) { revokeApiKey(id: $i) { id } }', { i: d.id }),
      stored: async (d) => (await rows(sql`select 1 from api_keys where id = ${d.id} and revoked_at is not null`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from api_keys where id = ${d.id}`,
    },
    {
      name: 'FHIR create',
      role: 'pipeline',
      action: 'fhir:ingest',
      prepare: async (n) => ({ mrn: `TXF-${n}`, n: String(n) }),
      run: (key, d) => fhir(key, 'POST', 'Patient', patient(Number(d.n), d.mrn!)),
      stored: async (d) => (await recordId(d.mrn!)) !== undefined,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.mrn}`,
    },
    {
      name: 'FHIR update',
      role: 'pipeline',
      action: 'fhir:ingest',
      prepare: async (n) => {
        const id = `txfu-${n}`;
        const ok = keys.ok.pipeline!;
        expect(await fhir(ok, 'PUT', `Patient/${id}`, { ...patient(n, `TXFU-${n}`), id })).toBe(201);
        return { id, mrn: `TXFU-${n}`, n: String(n) };
      },
      run: (key, d) =>
        fhir(key, 'PUT', `Patient/${d.id}`, { ...patient(Number(d.n), d.mrn!), id: d.id, gender: 'unknown', birthDate: '1950-01-01' }),
      stored: async (d) => (await rows(sql`select 1 from fhir_patient_versions where id = ${d.id} and version_id = 2`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from fhir_patient_versions where id = ${d.id} and version_id = 2`,
    },
    {
      name: 'FHIR delete',
      role: 'pipeline',
      action: 'fhir:delete',
      prepare: async (n) => {
        const id = `txfd-${n}`;
        expect(await fhir(keys.ok.pipeline!, 'PUT', `Patient/${id}`, { ...patient(n, `TXFD-${n}`), id })).toBe(201);
        return { id, mrn: `TXFD-${n}` };
      },
      run: (key, d) => fhir(key, 'DELETE', `Patient/${d.id}`),
      stored: async (d) => (await rows(sql`select 1 from source_records where local_id = ${d.mrn} and deleted_at is not null`)).length > 0,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.mrn}`,
    },
    {
      name: 'HL7 ingest',
      role: 'pipeline',
      action: 'hl7:ingest',
      prepare: async (n) => ({ mrn: `TXH-${n}`, n: String(n) }),
      run: (_key, d, who) =>
        createHl7Service(app.services, {
          id: who,
          name: who === 'failing' ? `${FAILING}-hl7` : 'tx-hl7',
          roles: ['pipeline'],
          kind: 'local',
        })(adtUpsert('A04', hl7Patient(Number(d.n), d.mrn!))).catch(() => null), // with its entry refused, the message is not acknowledged
      stored: async (d) => (await recordId(d.mrn!)) !== undefined,
      changedRow: (d) => sql`select xmin::text as x from source_records where local_id = ${d.mrn}`,
    },
  ];

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'ehr', name: 'EHR', system: EHR_SYSTEM });
    for (const code of ['lab', 'AUDTX']) await app.services.catalog.registerSource({ code, name: code });
    for (const role of ['pipeline', 'steward', 'admin'] as const) {
      keys.ok[role] = (await createApiKey(app.services.database.db, `tx-${role}`, role)).key;
      keys.failing[role] = (await createApiKey(app.services.database.db, `${FAILING}-${role}`, role)).key;
    }
    // The audit insert of a failing caller throws: it runs last in the change's transaction, so nothing may stay.
    await app.services.database.db.execute(
      sql.raw(`create function audit_insert_fails() returns trigger language plpgsql as $$
        begin
          if new.actor like '%${FAILING}%' then raise exception 'audit insert refused for this test'; end if;
          return new;
        end $$`),
    );
    await app.services.database.db.execute(
      sql.raw('create trigger audit_insert_fails before insert on audit_log for each row execute function audit_insert_fails()'),
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  test.each(cases)('$name: a failed audit insert leaves neither the change nor an entry', async (c) => {
    const data = await c.prepare((seed += 10));
    const before = await rows<{ n: number }>(sql`select count(*)::int as n from audit_log`);
    const outcome = await c.run(keys.failing[c.role]!, data, 'failing');
    expect(failedInternally(outcome), JSON.stringify(outcome)).toBe(true);
    expect(await c.stored(data)).toBe(false);
    const after = await rows<{ n: number }>(sql`select count(*)::int as n from audit_log`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  test.each(cases)('$name: a committed change has its entry, written in the same transaction', async (c) => {
    const data = await c.prepare((seed += 10));
    const [last] = await rows<{ id: number }>(sql`select coalesce(max(id), 0)::int as id from audit_log`);
    await c.run(keys.ok[c.role]!, data, 'ok');
    expect(await c.stored(data)).toBe(true);
    const entries = await rows<{ action: string; outcome: string; x: string }>(
      sql`select action, outcome, xmin::text as x from audit_log where id > ${last!.id} and action = ${c.action}`,
    );
    const [changed] = await rows<{ x: string }>(c.changedRow(data));
    expect(entries.map((e) => e.outcome)).toContain('SUCCESS');
    expect(
      entries.map((e) => e.x),
      'an entry shares the change transaction',
    ).toContain(changed!.x);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { count, eq, sql } from 'drizzle-orm';
import {
  GOLDEN_FIELDS,
  rebuildGolden,
  rebuildGoldenMany,
  recomputeBatch,
  recomputeGolden,
  type GoldenField,
  type PolicyRules,
  type SurvivorshipPolicy,
} from '../lineage/index.ts';
import { readEvents } from '../events/index.ts';
import { publishPending } from '../events/store.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { fieldProvenance, sourceRecords } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const SET_POLICY = `mutation($rules: [FieldRuleInput!]!, $wait: Boolean) {
  setSurvivorshipPolicy(rules: $rules, wait: $wait) { policy { version active rules { field rule } } run { id job status counts } }
}`;

interface Lineage {
  current: {
    id: string;
    value: string;
    rule: string;
    policyVersion: number;
    validFrom: string;
    source: { code: string };
    ingestRun: { id: string; job: string } | null;
  };
  history: Array<{ id: string; value: string; validTo: string | null }>;
}

const everyField = (rule: PolicyRules[GoldenField]): PolicyRules => Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, rule]));

describe(`survivorship policy on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let phoneIdentity: string;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, [
      { code: 'lab', trustRank: 80 },
      { code: 'ehr', trustRank: 60 },
      { code: 'tie-a', trustRank: 50 },
      { code: 'tie-b', trustRank: 50 },
    ]);
    // The trusted lab and the more recent EHR disagree on the phone number.
    phoneIdentity = (await ingest(app, { source: 'lab', localId: 'L-1', ...person(1, { phone: '6175550101' }) })).identity.id;
    await ingest(app, { source: 'ehr', localId: 'E-1', ...person(1, { phone: '6175550202' }) });
  });
  afterAll(async () => {
    await app?.close();
  });

  const provenanceRows = async () => (await app.services.database.db.select({ n: count() }).from(fieldProvenance))[0]!.n;

  async function lineage(field: string): Promise<Lineage> {
    const result = await app.gql<{ lineage: Lineage }>(
      `query($id: ID!, $f: GoldenField!) { lineage(identityId: $id, field: $f) {
      current { id value rule policyVersion validFrom source { code } ingestRun { id job } } history { id value validTo } } }`,
      { id: phoneIdentity, f: field },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.lineage;
  }

  test('starts with the built-in policy, version 1', async () => {
    const result = await app.gql<{ survivorshipPolicy: { version: number; rules: Array<{ field: string; rule: string }> } }>(
      '{ survivorshipPolicy { version rules { field rule } } }',
    );
    expect(result.data!.survivorshipPolicy.version).toBe(1);
    expect(result.data!.survivorshipPolicy.rules).toContainEqual({ field: 'phone', rule: 'MOST_RECENT' });
    expect((await lineage('phone')).current).toMatchObject({ value: '6175550202', rule: 'MOST_RECENT', source: { code: 'ehr' } });
  });

  test('previews which identities and fields a change would alter, without changing anything', async () => {
    const rows = await provenanceRows();
    const result = await app.gql<{
      previewSurvivorshipPolicy: {
        identitiesAffected: number;
        valuesChanged: number;
        byField: Array<{ field: string; valuesChanged: number }>;
        changes: Array<{
          identityId: string;
          field: string;
          currentValue: string;
          proposedValue: string;
          currentRule: string;
          proposedRule: string;
        }>;
      };
    }>(
      `query { previewSurvivorshipPolicy(rules: [{ field: phone, rule: SOURCE_PRIORITY }]) {
        identitiesAffected valuesChanged byField { field valuesChanged } changes { identityId field currentValue proposedValue currentRule proposedRule } } }`,
    );
    expect(result.errors).toBeUndefined();
    const preview = result.data!.previewSurvivorshipPolicy;
    expect(preview.identitiesAffected).toBe(1);
    expect(preview.byField).toEqual([{ field: 'phone', valuesChanged: 1 }]);
    expect(preview.changes).toEqual([
      {
        identityId: phoneIdentity,
        field: 'phone',
        currentValue: '6175550202',
        proposedValue: '6175550101',
        currentRule: 'MOST_RECENT',
        proposedRule: 'SOURCE_PRIORITY',
      },
    ]);
    expect(await provenanceRows()).toBe(rows);
    expect(
      (await app.gql<{ survivorshipPolicy: { version: number } }>('{ survivorshipPolicy { version } }')).data!.survivorshipPolicy.version,
    ).toBe(1);
  });

  test.each([
    [
      'a field given twice',
      '[{ field: phone, rule: SOURCE_PRIORITY }, { field: phone, rule: MOST_RECENT }]',
      'rules.1.field',
      'DUPLICATE_FIELD',
    ],
    [
      'a value on a rule other than STEWARD_OVERRIDE',
      '[{ field: phone, rule: SOURCE_PRIORITY, value: "x" }]',
      'rules.0.rule',
      'INVALID_CUSTOM',
    ],
    ['a change that changes nothing', '[{ field: phone, rule: MOST_RECENT }]', 'rules', 'UNCHANGED'],
  ])('rejects %s, naming the field', async (_name, rules, field, code) => {
    const result = await app.gql(`mutation { setSurvivorshipPolicy(rules: ${rules}) { policy { version } } }`);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [expect.objectContaining({ field, code })],
    });
  });

  test('only an administrator may change the policy', async () => {
    const key = 'governance-key-for-policy-tests-0000';
    await createApiKey(app.services.database.db, 'governance-policy', 'governance', key);
    const result = await app.gql(SET_POLICY, { rules: [{ field: 'phone', rule: 'SOURCE_PRIORITY' }] }, { key });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('a new version recomputes golden records and re-opens only the fields it decides differently', async () => {
    const givenBefore = (await lineage('givenName')).current;
    const result = await app.gql<{
      setSurvivorshipPolicy: {
        policy: { version: number; active: boolean };
        run: { id: string; job: string; status: string; counts: Record<string, number> };
      };
    }>(SET_POLICY, { rules: [{ field: 'phone', rule: 'SOURCE_PRIORITY' }] });
    expect(result.errors).toBeUndefined();
    const { policy, run } = result.data!.setSurvivorshipPolicy;
    expect(policy).toMatchObject({ version: 2, active: true });
    expect(run).toMatchObject({ job: 'survivorship.policy-change', status: 'COMPLETED' });
    expect(run.counts).toMatchObject({ valuesChanged: 1, goldenChanged: 1 });

    const phone = await lineage('phone');
    expect(phone.current).toMatchObject({
      value: '6175550101',
      rule: 'SOURCE_PRIORITY',
      policyVersion: 2,
      source: { code: 'lab' },
      ingestRun: { id: run.id },
    });
    expect(phone.history[1]).toMatchObject({ value: '6175550202', validTo: phone.current.validFrom });
    expect((await lineage('givenName')).current).toEqual(givenBefore); // same decision, same row, still version 1
    const golden = await app.gql<{ identity: { golden: { phone: string } } }>(
      'query($id: ID!) { identity(id: $id) { golden { phone } } }',
      { id: phoneIdentity },
    );
    expect(golden.data!.identity.golden.phone).toBe('6175550101');
    // The recompute's change is a change event like any other, written in its transaction.
    while ((await publishPending(app.services.database.db, 1000)) > 0) {
      /* all */
    }
    const changed = await readEvents(app.services.database.db, 0, { types: ['GOLDEN_RECORD_CHANGED'], identityId: phoneIdentity }, 1000);
    expect(changed.at(-1)).toMatchObject({ data: { fields: ['phone'] }, versions: { policy: 2 } });
  });

  test('a change can run in the background; its run shows the progress and the result', async () => {
    const result = await app.gql<{ setSurvivorshipPolicy: { policy: { version: number }; run: { id: string; status: string } } }>(
      SET_POLICY,
      { rules: [{ field: 'email', rule: 'SOURCE_PRIORITY' }], wait: false },
    );
    expect(result.errors).toBeUndefined();
    const { id } = result.data!.setSurvivorshipPolicy.run;
    let status = result.data!.setSurvivorshipPolicy.run.status;
    for (let i = 0; i < 100 && status === 'RUNNING'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await app.gql<{ ingestRun: { status: string } }>('query($id: ID!) { ingestRun(id: $id) { status } }', { id })).data!
        .ingestRun.status;
    }
    expect(status).toBe('COMPLETED');
  });

  test('recomputing every golden record when nothing changed re-opens no provenance', async () => {
    const rows = await provenanceRows();
    const result = await app.gql<{ recomputeGoldenRecords: { job: string; status: string; counts: Record<string, number> } }>(
      'mutation { recomputeGoldenRecords { job status counts } }',
    );
    expect(result.data!.recomputeGoldenRecords).toMatchObject({
      job: 'survivorship.recompute',
      status: 'COMPLETED',
      counts: { fieldsReprovenanced: 0, valuesChanged: 0 },
    });
    expect(result.data!.recomputeGoldenRecords.counts.identities).toBeGreaterThan(0);
    expect(await provenanceRows()).toBe(rows);
  });

  test('a recompute for a superseded policy version stops instead of undoing the newer one', async () => {
    const result = await recomputeGolden(app.services.database.db, { kind: 'all' }, { policyVersion: 2 });
    expect(result.status).toBe('ABORTED');
    expect(result.identities).toBe(0);
  });

  describe('the SQL recompute, the bulk rebuild and the per-identity rebuild decide identically', () => {
    let identityIds: string[];
    beforeAll(async () => {
      const db = app.services.database.db;
      const made = [];
      for (const [source, suffix] of [
        ['tie-a', 'A'],
        ['tie-b', 'B'],
        ['lab', 'L'],
      ] as const) {
        made.push(await ingest(app, { source, localId: `T-100-${suffix}`, ...person(100) }));
        made.push(await ingest(app, { source, localId: `T-101-${suffix}`, ...person(101) }));
      }
      identityIds = [...new Set(made.map((m) => m.identity.id))];
      expect(identityIds).toHaveLength(2);
      // Ties and near-duplicates the two engines must settle the same way: case and spacing variants, equal
      // lengths, blanks, characters outside the BMP, and update times equal to the millisecond.
      const set = async (localId: string, updatedAt: string, values: Partial<typeof sourceRecords.$inferInsert> = {}) => {
        if (Object.keys(values).length > 0) await db.update(sourceRecords).set(values).where(eq(sourceRecords.localId, localId));
        await db.execute(sql`update source_records set updated_at = ${updatedAt}::timestamptz where local_id = ${localId}`);
      };
      await set('T-100-A', '2025-01-01 00:00:00.123456+00', {
        givenName: ' Mary  Ann ',
        middleName: 'Lee',
        familyName: 'O\u{1D4DE}Neil',
        email: '   ',
      });
      await set('T-100-B', '2025-01-01 00:00:00.123999+00', {
        givenName: 'MARY ANN',
        middleName: 'Kay',
        familyName: 'ONeil',
        email: 'm@example.test',
      });
      await set('T-100-L', '2024-06-01 00:00:00+00', { givenName: 'Maryann', middleName: 'Sue', familyName: 'O Neil', email: null });
      await set('T-101-A', '2025-03-01 08:00:00.000100+00', { phone: '2535550100' });
      await set('T-101-B', '2025-03-01 08:00:00.000900+00', { phone: '2535550199' });
    });

    const policies: Array<[string, PolicyRules]> = [
      ['source priority everywhere', everyField({ rule: 'SOURCE_PRIORITY' })],
      ['most recent everywhere', everyField({ rule: 'MOST_RECENT' })],
      ['most frequent everywhere', everyField({ rule: 'MOST_FREQUENT' })],
      ['most complete everywhere', everyField({ rule: 'MOST_COMPLETE' })],
      [
        'steward overrides, with and without a value',
        {
          ...everyField({ rule: 'STEWARD_OVERRIDE', fallback: 'MOST_COMPLETE' }),
          phone: { rule: 'STEWARD_OVERRIDE', value: '2535550000' },
        },
      ],
      ['the default policy again', {}],
    ];

    test.each(policies.map(([name, rules], i) => [name, rules, i] as const))('%s', async (_name, rules, i) => {
      const db = app.services.database.db;
      const policy: SurvivorshipPolicy = { version: 100 + i, rules };
      const engines = [
        async () => {
          for (const id of identityIds) await db.transaction((tx) => rebuildGolden(tx, id, { policy }));
        },
        () => db.transaction((tx) => rebuildGoldenMany(tx, identityIds, { policy })),
        () => db.transaction((tx) => recomputeBatch(tx, identityIds, { policy })),
      ];
      // Each engine in turn decides first; the other two must then find nothing left to change.
      const [first, ...others] = [...engines.slice(i % 3), ...engines.slice(0, i % 3)];
      const before = await provenanceRows();
      await first!();
      expect(await provenanceRows()).toBeGreaterThan(before);
      for (const engine of others) {
        const rows = await provenanceRows();
        await engine();
        expect(await provenanceRows()).toBe(rows);
      }
    });
  });
});

describe(`golden rebuilds racing on one identity on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab', 'payer']);
  });
  afterAll(async () => {
    await app?.close();
  });

  // Ingest and recompute both open provenance rows under a unique index on (identity, field) while open; each
  // locks the identity first, so neither can hit that index's unique violation (which is never retried).
  test('a recompute beside ingests into the same identity finishes, and leaves nothing to re-decide', async () => {
    const db = app.services.database.db;
    const first = await ingest(app, { source: 'ehr', localId: 'R-1', ...person(50) });
    const [recompute] = await Promise.all([
      recomputeGolden(db, { kind: 'all' }, { batchSize: 1 }),
      ...Array.from({ length: 6 }, (_, i) =>
        ingest(app, {
          source: ['lab', 'payer'][i % 2],
          localId: `R-${i + 2}`,
          ...person(50, { phone: `617555${String(i).padStart(4, '0')}` }),
        }),
      ),
    ]);
    expect(recompute.status).toBe('COMPLETED');
    const again = await recomputeGolden(db, { kind: 'all' });
    expect(again).toMatchObject({ status: 'COMPLETED', fieldsReprovenanced: 0, valuesChanged: 0 });
    const [open] = await db
      .select({ n: count() })
      .from(fieldProvenance)
      .where(
        sql`${fieldProvenance.identityId} = ${first.identity.id} and ${fieldProvenance.validTo} is null and ${fieldProvenance.field} = 'phone'`,
      );
    expect(open!.n).toBe(1);
  });
});

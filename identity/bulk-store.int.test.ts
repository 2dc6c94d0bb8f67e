import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { blockingKeys, normaliseRecord } from '../matching/index.ts';
import { createTestApp, type TestApp } from '../test/app.ts';
import { TEST_DB_KIND } from '../test/db.ts';
import { person, seedSources } from '../test/fixtures.ts';
import { loadPlanContext, PARALLEL_READ_KEYS, type PlanContext } from './bulk-store.ts';

/** A plan context in a form that compares equal whatever order rows and keys came in. */
function comparable(context: PlanContext) {
  const sorted = <T>(values: Iterable<T>) => [...values].sort();
  return {
    byKey: Object.fromEntries(
      sorted(context.storedByKey.keys()).map((key) => [
        key,
        context.storedByKey
          .get(key)!
          .map((c) => ({ recordId: c.recordId, identityId: c.identityId, keys: sorted(c.keys), normalised: c.normalised }))
          .sort((a, b) => a.recordId.localeCompare(b.recordId)),
      ]),
    ),
    memberCount: Object.fromEntries(sorted(context.memberCount.keys()).map((id) => [id, context.memberCount.get(id)])),
    notDuplicates: sorted(context.notDuplicates),
    openReviews: sorted(context.openReviews),
  };
}

describe(`plan context read on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('a large batch read in parallel parts finds exactly what one read in the transaction finds', async () => {
    // Stored: 150 patients from one source and 60 of them again from another (two records per identity).
    const stored = [
      ...Array.from({ length: 150 }, (_, i) => ({ source: 'ehr', localId: `P-${i}`, ...person(3000 + i) })),
      ...Array.from({ length: 60 }, (_, i) => ({ source: 'lab', localId: `Q-${i}`, ...person(3000 + i * 2, { phone: null }) })),
    ];
    const sent = await app.gql('mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { outcome } }', { input: stored });
    expect(sent.errors).toBeUndefined();
    // A new batch of variants of the same patients: its keys reach the stored records.
    const keys = Array.from({ length: 150 }, (_, i) =>
      blockingKeys(normaliseRecord(person(3000 + i, { email: `p${i}@example.org` }) as Parameters<typeof normaliseRecord>[0]).record),
    ).flat();
    expect(new Set(keys).size).toBeGreaterThanOrEqual(PARALLEL_READ_KEYS);
    const batch = { keys, exclude: [], currentIds: [], recordIds: [] };
    const { db, reader } = app.services.database;
    const inTransaction = await db.transaction((tx) => loadPlanContext(tx, batch));
    expect(inTransaction.storedByKey.size).toBeGreaterThan(500);
    expect([...inTransaction.memberCount.values()].filter((n) => n === 2)).toHaveLength(60);
    if (TEST_DB_KIND === 'postgres') expect(reader).toBeDefined();
    const parallel = await db.transaction((tx) => loadPlanContext(tx, batch, reader));
    expect(comparable(parallel)).toEqual(comparable(inTransaction));
  });
});

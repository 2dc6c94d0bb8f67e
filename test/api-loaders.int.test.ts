import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLoaders } from '../api/loaders.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';

/**
 * Counts SQL statements through the driver hook every statement passes (platform/db/client.ts traces each one as
 * a `db.<operation>` span), outside transactions on PGlite and everywhere on PostgreSQL: what field resolvers read.
 */
class StatementCounter implements SpanProcessor {
  count = 0;
  onStart(span: Span): void {
    if (span.name.startsWith('db.')) this.count += 1;
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const BATCH = 1000;

const INGEST_MANY = `mutation($input: [SourceRecordInput!]!) {
  ingestRecords(input: $input) {
    outcome
    record { id localId familyName }
    identity { id version golden { givenName familyName birthDate phone } records { id source } }
  }
}`;

interface IngestManyData {
  ingestRecords: Array<{
    outcome: string;
    record: { id: string; localId: string; familyName: string };
    identity: { id: string; version: number; golden: Record<string, string | null>; records: Array<{ id: string; source: string }> };
  }>;
}

describe(`request-scoped loaders on ${TEST_DB_KIND}`, () => {
  const counter = new StatementCounter();
  let app: TestApp;
  let serial = 0;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [counter] }));
    app = await createTestApp();
    await seedSources(app, ['ehr']);
  });

  afterAll(async () => {
    await app?.close();
    trace.disable();
  });

  /** A batch of new, distinct patients (fresh local ids each call). */
  function batch(): Array<Record<string, unknown>> {
    return Array.from({ length: BATCH }, () => {
      serial += 1;
      return { source: 'ehr', localId: `LD-${serial}`, ...person(70_000 + serial) };
    });
  }

  /**
   * Runs one 1,000-record ingestRecords through `yoga` and counts the statements issued after the ingest itself
   * returned: the reads of the selected identities, golden records and records, and the operation's audit entry.
   */
  async function statementsBeyondIngest(yoga: MpiYoga): Promise<{ extra: number; data: IngestManyData }> {
    const ingestMany = app.services.ingest.ingestMany.bind(app.services.ingest);
    let atIngestEnd = -1;
    app.services.ingest.ingestMany = async (...args) => {
      const results = await ingestMany(...args);
      atIngestEnd = counter.count;
      return results;
    };
    try {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: INGEST_MANY, variables: { input: batch() } }),
      });
      const body = (await response.json()) as { data: IngestManyData; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(atIngestEnd).toBeGreaterThan(0);
      return { extra: counter.count - atIngestEnd, data: body.data };
    } finally {
      app.services.ingest.ingestMany = ingestMany;
    }
  }

  test('a 1,000-record ingestRecords selecting identities, golden records and records reads them in a few statements', async () => {
    const batched = await statementsBeyondIngest(app.yoga);
    const unbatched = await statementsBeyondIngest(buildYoga(app.services, { localMode: true, batchLoads: false }));

    // Both answers are complete: each result names its own record and the identity holding it, with its golden values.
    for (const { data } of [batched, unbatched]) {
      expect(data.ingestRecords).toHaveLength(BATCH);
      for (const r of data.ingestRecords) {
        expect(r.identity.records.map((x) => x.id)).toContain(r.record.id);
        expect(r.identity.golden.familyName).toEqual(expect.any(String));
      }
    }
    // Item by item, every result costs at least a statement for its identity, its record and its records.
    expect(unbatched.extra).toBeGreaterThanOrEqual(3 * BATCH);
    console.info(`statements beyond the ingest: ${batched.extra} batched, ${unbatched.extra} item by item`);
    expect(batched.extra).toBeLessThanOrEqual(20);
    expect(batched.extra).toBeLessThan(0.02 * unbatched.extra);
  }, 180_000);

  test('the identity loader follows a merge to the survivor and answers null for ids that name nothing', async () => {
    const [a, b] = (await app.gql<IngestManyData>(INGEST_MANY, { input: batch().slice(0, 2) })).data!.ingestRecords;
    const merge = await app.gql(
      'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same person") { id } }',
      {
        s: a!.identity.id,
        m: b!.identity.id,
      },
    );
    expect(merge.errors).toBeUndefined();
    const loaders = createLoaders(app.services.identity, { cache: false });
    const before = counter.count;
    const rows = await Promise.all(
      [b!.identity.id, a!.identity.id, '00000000-0000-4000-8000-000000000000', 'not-an-id'].map((id) => loaders.identity.load(id)),
    );
    expect(rows.map((r) => r?.id ?? null)).toEqual([a!.identity.id, a!.identity.id, null, null]);
    // One statement for the ids asked, one for the merged id's survivor.
    expect(counter.count - before).toBe(2);
    const records = await loaders.recordsOf.load(a!.identity.id);
    expect(records.map((r) => r.record.id).sort()).toEqual([a!.record.id, b!.record.id].sort());
  });
});

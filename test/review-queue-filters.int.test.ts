import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reviewItems } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

const QUEUE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ReviewQueueFilter, $orderBy: ReviewQueueOrder) {
  reviewQueue(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id record { source } } }
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
  }
}`;

interface QueuePage {
  reviewQueue: {
    totalCount: number;
    edges: Array<{ cursor: string; node: { id: string; record: { source: string } | null } }>;
    pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
  };
}

const DAY = 24 * 3600 * 1000;

/** One seeded review item and what the filters look at. */
interface Seeded {
  id: string;
  source: 'ehr' | 'lab';
  grade: 'CERTAIN' | 'PROBABLE' | 'POSSIBLE';
  probability: number;
  priority: number;
  createdAt: Date;
}

describe(`review queue filters and orders on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let items: Seeded[];
  const now = Date.now();

  async function page(variables: Record<string, unknown>): Promise<QueuePage['reviewQueue']> {
    const result = await app.gql<QueuePage>(QUEUE, variables);
    expect(result.errors).toBeUndefined();
    return result.data!.reviewQueue;
  }

  const ids = (rows: Seeded[]) => rows.map((r) => r.id);

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
    const { matchThreshold, reviewThreshold } = (await app.services.models.active()).thresholds;
    const bands = {
      CERTAIN: (matchThreshold + 1) / 2,
      PROBABLE: (reviewThreshold + matchThreshold) / 2,
      POSSIBLE: reviewThreshold / 2,
    } as const;
    // Twelve items: two sources, three grades, ages from 0 to 33 days, two of them raised in the same millisecond.
    const plan = Array.from({ length: 12 }, (_, i) => ({
      source: i % 2 ? ('lab' as const) : ('ehr' as const),
      grade: (['CERTAIN', 'PROBABLE', 'POSSIBLE'] as const)[i % 3]!,
      ageDays: i === 11 ? 10 * 3 : i * 3,
      priority: [0.9, 0.9, 0.8, 0.7, 0.7, 0.6, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1][i]!,
    }));
    const rows = [];
    for (const [i, p] of plan.entries()) {
      const record = await ingest(app, { source: p.source, localId: `RQF-${i}`, ...person(50_000 + i) });
      const probability = bands[p.grade] + i / 10_000;
      rows.push({
        kind: 'RECORD_MATCH' as const,
        recordId: record.record.id,
        identityA: record.identity.id,
        probability,
        weight: 1,
        priority: p.priority,
        explanation: { prior: 0, contributions: [], conflicts: [] },
        createdAt: new Date(now - p.ageDays * DAY),
      });
    }
    const inserted = await app.services.database.db.insert(reviewItems).values(rows).returning();
    items = inserted.map((r, i) => ({
      id: r.id,
      source: plan[i]!.source,
      grade: plan[i]!.grade,
      probability: r.probability,
      priority: r.priority,
      createdAt: r.createdAt,
    }));
  });
  afterAll(async () => {
    await app?.close();
  });

  test.each<[string, Record<string, unknown>, (s: Seeded) => boolean]>([
    ['a grade', { grade: 'PROBABLE' }, (s) => s.grade === 'PROBABLE'],
    ['another grade', { grade: 'CERTAIN' }, (s) => s.grade === 'CERTAIN'],
    ["the record's source", { source: 'lab' }, (s) => s.source === 'lab'],
    ['age: older than a week', { createdBefore: new Date(now - 7 * DAY).toISOString() }, (s) => s.createdAt.getTime() < now - 7 * DAY],
    ['age: raised in the last week', { createdAfter: new Date(now - 7 * DAY).toISOString() }, (s) => s.createdAt.getTime() > now - 7 * DAY],
    [
      'grade, source and age together',
      { grade: 'POSSIBLE', source: 'ehr', createdBefore: new Date(now - DAY).toISOString() },
      (s) => s.grade === 'POSSIBLE' && s.source === 'ehr' && s.createdAt.getTime() < now - DAY,
    ],
    ['a source with no items', { source: 'nowhere' }, () => false],
  ])('filters by %s, and counts what the filter matches', async (_label, filter, keep) => {
    const expected = items.filter(keep);
    const result = await page({ first: 100, filter: { status: 'OPEN', ...filter } });
    expect(new Set(result.edges.map((e) => e.node.id))).toEqual(new Set(ids(expected)));
    // Each item comes with its own record (the page's records are read together).
    expect(Object.fromEntries(result.edges.map((e) => [e.node.id, e.node.record?.source]))).toEqual(
      Object.fromEntries(expected.map((s) => [s.id, s.source])),
    );
    expect(result.totalCount).toBe(expected.length);
    // Counted in full even when the page holds fewer.
    expect((await page({ first: 1, filter: { status: 'OPEN', ...filter } })).totalCount).toBe(expected.length);
  });

  const byId = (a: Seeded, b: Seeded) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  test.each<[string, (a: Seeded, b: Seeded) => number]>([
    ['PRIORITY', (a, b) => b.priority - a.priority || byId(a, b)],
    ['PROBABILITY', (a, b) => b.probability - a.probability || byId(a, b)],
    ['OLDEST', (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || byId(a, b)],
    ['NEWEST', (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || byId(a, b)],
  ])('orders by %s and pages forwards and back through that order without a gap or a repeat', async (orderBy, compare) => {
    const expected = ids([...items].sort(compare));
    expect((await page({ first: 100, orderBy })).edges.map((e) => e.node.id)).toEqual(expected);

    const forwards: string[] = [];
    let after: string | null = null;
    for (let turn = 0; turn < 10; turn += 1) {
      const current = await page({ first: 5, after, orderBy });
      forwards.push(...current.edges.map((e) => e.node.id));
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(forwards).toEqual(expected);

    const backwards: string[] = [];
    let before: string | null = null;
    for (let turn = 0; turn < 10; turn += 1) {
      const current = await page({ last: 5, before, orderBy });
      backwards.unshift(...current.edges.map((e) => e.node.id));
      if (!current.pageInfo.hasPreviousPage) break;
      before = current.pageInfo.startCursor;
    }
    expect(backwards).toEqual(expected);
  });

  test('gives each item the grade its probability has under the active model, the band the grade filter uses', async () => {
    const result = await app.gql<{ reviewQueue: { edges: Array<{ node: { id: string; grade: string; probability: number } }> } }>(
      '{ reviewQueue(first: 100) { edges { node { id grade probability } } } }',
    );
    expect(result.errors).toBeUndefined();
    const graded = Object.fromEntries(result.data!.reviewQueue.edges.map((e) => [e.node.id, e.node.grade]));
    expect(graded).toEqual(Object.fromEntries(items.map((s) => [s.id, s.grade])));
  });

  test('refuses a forged cursor whose id is no review item id as INVALID_CURSOR (it reached the query: an internal error)', async () => {
    for (const id of ['not-a-uuid', "x'; --", '']) {
      const after = Buffer.from(JSON.stringify(['reviewQueue', 0.5, id])).toString('base64url');
      const result = await app.gql(QUEUE, { first: 2, after });
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.extensions).toMatchObject({
        code: 'VALIDATION_FAILED',
        problems: [{ field: 'after', code: 'INVALID_CURSOR' }],
      });
    }
  });

  test('refuses a cursor of one order in another, naming the argument', async () => {
    const oldest = await page({ first: 2, orderBy: 'OLDEST' });
    const result = await app.gql(QUEUE, { first: 2, after: oldest.pageInfo.endCursor, orderBy: 'PRIORITY' });
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'after',
      problems: [{ field: 'after', code: 'INVALID_CURSOR' }],
    });
  });
});

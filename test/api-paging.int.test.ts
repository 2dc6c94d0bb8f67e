import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reviewItems } from '../platform/db/schema/index.ts';
import { createTestApp, type GqlResult, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

/** Priorities with ties, so the keyset's tie-break (id) is exercised too. */
const PRIORITIES = [0.9, 0.9, 0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.4, 0.3];

interface QueuePage {
  reviewQueue: {
    totalCount: number;
    edges: Array<{ cursor: string; node: { id: string; priority: number } }>;
    pageInfo: { endCursor: string | null; startCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
  };
}

const QUEUE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ReviewQueueFilter) {
  reviewQueue(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    edges { cursor node { id priority } }
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
  }
}`;

interface EventsPage {
  identityEvents: { totalCount: number; edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string; hasNextPage: boolean } };
}

const DECIDE = 'mutation($id: ID!) { resolveReviewItem(id: $id, decision: NOT_MATCH, reason: "different people") { status } }';

describe(`paging on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  /** The seeded review items' ids in queue order: priority descending, then id. */
  let queue: string[];
  let serial = 0;

  /** A fresh pair of distinct identities per review item, so deciding one item moots no other. */
  async function seedReviewItems(priorities: number[]): Promise<string[]> {
    const rows = [];
    for (const priority of priorities) {
      const a = await ingest(app, { source: 'ehr', localId: `PG-${++serial}`, ...person(40_000 + serial) });
      const b = await ingest(app, { source: 'ehr', localId: `PG-${++serial}`, ...person(40_000 + serial) });
      rows.push({
        kind: 'POSSIBLE_DUPLICATE' as const,
        identityA: a.identity.id,
        identityB: b.identity.id,
        probability: 0.6,
        weight: 1,
        priority,
        explanation: { prior: 0, contributions: [], conflicts: [] },
      });
    }
    const inserted = await app.services.database.db
      .insert(reviewItems)
      .values(rows)
      .returning({ id: reviewItems.id, priority: reviewItems.priority });
    return inserted.sort((x, y) => y.priority - x.priority || (x.id < y.id ? -1 : 1)).map((r) => r.id);
  }

  async function page(variables: Record<string, unknown>): Promise<QueuePage['reviewQueue']> {
    const result = await app.gql<QueuePage>(QUEUE, variables);
    expect(result.errors).toBeUndefined();
    return result.data!.reviewQueue;
  }

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr']);
    queue = await seedReviewItems(PRIORITIES);
  });
  afterAll(async () => {
    await app?.close();
  });

  test('a steward who resolves each page before turning to the next sees every open item once, in priority order', async () => {
    const open = await page({ first: 100 });
    expect(open.totalCount).toBe(queue.length);
    expect(open.edges.map((e) => e.node.id)).toEqual(queue);

    const seen: string[] = [];
    let after: string | null = null;
    for (let turns = 0; turns < 10; turns += 1) {
      const current = await page({ first: 3, after });
      seen.push(...current.edges.map((e) => e.node.id));
      // Resolve what was just read: with offset paging the next page would now skip three items.
      for (const edge of current.edges) expect((await app.gql(DECIDE, { id: edge.node.id })).errors).toBeUndefined();
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(seen).toEqual(queue);
    expect((await page({ first: 5 })).totalCount).toBe(0);
  });

  test('keeps its place when items ranked above the cursor are added or resolved meanwhile', async () => {
    const items = await seedReviewItems([0.55, 0.45, 0.35, 0.25]);
    const first = await page({ first: 2 });
    expect(first.edges.map((e) => e.node.id)).toEqual(items.slice(0, 2));
    const [above] = await seedReviewItems([0.99]);
    expect((await app.gql(DECIDE, { id: items[0] })).errors).toBeUndefined();
    const rest = await page({ first: 10, after: first.pageInfo.endCursor });
    expect(rest.edges.map((e) => e.node.id)).toEqual(items.slice(2));
    expect(rest.totalCount).toBe(4); // the new item above and three of the four below are open
    expect(rest.edges.map((e) => e.node.id)).not.toContain(above);

    const back = await page({ last: 2, before: rest.edges[0]!.cursor });
    expect(back.edges.map((e) => e.node.id)).toEqual([above, items[1]]);
    expect(back.pageInfo.hasPreviousPage).toBe(false);
  });

  test('filters by status and kind through one filter input; the old status argument still works', async () => {
    const resolved = await page({ first: 100, filter: { status: 'RESOLVED', kind: 'POSSIBLE_DUPLICATE' } });
    expect(resolved.totalCount).toBe(PRIORITIES.length + 1);
    const none = await page({ first: 100, filter: { status: 'OPEN', kind: 'RECORD_MATCH' } });
    expect(none.totalCount).toBe(0);
    const old = await app.gql<QueuePage>('{ reviewQueue(status: RESOLVED, first: 100) { totalCount } }');
    expect(old.data!.reviewQueue.totalCount).toBe(PRIORITIES.length + 1);
  });

  test.each([
    ['a page larger than the limit', { first: 101 }, 'first', 'TOO_MANY'],
    ['a negative page size', { last: -1 }, 'last', 'OUT_OF_RANGE'],
    ['a cursor that is not one', { first: 2, after: 'bm90IGEgY3Vyc29y' }, 'after', 'INVALID_CURSOR'],
    [
      'a cursor of another list',
      { first: 2, after: Buffer.from(JSON.stringify(['identityEvents', 5])).toString('base64url') },
      'after',
      'INVALID_CURSOR',
    ],
  ])('refuses %s with a typed error naming the argument', async (_label, variables, field, code) => {
    const result = await app.gql(QUEUE, variables);
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field, problems: [{ field, code }] });
  });

  test("pages an identity's history by cursor, with its total, from the root field and from the identity", async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'HIST-A', ...person(50_001) });
    const b = await ingest(app, { source: 'ehr', localId: 'HIST-B', ...person(50_002) });
    const c = await ingest(app, { source: 'ehr', localId: 'HIST-C', ...person(50_003) });
    for (const other of [b, c]) {
      const merged = await app.gql(
        'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "same patient") { id } }',
        { s: a.identity.id, m: other.identity.id },
      );
      expect(merged.errors).toBeUndefined();
    }
    const all = await app.gql<{ identityHistory: Array<{ id: string }> }>('query($id: ID!) { identityHistory(id: $id) { id } }', {
      id: a.identity.id,
    });
    const expected = all.data!.identityHistory.map((e) => e.id).sort((x, y) => Number(x) - Number(y));
    expect(expected.length).toBeGreaterThanOrEqual(4);

    const seen: string[] = [];
    let after: string | null = null;
    do {
      const result: GqlResult<EventsPage> = await app.gql<EventsPage>(
        'query($id: ID!, $after: String) { identityEvents(identityId: $id, first: 2, after: $after) { totalCount edges { node { id } } pageInfo { endCursor hasNextPage } } }',
        { id: a.identity.id, after },
      );
      expect(result.errors).toBeUndefined();
      const connection: EventsPage['identityEvents'] = result.data!.identityEvents;
      expect(connection.totalCount).toBe(expected.length);
      expect(connection.edges.length).toBeLessThanOrEqual(2);
      seen.push(...connection.edges.map((e) => e.node.id));
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expected);

    const merges = await app.gql<{ identity: { events: { totalCount: number; edges: Array<{ node: { type: string } }> } } }>(
      'query($id: ID!) { identity(id: $id) { events(first: 10, filter: { types: [MERGED] }) { totalCount edges { node { type } } } } }',
      { id: a.identity.id },
    );
    expect(merges.errors).toBeUndefined();
    expect(merges.data!.identity.events.totalCount).toBe(2);
    expect(merges.data!.identity.events.edges.map((e) => e.node.type)).toEqual(['MERGED', 'MERGED']);

    const tooMany = await app.gql('query($id: ID!) { identityEvents(identityId: $id, first: 201) { totalCount } }', { id: a.identity.id });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'first' });
  });
});

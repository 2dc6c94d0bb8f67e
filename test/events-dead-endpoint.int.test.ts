import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { changeEvents } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';
import { FAST_WEBHOOK_ENV, until } from './wait.ts';

/** More endpoints than the test database's pool has connections (10 on PostgreSQL, 1 on PGlite). */
const ENDPOINTS = 11;
/** Requests each endpoint is sent and never answered (all endpoints together stay under the connections kept per host). */
const HELD = 2;

const INGEST_MANY = `mutation ($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { outcome record { id } } }`;

/** A receiver that accepts every request and answers none until `release`: dead or very slow endpoints under `base`. */
async function heldOpenEndpoint() {
  const held: Array<{ path: string; res: ServerResponse<IncomingMessage> }> = [];
  const server = createServer((req, res) => {
    held.push({ path: req.url ?? '', res });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    held,
    /** Answers every request held so far and closes the server. */
    release: () => {
      for (const { res } of held) if (!res.writableEnded) res.end();
      server.closeAllConnections();
      server.close();
    },
  };
}

describe(`a webhook endpoint that never answers, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let endpoint: Awaited<ReturnType<typeof heldOpenEndpoint>>;
  beforeAll(async () => {
    // Requests wait far longer than the test runs: they are still open when the ingest below is sent.
    app = await createTestApp({ env: { ...FAST_WEBHOOK_ENV, MPI_WEBHOOK_TIMEOUT_MS: '600000' } });
    await seedSources(app, ['ehr']);
    endpoint = await heldOpenEndpoint();
    app.services.events.start();
  });
  afterAll(async () => {
    endpoint?.release();
    await app?.services.events.stop();
    await app?.close();
  });

  test('does not hold up ingest: batches commit while more deliveries wait on it than the pool has connections', async () => {
    for (let i = 0; i < ENDPOINTS; i += 1) {
      const created = await app.gql(
        `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
        { input: { url: `${endpoint.base}/${i}`, eventTypes: ['IDENTITY_CREATED'] } },
      );
      expect(created.errors).toBeUndefined();
    }
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ source: 'ehr', localId: `DEAD-${from + i}`, ...person(9_100 + from + i) }));
    // Distinct people: distinct identities, whose events go to each endpoint in parallel, each request left open.
    const first = await app.gql(INGEST_MANY, { input: batch(0, HELD) });
    expect(first.errors).toBeUndefined();
    const open = () => endpoint.held.filter(({ res }) => !res.writableEnded);
    await until(() => open().length >= ENDPOINTS * HELD);

    // With every one of those requests still open, ingest goes on: each batch commits with its events.
    const written: string[] = [];
    for (const from of [100, 200, 300]) {
      const next = await app.gql<{ ingestRecords: Array<{ outcome: string; record: { id: string } }> }>(INGEST_MANY, {
        input: batch(from, 5),
      });
      expect(next.errors).toBeUndefined();
      expect(next.data!.ingestRecords.map((r) => r.outcome)).toEqual(['CREATED', 'CREATED', 'CREATED', 'CREATED', 'CREATED']);
      written.push(...next.data!.ingestRecords.map((r) => r.record.id));
    }
    // Committed with them: the outbox holds each record's IDENTITY_CREATED (published yet or not).
    const outbox = await app.services.database.db
      .select({ recordId: changeEvents.recordId })
      .from(changeEvents)
      .where(and(eq(changeEvents.type, 'IDENTITY_CREATED'), inArray(changeEvents.recordId, written)));
    expect(outbox.map((e) => e.recordId).sort()).toEqual([...written].sort());
    // Nothing was answered meanwhile: every endpoint still waits on all its requests.
    expect(open().length).toBe(ENDPOINTS * HELD);
    expect(new Set(open().map(({ path }) => path)).size).toBe(ENDPOINTS);
  });
});

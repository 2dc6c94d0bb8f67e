import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';
import { createScratchDatabase, gqlAt, startServer, type ServerProcess } from './processes.ts';
import { FAST_WEBHOOK_ENV, until } from './wait.ts';

const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { record { id } } }';
const CREATE_HOOK = 'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id } } }';
const EVENTS = 'query($filter: ChangeEventFilter) { changeEvents(filter: $filter, first: 100) { id position recordId } }';

/** What the receiver got: each request's event id and record id, in arrival order. */
interface Delivery {
  id: string;
  recordId: string;
}

/**
 * A webhook receiver that, while `hold` is set, keeps every request open without answering: the sender is then
 * mid-delivery, with the request sent and no answer back.
 */
async function holdingReceiver() {
  const state = { hold: true, got: [] as Delivery[], open: [] as ServerResponse<IncomingMessage>[] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = JSON.parse(body) as { data: { recordId: string } };
      state.got.push({ id: req.headers['webhook-id'] as string, recordId: json.data.recordId });
      if (state.hold) state.open.push(res);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

// The crash the outbox is for: the process delivering events dies (SIGKILL, no shutdown code runs) while a webhook
// request is on the wire. Nothing is lost: the next process delivers every committed event, the interrupted one
// again under the same id (at least once; consumers de-duplicate by webhook-id).
describe(`a delivering process killed mid-delivery on ${TEST_DB_KIND}`, () => {
  const adminKey = `mpi_${randomBytes(24).toString('base64url')}`;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let hook: Awaited<ReturnType<typeof holdingReceiver>>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    if (TEST_DB_KIND === 'postgres') {
      const database = await createScratchDatabase('mpi_events_crash');
      env = { DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4' };
      cleanup = () => database.drop();
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'mpi-events-crash-'));
      env = { MPI_DATA_DIR: dataDir };
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
    }
    env = {
      ...env,
      ...FAST_WEBHOOK_ENV,
      MPI_BOOTSTRAP_ADMIN_KEY: adminKey,
      MPI_AUTO_REGISTER_SOURCES: 'true',
      // The held request must still be open when the process is killed.
      MPI_WEBHOOK_TIMEOUT_MS: '60000',
    };
    hook = await holdingReceiver();
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    hook?.close();
    await cleanup?.();
  });

  test('the next process delivers every committed event, the interrupted one again under the same id', async () => {
    const first = await startServer('crash-a', env);
    servers.push(first);
    const created = await gqlAt<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
      first.url,
      CREATE_HOOK,
      { input: { url: hook.url, eventTypes: ['IDENTITY_CREATED'] } },
      adminKey,
    );
    expect(created.errors).toBeUndefined();
    const input = Array.from({ length: 12 }, (_, i) => ({ source: 'ehr', localId: `CRASH-${i}`, ...person(9100 + i) }));
    const ingested = await gqlAt<{ ingestRecords: Array<{ record: { id: string } }> }>(first.url, INGEST_MANY, { input }, adminKey);
    expect(ingested.errors).toBeUndefined();

    // Deliveries are on the wire, unanswered: kill the process now, with no chance to record anything.
    await until(() => hook.state.got.length > 0);
    await first.stop('SIGKILL');
    const beforeKill = hook.state.got.length;
    for (const res of hook.state.open) res.destroy();
    hook.state.hold = false;

    const next = await startServer('crash-b', env);
    servers.push(next);
    // The events the outbox holds, read through the process that took over.
    const committed = await gqlAt<{ changeEvents: Array<{ id: string; recordId: string }> }>(
      next.url,
      EVENTS,
      { filter: { types: ['IDENTITY_CREATED'] } },
      adminKey,
    );
    expect(committed.errors).toBeUndefined();
    const expected = committed.data!.changeEvents;
    expect(expected.map((e) => e.recordId).sort()).toEqual(ingested.data!.ingestRecords.map((r) => r.record.id).sort());

    // None was answered before the kill, so the next process sends every one of them, under the ids they had.
    const after = () => hook.state.got.slice(beforeKill);
    await until(() => expected.every((e) => after().some((g) => g.id === e.id)), 60_000);
    expect(new Set(hook.state.got.map((g) => g.id))).toEqual(new Set(expected.map((e) => e.id)));
    for (const interrupted of hook.state.got.slice(0, beforeKill))
      expect(
        after()
          .filter((g) => g.id === interrupted.id)
          .map((g) => g.recordId),
      ).toContain(interrupted.recordId);
  }, 240_000);
});

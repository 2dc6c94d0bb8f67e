import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toNodeListener } from '../api/http.ts';
import { attachGraphqlWebSocket } from '../api/websocket.ts';
import { eventsCommand } from '../cli/events.ts';
import { sql } from 'drizzle-orm';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { INGEST, person, seedSources, type IngestData } from './fixtures.ts';
import { FAST_WEBHOOK_ENV, until } from './wait.ts';

interface StreamedEvent {
  id: string;
  position: string;
  type: string;
  source: string | null;
  localId: string | null;
  data: Record<string, unknown>;
}

const FOLLOW = `subscription ($from: String, $types: [ChangeEventType!], $source: String) {
  changeEvents(from: $from, types: $types, source: $source) { id position type source localId data }
}`;

describe(`change events over GraphQL WebSocket (graphql-ws) and \`mpi events --follow\` on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let server: Server;
  let websocket: { close(): Promise<void> };
  let url: string;
  const keys: Record<string, string> = {};
  const clients: Client[] = [];

  beforeAll(async () => {
    app = await createTestApp({ localMode: false, env: FAST_WEBHOOK_ENV });
    await seedSources(app, ['ehr', 'lab']);
    for (const role of ['admin', 'pipeline', 'governance'])
      keys[role] = (await createApiKey(app.services.database.db, `ws-${role}`, role)).key;
    server = createServer(toNodeListener(app.http));
    websocket = attachGraphqlWebSocket(server, app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    app.services.events.start();
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await app?.services.events.stop();
    await websocket?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
  });

  /** The last position once every committed event is published: what follows it is only what the test does next. */
  async function settledHead(): Promise<string> {
    const [row] = await until(async () => {
      const rows = await queryRows<{ pending: number; head: string | null }>(
        app.services.database.db,
        sql`select (count(*) filter (where position is null))::int as pending, max(position)::text as head from change_events`,
      );
      return rows[0]!.pending === 0 ? rows : null;
    });
    return row!.head ?? '0';
  }

  async function ingest(localId: string, source: string, seed: number): Promise<IngestData['ingestRecord']> {
    const result = await app.gql<IngestData>(INGEST, { input: { source, localId, ...person(seed) } }, { key: keys.admin! });
    expect(result.errors).toBeUndefined();
    return result.data!.ingestRecord;
  }

  /** Subscribes with graphql-ws as `key`; collects what arrives, and the error if the server refuses. */
  function subscribe(key: string | null, variables: Record<string, unknown>) {
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    });
    clients.push(client);
    const got: StreamedEvent[] = [];
    const failure: { errors: unknown[] | null } = { errors: null };
    client.subscribe<{ changeEvents: StreamedEvent }>(
      { query: FOLLOW, variables },
      {
        next: (result) => {
          if (result.errors) failure.errors = [...result.errors];
          else if (result.data) got.push(result.data.changeEvents);
        },
        error: (error) => {
          failure.errors = Array.isArray(error) ? error : [error];
        },
        complete: () => undefined,
      },
    );
    return { got, failure };
  }

  test('a pipeline subscriber replays after a position, then gets new events live, filtered by type and source, without patient data', async () => {
    const from = await settledHead();
    const before = await ingest('WS-1', 'ehr', 1101);
    await until(() => app.services.events.dispatcher.headPosition > Number(from));
    const { got, failure } = subscribe(keys.pipeline!, { from, types: ['RECORD_LINKED'], source: 'ehr' });
    await until(() => got.length >= 1 || failure.errors);
    expect(failure.errors).toBeNull();

    await ingest('WS-2', 'lab', 1102);
    const after = await ingest('WS-3', 'ehr', 1103);
    await until(() => got.some((e) => e.localId === 'WS-3'));
    expect(got.map((e) => [e.type, e.source, e.localId])).toEqual([
      ['RECORD_LINKED', 'ehr', 'WS-1'],
      ['RECORD_LINKED', 'ehr', 'WS-3'],
    ]);
    expect(Number(got[1]!.position)).toBeGreaterThan(Number(got[0]!.position));
    expect(got[0]!.id).not.toBe(got[1]!.id);
    const text = JSON.stringify(got);
    for (const p of [person(1101), person(1103)]) {
      for (const value of [p.familyName, p.givenName, p.birthDate, p.phone]) expect(text).not.toContain(String(value));
    }
    expect(before.record.id).not.toBe(after.record.id);
  });

  test.each([
    ['no key', null, 'UNAUTHENTICATED'],
    ['a governance key', 'governance', 'FORBIDDEN'],
  ])('refuses a WebSocket subscription with %s when it is opened, before any event', async (_name, role, code) => {
    // Nothing follows the position: the refusal cannot come from an event, only from opening the subscription.
    const { got, failure } = subscribe(role ? keys[role]! : null, { from: await settledHead() });
    const errors = (await until(() => failure.errors)) as Array<{ extensions?: { code?: string } }>;
    expect(errors.map((e) => e.extensions?.code)).toEqual([code]);
    expect(got).toEqual([]);
  });

  test('`mpi events --follow --from` prints the events after the position, then new ones, one JSON line each', async () => {
    const from = await settledHead();
    await ingest('CLI-1', 'ehr', 1111);
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const lines = () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as StreamedEvent);
    const following = eventsCommand({ url, key: keys.pipeline, follow: true, from, type: ['record_linked'] }, out);
    await until(() => lines().some((e) => e.localId === 'CLI-1'));
    await ingest('CLI-2', 'lab', 1112);
    await until(() => lines().some((e) => e.localId === 'CLI-2'));
    process.emit('SIGINT');
    await following;
    expect(lines().map((e) => [e.type, e.source, e.localId])).toEqual([
      ['RECORD_LINKED', 'ehr', 'CLI-1'],
      ['RECORD_LINKED', 'lab', 'CLI-2'],
    ]);
  });
});

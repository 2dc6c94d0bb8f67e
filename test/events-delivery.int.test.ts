import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createEventsService, WebhookService, type EventsService, type Resolver } from '../events/index.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';
import { FAST_WEBHOOK_ENV, until } from './wait.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
  json: {
    type: string;
    data: {
      id: string;
      position: number;
      identityId: string | null;
      data: Record<string, unknown>;
      demographics?: Record<string, string | null>;
    };
  };
}

/** A webhook receiver on loopback that answers `status` and keeps what it got. */
async function receiver(): Promise<{ url: string; got: Received[]; status: { code: number }; server: Server }> {
  const got: Received[] = [];
  const status = { code: 200 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      got.push({ headers: req.headers as Record<string, string>, body, json: JSON.parse(body) as Received['json'] });
      res.statusCode = status.code;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, status, server };
}

const CREATE = `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes } } }`;

describe(`change event delivery on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let hook: Awaited<ReturnType<typeof receiver>>;
  const extra: EventsService[] = [];
  beforeAll(async () => {
    app = await createTestApp({ env: FAST_WEBHOOK_ENV });
    await seedSources(app, ['ehr', 'lab']);
    hook = await receiver();
    app.services.events.start();
  });
  afterAll(async () => {
    for (const s of extra) await s.stop();
    await app?.services.events.stop();
    hook?.server.close();
    await app?.close();
  });

  async function register(input: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const result = await app.gql<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(CREATE, { input });
    expect(result.errors).toBeUndefined();
    return { id: result.data!.createWebhookEndpoint.endpoint.id, secret: result.data!.createWebhookEndpoint.secret };
  }

  test('refuses webhook URLs on loopback, link-local or metadata addresses unless a network allows them', async () => {
    const strict = new WebhookService(app.services.database.db, { allowedHosts: [], allowedNetworks: [] });
    for (const url of ['http://127.0.0.1:9/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'https://localhost/x']) {
      await expect(strict.register({ url }, 'test')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        problems: [{ field: 'url', code: 'URL_NOT_ALLOWED' }],
      });
    }
    await expect(strict.register({ url: 'ftp://example.org/x' }, 'test')).rejects.toMatchObject({ problems: [{ code: 'INVALID_URL' }] });
  });

  test('signs each delivery per Standard Webhooks: the published secret verifies it, another does not', async () => {
    const { id, secret } = await register({ url: hook.url, eventTypes: ['IDENTITY_CREATED'] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const created = await ingest(app, { source: 'ehr', localId: 'W-1', ...person(801) });
    const got = await until(() => hook.got.find((r) => r.json.data.identityId === created.identity.id));
    expect(got.json.type).toBe('IDENTITY_CREATED');
    expect(got.headers['webhook-id']).toBe(got.json.data.id);
    expect(new Webhook(secret).verify(got.body, got.headers)).toMatchObject({ type: 'IDENTITY_CREATED' });
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(got.body, got.headers)).toThrow();
    expect(() => new Webhook(secret).verify(got.body.replace('IDENTITY_CREATED', 'RECORD_DELETED'), got.headers)).toThrow();
    // The secret is shown once: the endpoint type has no field for it.
    const listed = await app.gql(`{ webhookEndpoints { id url delivery { lagEvents deadLetters } } }`);
    expect(JSON.stringify(listed.data)).not.toContain(secret);
    expect(listed.errors).toBeUndefined();
    await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
  });

  test('an endpoint answering 500 gets its retries, then a dead letter, and the API redelivers it', async () => {
    const failing = await receiver();
    failing.status.code = 500;
    try {
      const { id } = await register({ url: failing.url, eventTypes: ['IDENTITY_CREATED'] });
      const created = await ingest(app, { source: 'ehr', localId: 'W-2', ...person(802) });
      const status = `query { webhookEndpoints { id delivery { deadLetters headAttempts lastStatus lastError } deadLetters { eventId attempts status } } }`;
      const dead = await until(async () => {
        const r = await app.gql<{
          webhookEndpoints: Array<{
            id: string;
            delivery: { deadLetters: number };
            deadLetters: Array<{ eventId: string; attempts: number }>;
          }>;
        }>(status);
        const mine = r.data!.webhookEndpoints.find((e) => e.id === id)!;
        return mine.delivery.deadLetters === 1 ? mine : null;
      });
      expect(failing.got.length).toBe(3);
      expect(new Set(failing.got.map((g) => g.headers['webhook-id']))).toEqual(new Set([dead.deadLetters[0]!.eventId]));
      expect(dead).toMatchObject({ delivery: { lastStatus: 500, lastError: 'HTTP 500' }, deadLetters: [{ attempts: 3, status: 'DEAD' }] });
      expect(failing.got[0]!.json.data.identityId).toBe(created.identity.id);

      failing.status.code = 204;
      const queued = await app.gql<{ redeliverWebhookEvents: number }>(`mutation ($id: ID!) { redeliverWebhookEvents(id: $id) }`, { id });
      expect(queued.data?.redeliverWebhookEvents).toBe(1);
      await until(() => failing.got.length === 4);
      expect(failing.got[3]!.headers['webhook-id']).toBe(dead.deadLetters[0]!.eventId);
      await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
    } finally {
      failing.server.close();
    }
  });

  test('a failing endpoint is sent one request per retry, its head event, until it answers; then full rounds again', async () => {
    const failing = await receiver();
    failing.status.code = 503;
    try {
      const { id } = await register({ url: failing.url, eventTypes: ['IDENTITY_CREATED'] });
      // Five people in one batch: five identities, five ordering chains, all sent in the first round.
      const people = Array.from({ length: 5 }, (_, i) => ({ source: 'ehr', localId: `P-${i}`, ...person(8_400 + i) }));
      const batch = await app.gql(`mutation ($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { record { id } } }`, {
        input: people,
      });
      expect(batch.errors).toBeUndefined();
      const sent = () => failing.got.map((g) => g.json.data);
      // The first round's five, then the head's two retries (3 tries here): dead-lettered, the next event is probed.
      await until(() => failing.got.length >= 8);
      const [first, retries, next] = [sent().slice(0, 5), sent().slice(5, 7), sent().slice(7, 8)];
      expect(new Set(first.map((e) => e.id)).size).toBe(5);
      const head = [...first].sort((a, b) => a.position - b.position);
      expect(retries.map((e) => e.id)).toEqual([head[0]!.id, head[0]!.id]);
      expect(next.map((e) => e.id)).toEqual([head[1]!.id]);

      // Back: the probe is answered, then the other events follow; only the dead-lettered head is missing.
      const back = failing.got.length;
      failing.status.code = 204;
      await until(() => head.slice(1).every((e) => failing.got.slice(back).some((g) => g.json.data.id === e.id)));
      const state = await app.gql<{
        webhookEndpoints: Array<{ id: string; delivery: { headAttempts: number; lastError: string | null; deadLetters: number } }>;
      }>(`{ webhookEndpoints { id delivery { headAttempts lastError deadLetters } } }`);
      expect(state.data!.webhookEndpoints.find((e) => e.id === id)!.delivery).toEqual({ headAttempts: 0, lastError: null, deadLetters: 1 });
      await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
    } finally {
      failing.server.close();
    }
  });

  test('a round stops at its first failure: no more requests than connections, none started after one failed', async () => {
    // Refuses the first requests, as many as a round keeps out at once, then accepts everything.
    const flaky = await receiver();
    const refused = loadConfig({ ...FAST_WEBHOOK_ENV }).MPI_WEBHOOK_CONCURRENCY;
    flaky.server.removeAllListeners('request');
    flaky.server.on('request', (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        flaky.got.push({ headers: req.headers as Record<string, string>, body, json: JSON.parse(body) as Received['json'] });
        res.statusCode = flaky.got.length <= refused ? 503 : 204;
        res.end();
      });
    });
    try {
      const { id } = await register({ url: flaky.url, eventTypes: ['IDENTITY_CREATED'] });
      // One batch of more people (identities, ordering chains) than a round sends at once.
      const count = refused + 8;
      const people = Array.from({ length: count }, (_, i) => ({ source: 'ehr', localId: `R-${i}`, ...person(8_500 + i) }));
      const mark = app.services.events.dispatcher.headPosition;
      const batch = await app.gql<{ ingestRecords: Array<{ record: { id: string } }> }>(
        `mutation ($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { record { id } } }`,
        { input: people },
      );
      expect(batch.errors).toBeUndefined();
      const records = new Set(batch.data!.ingestRecords.map((r) => r.record.id));
      const events = await until(async () => {
        const published = await app.services.events.dispatcher.read(mark, { types: ['IDENTITY_CREATED'] }, 1_000);
        const mine = published.filter((e) => e.recordId !== null && records.has(e.recordId));
        return mine.length === count ? mine : null;
      });
      expect(events).toHaveLength(count);
      // Every event arrives once the endpoint accepts; none is dead-lettered (the head was tried twice).
      await until(() => events.every((e) => flaky.got.slice(refused).some((g) => g.json.data.id === e.id)));
      const ids = flaky.got.map((g) => g.json.data.id);
      // The first round: `refused` different events, all refused, and nothing more; then the head alone, accepted.
      expect(new Set(ids.slice(0, refused)).size).toBe(refused);
      expect(ids[refused]).toBe(events[0]!.id);
      const state = await app.gql<{ webhookEndpoints: Array<{ id: string; delivery: { lastError: string | null; deadLetters: number } }> }>(
        `{ webhookEndpoints { id delivery { lastError deadLetters } } }`,
      );
      expect(state.data!.webhookEndpoints.find((e) => e.id === id)!.delivery).toEqual({ lastError: null, deadLetters: 0 });
      await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
    } finally {
      flaky.server.close();
    }
  });

  test('events committed while no dispatcher runs are delivered by the next one; consumers de-duplicate by id', async () => {
    const { id } = await register({ url: hook.url, eventTypes: ['RECORD_LINKED'] });
    await app.services.events.stop(); // the process "crashes" after its commits, before publishing them
    const created = await ingest(app, { source: 'lab', localId: 'W-3', ...person(803) });
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.got.some((g) => g.json.data.identityId === created.identity.id)).toBe(false);

    const next = createEventsService(
      app.services.database.db,
      loadConfig({ ...FAST_WEBHOOK_ENV, LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    extra.push(next);
    next.start();
    const first = await until(() => hook.got.find((g) => g.json.data.identityId === created.identity.id));
    // A replay sends it again with the same id: a consumer keeping the ids it saw processes it once.
    await next.webhooks.replay(id, first.json.data.position - 1);
    await until(() => hook.got.filter((g) => g.json.data.identityId === created.identity.id).length === 2);
    const ids = hook.got.filter((g) => g.json.data.identityId === created.identity.id).map((g) => g.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    await next.webhooks.remove(id);
    await next.stop();
    app.services.events.start();
  });

  describe('a host name that resolves differently at connect time (DNS rebinding)', () => {
    /** A service of its own whose endpoint host names resolve through `resolve`; the app's dispatcher steps aside. */
    async function serviceWith(resolve: Resolver, env: Record<string, string>): Promise<EventsService> {
      await app.services.events.stop();
      const service = createEventsService(
        app.services.database.db,
        loadConfig({ ...FAST_WEBHOOK_ENV, ...env, LOG_LEVEL: 'silent' }),
        createLogger('silent'),
        {
          resolve,
        },
      );
      extra.push(service);
      return service;
    }

    test('delivery connects to the address it checked, never to one a second lookup would give', async () => {
      const victim = await receiver();
      let connections = 0;
      victim.server.on('connection', () => {
        connections += 1;
      });
      const port = (victim.server.address() as AddressInfo).port;
      // Public on the first lookup of every pair, loopback on the second: a connection that resolved the name
      // again after the check would reach the loopback receiver.
      let lookups = 0;
      const rebinding: Resolver = async () => {
        lookups += 1;
        return [{ address: lookups % 2 === 1 ? '203.0.113.10' : '127.0.0.1', family: 4 }];
      };
      const service = await serviceWith(rebinding, { MPI_WEBHOOK_ALLOWED_NETWORKS: '', MPI_WEBHOOK_TIMEOUT_MS: '200' });
      try {
        const { endpoint } = await service.webhooks.register(
          { url: `https://rebind.test:${port}/hook`, eventTypes: ['IDENTITY_CREATED'] },
          'test',
        );
        service.start();
        await ingest(app, { source: 'ehr', localId: 'W-DNS-1', ...person(8811) });
        // Several rounds, each resolving once: some checks see the public address (and connect to it), the
        // others see loopback (and are refused before connecting).
        await until(() => lookups >= 4, 20_000);
        expect(connections).toBe(0);
        expect(victim.got).toEqual([]);
        await service.webhooks.remove(endpoint.id);
      } finally {
        await service.stop();
        victim.server.close();
        app.services.events.start();
      }
    });

    test('the pinned connection keeps the host name in the Host header', async () => {
      const target = await receiver();
      const port = (target.server.address() as AddressInfo).port;
      const service = await serviceWith(async () => [{ address: '127.0.0.1', family: 4 }], {});
      try {
        const { endpoint } = await service.webhooks.register(
          { url: `http://receiver.test:${port}/hook`, eventTypes: ['IDENTITY_CREATED'] },
          'test',
        );
        service.start();
        await ingest(app, { source: 'ehr', localId: 'W-DNS-2', ...person(8812) });
        const got = await until(() => target.got[0]);
        expect(got.headers.host).toBe(`receiver.test:${port}`);
        await service.webhooks.remove(endpoint.id);
      } finally {
        await service.stop();
        target.server.close();
        app.services.events.start();
      }
    });
  });

  test('a subscriber gets demographics masked by its own role, and only the events it filtered for', async () => {
    const db = app.services.database.db;
    const pipeline = (await createApiKey(db, 'events-pipeline', 'pipeline')).key;
    const steward = (await createApiKey(db, 'events-steward', 'steward')).key;
    const from = String(app.services.events.dispatcher.headPosition);
    const a = await ingest(app, { source: 'ehr', localId: 'W-4', ...person(804) });
    const b = await ingest(app, { source: 'lab', localId: 'W-5', ...person(805) });
    await app.services.steward.merge(a.identity.id, b.identity.id, { actor: 'test:steward', reason: 'same patient' });
    const selection = '{ id type position data identity { id golden { familyName birthDate } } }';
    // The deprecated flat `types` argument and the `filter` input choose the same events.
    const byArgument = `subscription ($from: String) { changeEvents(from: $from, types: [IDENTITIES_MERGED]) ${selection} }`;
    const byFilter = `subscription ($from: String) { changeEvents(from: $from, filter: { types: [IDENTITIES_MERGED] }) ${selection} }`;
    const first = async (key: string, query: string) => {
      const response = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables: { from } }),
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let text = '';
      while (!/data: \{"data"/.test(text)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`stream ended: ${text.slice(0, 300)}`);
        text += new TextDecoder().decode(chunk.value);
      }
      await reader.cancel();
      const line = text.split('\n').find((l) => l.startsWith('data: {"data"'))!;
      return (
        JSON.parse(line.slice(6)) as {
          data: { changeEvents: { type: string; data: Record<string, string>; identity: { id: string; golden: Record<string, string> } } };
        }
      ).data.changeEvents;
    };
    const masked = await first(pipeline, byArgument);
    expect(masked).toMatchObject({
      type: 'IDENTITIES_MERGED',
      data: { retiredId: b.identity.id, survivingId: a.identity.id },
      identity: { id: a.identity.id },
    });
    const full = await first(steward, byFilter);
    expect(full).toMatchObject({ type: 'IDENTITIES_MERGED', identity: { id: a.identity.id } });
    expect([person(804).familyName, person(805).familyName]).toContain(full.identity.golden.familyName);
    expect(masked.identity.golden.familyName).toBe(`${full.identity.golden.familyName![0]}.`);
    expect(masked.identity.golden.birthDate).toBe(full.identity.golden.birthDate!.slice(0, 4));
  });

  test('replaying an endpoint from a position sends every event after it again, then goes on with new ones', async () => {
    const own = await receiver();
    try {
      const { id } = await register({ url: own.url, eventTypes: ['IDENTITY_CREATED'] });
      const first = await ingest(app, { source: 'ehr', localId: 'RP-1', ...person(821) });
      const second = await ingest(app, { source: 'ehr', localId: 'RP-2', ...person(822) });
      const createdOf = (r: Received[]) => r.map((g) => g.json.data.identityId);
      await until(() => (createdOf(own.got).includes(second.identity.id) ? true : null));
      const firstEvent = own.got.find((g) => g.json.data.identityId === first.identity.id)!.json.data;
      // Delivery is idle and up to date; the replay moves the endpoint back behind both events.
      const replay = await app.gql(`mutation ($id: ID!, $from: String!) { replayWebhookEndpoint(id: $id, fromPosition: $from) { id } }`, {
        id,
        from: String(firstEvent.position - 1),
      });
      expect(replay.errors).toBeUndefined();
      const third = await ingest(app, { source: 'ehr', localId: 'RP-3', ...person(823) });
      const all = await until(() => (createdOf(own.got).includes(third.identity.id) ? createdOf(own.got) : null));
      expect(all).toEqual([first.identity.id, second.identity.id, first.identity.id, second.identity.id, third.identity.id]);
      await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
    } finally {
      own.server.close();
    }
  });

  test('delivers the events of one identity in the order they happened', async () => {
    const { id } = await register({ url: hook.url });
    const from = hook.got.length;
    const mark = app.services.events.dispatcher.headPosition;
    const a = await ingest(app, { source: 'ehr', localId: 'O-1', ...person(811) });
    await ingest(app, { source: 'lab', localId: 'O-2', ...person(811) });
    await ingest(app, { source: 'ehr', localId: 'O-1', ...person(811, { phone: '(617) 555-0199' }) });
    const b = await ingest(app, { source: 'lab', localId: 'O-3', ...person(812) });
    await app.services.steward.merge(a.identity.id, b.identity.id, { actor: 'test:steward', reason: 'same patient' });
    const head = await until(async () => {
      const events = await app.services.events.dispatcher.read(0, { types: ['IDENTITIES_MERGED'] }, 1000);
      return events.find((e) => e.identityId === b.identity.id)?.position;
    });
    // Chains of different identities go in parallel: wait for every event of both, not only the last one.
    const ids = [a.identity.id, b.identity.id];
    const wanted = (await app.services.events.dispatcher.read(mark, {}, 1000))
      .filter((e) => e.identityId !== null && ids.includes(e.identityId) && e.position <= head)
      .map((e) => e.position);
    const all = await until(() => {
      const got = hook.got.slice(from).filter((g) => g.headers['webhook-id'] !== undefined);
      const positions = new Set(got.map((g) => g.json.data.position));
      return wanted.every((p) => positions.has(p)) ? got : null;
    });
    for (const identity of [a.identity.id, b.identity.id]) {
      const positions = all.filter((g) => g.json.data.identityId === identity).map((g) => g.json.data.position);
      expect(positions.length).toBeGreaterThan(2);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
    await app.gql(`mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id });
  });

  test('a subscriber that leaves while waiting for events stops waiting at once', async () => {
    const dispatcher = app.services.events.dispatcher;
    const stream = dispatcher.follow({ types: ['MODEL_ACTIVATED'] }, dispatcher.headPosition);
    const pending = stream.next();
    await new Promise((r) => setTimeout(r, 100));
    const outcome = await Promise.race([
      stream.return!(undefined).then(() => 'ended'),
      new Promise((r) => setTimeout(() => r('still waiting after 1 s'), 1_000)),
    ]);
    expect(outcome).toBe('ended');
    await expect(pending).resolves.toMatchObject({ done: true });
  });
});

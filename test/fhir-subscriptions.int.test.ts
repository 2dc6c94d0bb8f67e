import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PATIENT_LINKS_TOPIC } from '../interop/index.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { validFhir, type Json } from './fhir-client.ts';
import { ingest, person, seedSources } from './fixtures.ts';
import { FAST_WEBHOOK_ENV, until } from './wait.ts';

const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';

interface Notification {
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  bundle: Json;
}

/** A real HTTP receiver on loopback keeping every notification it got. */
async function receiver(): Promise<{ url: string; got: Notification[]; server: Server }> {
  const got: Notification[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, contentType: req.headers['content-type'], bundle: JSON.parse(body) as Json });
      res.statusCode = 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, got, server };
}

function subscription(endpoint: string, extra: Record<string, unknown> = {}): Json {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'keep the order system on current enterprise ids',
    criteria: PATIENT_LINKS_TOPIC.url,
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', header: ['Authorization: Bearer order-system-token'] },
    ...extra,
  };
}

/** The notification-event parts of a notification's status Parameters. */
function eventOf(bundle: Json): { number: string; focus: string | undefined; topic: string } {
  const status = bundle.entry[0].resource as Json;
  const param = (name: string) => (status.parameter as Json[]).find((p) => p.name === name);
  const part = (name: string) => (param('notification-event')!.part as Json[]).find((p) => p.name === name);
  return {
    number: part('event-number')!.valueString,
    focus: part('focus')?.valueReference.reference,
    topic: param('topic')!.valueCanonical,
  };
}

describe(`FHIR topic-based subscriptions on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    app = await createTestApp({ env: FAST_WEBHOOK_ENV });
    await seedSources(app, ['ehr', 'lab']);
    hook = await receiver();
    app.services.events.start();
  });
  afterAll(async () => {
    await app?.services.events.stop();
    hook?.server.close();
    await app?.close();
  });

  const post = (body: unknown, key?: string) =>
    app.fetch(
      '/fhir/Subscription',
      { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) },
      key ? { key } : {},
    );

  test('creates, reads and deletes a rest-hook Subscription to the patient-links topic; only admins may', async () => {
    const created = await post(subscription(hook.url));
    expect(created.status).toBe(201);
    const resource = validFhir((await created.json()) as Json);
    expect(created.headers.get('location')).toBe(`http://localhost/fhir/Subscription/${resource.id}`);
    expect(resource).toMatchObject({
      status: 'active',
      criteria: PATIENT_LINKS_TOPIC.url,
      channel: { type: 'rest-hook', endpoint: hook.url },
    });
    // The channel headers may hold the subscriber's credentials: never shown again.
    expect(JSON.stringify(resource)).not.toContain('order-system-token');

    const read = await app.fetch(`/fhir/Subscription/${resource.id}`);
    expect(read.status).toBe(200);
    expect(validFhir((await read.json()) as Json)).toEqual(resource);

    const pipeline = (await createApiKey(app.services.database.db, 'fhir-sub-pipeline', 'pipeline')).key;
    expect((await post(subscription(hook.url), pipeline)).status).toBe(403);
    expect((await app.fetch(`/fhir/Subscription/${resource.id}`, {}, { key: pipeline })).status).toBe(403);

    expect((await app.fetch(`/fhir/Subscription/${resource.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await app.fetch(`/fhir/Subscription/${resource.id}`)).status).toBe(404);
    expect((await app.fetch(`/fhir/Subscription/${resource.id}`, { method: 'DELETE' })).status).toBe(404);
    const audit = await queryRows<{ action: string }>(
      app.services.database.db,
      sql`select action from audit_log where action like 'fhir:%subscri%' order by id`,
    );
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['fhir:subscribe', 'fhir:subscription-read', 'fhir:unsubscribe']));
  });

  test.each([
    ['another topic', { criteria: 'Patient?name=x' }, 'Subscription.criteria'],
    ['no reason', { reason: undefined }, 'Subscription.reason'],
    ['a websocket channel', { channel: { type: 'websocket', endpoint: 'http://127.0.0.1:9/x' } }, 'Subscription.channel.type'],
    ['a metadata address', { channel: { type: 'rest-hook', endpoint: 'http://169.254.169.254/latest' } }, 'Subscription.channel.endpoint'],
    [
      'a malformed header',
      { channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/x', header: ['no colon'] } },
      'Subscription.channel.header[0]',
    ],
    [
      'unknown payload content',
      {
        channel: {
          type: 'rest-hook',
          endpoint: 'http://127.0.0.1:9/x',
          _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'all' }] },
        },
      },
      'Subscription.channel.payload',
    ],
  ])('refuses a Subscription with %s, naming the element', async (_name, change, path) => {
    const response = await post({ ...subscription('http://127.0.0.1:9/x'), ...change });
    expect(response.status).toBe(422);
    const outcome = validFhir((await response.json()) as Json);
    expect(outcome.issue.map((i: Json) => i.expression?.[0])).toContain(path);
  });

  test('a merge notifies with a Backport notification Bundle carrying Patient.link replaced-by and replaces', async () => {
    const created = (await (await post(subscription(hook.url))).json()) as Json;
    const a = await ingest(app, { source: 'ehr', localId: 'FS-1', ...person(1101) });
    const b = await ingest(app, { source: 'lab', localId: 'FS-2', ...person(1102) });
    await app.services.steward.merge(a.identity.id, b.identity.id, { actor: 'test:steward', reason: 'same patient' });
    const mergeEvent = await until(async () =>
      (await app.services.events.dispatcher.read(0, { types: ['IDENTITIES_MERGED'] }, 100)).at(-1),
    );
    const merged = await until(() => hook.got.find((n) => eventOf(n.bundle).number === String(mergeEvent.position)));
    validFhir(merged.bundle);
    expect(merged.contentType).toBe('application/fhir+json');
    expect(merged.headers.authorization).toBe('Bearer order-system-token');
    expect(merged.bundle).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    const status = merged.bundle.entry[0].resource as Json;
    expect(status.resourceType).toBe('Parameters');
    expect(status.parameter).toEqual(
      expect.arrayContaining([
        { name: 'subscription', valueReference: { reference: `http://localhost/fhir/Subscription/${created.id}` } },
        { name: 'type', valueCode: 'event-notification' },
      ]),
    );
    const event = eventOf(merged.bundle);
    expect(event.topic).toBe(PATIENT_LINKS_TOPIC.url);
    expect(event.focus).toBe(`http://localhost/fhir/Patient/${a.identity.id}`);

    const patients = merged.bundle.entry.slice(1).map((e: Json) => e.resource as Json);
    const [survivor, retired] = patients;
    expect(survivor).toMatchObject({ id: a.identity.id, active: true });
    expect(survivor.link).toEqual(expect.arrayContaining([{ other: { reference: `Patient/${b.identity.id}` }, type: 'replaces' }]));
    expect(retired).toMatchObject({
      id: b.identity.id,
      active: false,
      link: [{ other: { reference: `Patient/${a.identity.id}` }, type: 'replaced-by' }],
    });
    // No demographics unless the subscription asked for them: identifiers and links only.
    for (const p of patients) expect(p).not.toHaveProperty('name');
    expect(JSON.stringify(merged.bundle)).not.toContain(String(person(1101).familyName));
    expect(survivor.identifier).toEqual(expect.arrayContaining([expect.objectContaining({ value: 'FS-1' })]));
    await app.fetch(`/fhir/Subscription/${created.id}`, { method: 'DELETE' });
  });

  test('a subscription asking for demographics gets them masked by its role; id-only carries no Patients', async () => {
    const masked = await receiver();
    const ids = await receiver();
    try {
      const role = { extension: [{ url: 'urn:mpi:fhir:subscription-demographics-role', valueCode: 'pipeline' }] };
      const withRole = (await (await post(subscription(masked.url, role))).json()) as Json;
      const idOnly = subscription(ids.url);
      idOnly.channel._payload = { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'id-only' }] };
      const idOnlyCreated = (await (await post(idOnly)).json()) as Json;
      expect(idOnlyCreated.channel._payload.extension[0].valueCode).toBe('id-only');

      const c = await ingest(app, { source: 'ehr', localId: 'FS-3', ...person(1103) });
      const linked = await until(() => masked.got.find((n) => eventOf(n.bundle).focus?.endsWith(c.identity.id)));
      validFhir(linked.bundle);
      const patient = linked.bundle.entry[1].resource as Json;
      const family = String(person(1103).familyName);
      expect(patient.name[0].family).toBe(`${family[0]}.`);
      expect(JSON.stringify(linked.bundle)).not.toContain(family);
      const audited = await queryRows<{ n: number }>(
        app.services.database.db,
        sql`select count(*)::int as n from audit_log where action = 'fhir:notify' and details->>'subscription' = ${withRole.id}`,
      );
      expect(audited[0]!.n).toBeGreaterThan(0);

      const bare = await until(() => ids.got.find((n) => eventOf(n.bundle).focus?.endsWith(c.identity.id)));
      validFhir(bare.bundle);
      expect(bare.bundle.entry).toHaveLength(1);
    } finally {
      masked.server.close();
      ids.server.close();
    }
  });
});

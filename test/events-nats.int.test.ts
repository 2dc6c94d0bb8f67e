import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { POSITION_HEADER, readEvents, subjectOf, type ChangeEvent } from '../events/index.ts';
import { consumerPosition, saveConsumerPosition } from '../events/store.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';
import { deleteTestStreams, TEST_NATS_URL } from './nats.ts';
import { until } from './wait.ts';

// The real NATS server of the machine (CI runs one too); each run publishes under its own subject prefix, so runs
// on one server never see each other's streams.
const NATS_URL = TEST_NATS_URL;
const PREFIX = `t${randomBytes(5).toString('hex')}`;
const ENV = { MPI_NATS_URL: NATS_URL, MPI_NATS_SUBJECT_PREFIX: PREFIX, MPI_EVENTS_POLL_MS: '20', MPI_EVENTS_LEASE_MS: '1000' };
const run = promisify(execFile);

interface Stored {
  seq: number;
  subject: string;
  msgId: string | undefined;
  position: number;
  event: { id: string; type: string; position: number; identityId: string | null };
}

describe(`change events on NATS JetStream (${TEST_DB_KIND})`, () => {
  let app: TestApp;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    jsm = await nc.jetstreamManager();
    app = await createTestApp({ env: ENV });
    await seedSources(app, ['ehr', 'lab']);
    app.services.events.start();
  });
  afterAll(async () => {
    await app?.services.events.stop();
    await app?.close();
    await deleteTestStreams(PREFIX);
    await nc?.close();
  });

  /** Every message of a family's stream, in stream order. */
  async function stored(family: string): Promise<Stored[]> {
    const stream = `${PREFIX.toUpperCase()}_${family.toUpperCase()}`;
    const { state } = await jsm.streams.info(stream);
    const out: Stored[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      out.push({
        seq,
        subject: m.subject,
        msgId: m.header.get('Nats-Msg-Id'),
        position: Number(m.header.get(POSITION_HEADER)),
        event: m.json(),
      });
    }
    return out;
  }
  const published = () => readEvents(app.services.database.db, 0, {}, 10_000);
  const nats = () => app.services.events.nats!;

  test('publishes each event to its family stream, on its subject, with the event id as message id, in position order', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'N-1', ...person(901) });
    const b = await ingest(app, { source: 'lab', localId: 'N-2', ...person(902) });
    await app.services.steward.merge(a.identity.id, b.identity.id, { actor: 'test:steward', reason: 'same patient' });
    const events = await until(async () => {
      const all = await published();
      return all.some((e) => e.type === 'IDENTITIES_MERGED') ? all : null;
    });
    const head = events.at(-1)!.position;
    await until(async () => (await consumerPosition(app.services.database.db, nats().consumerName)) >= head);

    const byFamily = new Map<string, ChangeEvent[]>();
    for (const e of events) {
      const family = subjectOf(e.type, PREFIX).split('.')[1]!;
      byFamily.set(family, [...(byFamily.get(family) ?? []), e]);
    }
    for (const [family, expected] of byFamily) {
      const messages = await stored(family);
      expect(messages.map((m) => m.msgId)).toEqual(expected.map((e) => e.id));
      expect(messages.map((m) => m.position)).toEqual(expected.map((e) => e.position));
      expect(messages.map((m) => m.subject)).toEqual(expected.map((e) => subjectOf(e.type, PREFIX)));
      expect(messages.map((m) => m.event.id)).toEqual(expected.map((e) => e.id));
    }
    const merged = (await stored('identity')).find((m) => m.event.type === 'IDENTITIES_MERGED')!;
    expect(merged.subject).toBe(`${PREFIX}.identity.identities_merged`);
    expect(merged.event).toMatchObject({ identityId: b.identity.id, data: { retiredId: b.identity.id, survivingId: a.identity.id } });
    // Ids only on the wire: no demographic value.
    expect(JSON.stringify(await stored('record'))).not.toContain(String(person(901).familyName));
  });

  test('after a crash between publishing and saving the position, the republished messages are dropped as duplicates', async () => {
    const before = await stored('identity');
    const db = app.services.database.db;
    await app.services.events.stop();
    // The server died after JetStream acknowledged but before the position was saved: it restarts from 0.
    await saveConsumerPosition(db, nats().consumerName, 0);
    const created = await ingest(app, { source: 'ehr', localId: 'N-3', ...person(903) });
    const duplicatesBefore = nats().duplicates;
    app.services.events.start();
    const head = await until(async () => {
      const all = await published();
      return all.find((e) => e.identityId === created.identity.id && e.type === 'GOLDEN_RECORD_CHANGED')?.position;
    });
    await until(async () => (await consumerPosition(db, nats().consumerName)) >= head);
    const after = await stored('identity');
    // The old messages once each, then only the events of the new record.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).every((m) => m.event.identityId === created.identity.id)).toBe(true);
    expect(new Set(after.map((m) => m.msgId)).size).toBe(after.length);
    expect(nats().duplicates - duplicatesBefore).toBeGreaterThanOrEqual(before.length);
  });

  test('a consumer resumes from an event position, and the documented example consumer prints exactly what followed it', async () => {
    const identity = await stored('identity');
    const mark = identity[2]!.position;
    const expected = identity.filter((m) => m.position > mark);
    const { stdout } = await run(
      process.execPath,
      [join(import.meta.dirname, '../examples/nats-consumer.mjs'), '--family', 'identity', '--from', String(mark), '--once'],
      { env: { ...process.env, MPI_NATS_URL: NATS_URL, MPI_NATS_SUBJECT_PREFIX: PREFIX }, timeout: 20_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { position: number; id: string });
    expect(lines.map((l) => l.id)).toEqual(expected.map((m) => m.msgId));
    expect(lines.map((l) => l.position)).toEqual(expected.map((m) => m.position));

    // A durable consumer remembers what it acknowledged: a second run prints only what is new since.
    const durable = ['--family', 'identity', '--durable', 'orders', '--once'];
    const script = join(import.meta.dirname, '../examples/nats-consumer.mjs');
    const env = { ...process.env, MPI_NATS_URL: NATS_URL, MPI_NATS_SUBJECT_PREFIX: PREFIX };
    const firstRun = (await run(process.execPath, [script, ...durable], { env, timeout: 20_000 })).stdout.trim().split('\n');
    expect(firstRun).toHaveLength(identity.length);
    const created = await ingest(app, { source: 'lab', localId: 'N-4', ...person(904) });
    await until(async () =>
      (await stored('identity')).some((m) => m.event.identityId === created.identity.id && m.event.type === 'GOLDEN_RECORD_CHANGED'),
    );
    const secondRun = (await run(process.execPath, [script, ...durable], { env, timeout: 20_000 })).stdout.trim().split('\n');
    expect(secondRun.map((l) => (JSON.parse(l) as { identityId: string }).identityId)).toEqual([created.identity.id, created.identity.id]);
  });
});

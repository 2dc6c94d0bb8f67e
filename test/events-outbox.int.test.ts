import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { count, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { createEventsService, readEvents, type ChangeEvent } from '../events/index.ts';
import type { Executor } from '../platform/db/client.ts';
import { withTransaction } from '../platform/db/retry.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { publishPending } from '../events/store.ts';
import { changeEvents } from '../platform/db/schema/index.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { ingest, person, seedSources } from './fixtures.ts';

describe(`change event outbox on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  const db = () => app.services.database.db;
  const unpublished = async () =>
    (
      await db()
        .select({ n: count() })
        .from(changeEvents)
        .where(sql`position is null`)
    )[0]!.n;
  /** Publishes what is pending and returns the events after `from`. */
  async function published(from: number): Promise<ChangeEvent[]> {
    while ((await publishPending(db(), 1000)) > 0) {
      /* all */
    }
    return readEvents(db(), from, {}, 1000);
  }
  const head = async () => (await published(0)).at(-1)?.position ?? 0;

  test('an ingest writes its events in its own transaction, and they roll back with it', async () => {
    const before = await head();
    await expect(
      app.services.ingest.ingest(
        { source: 'ehr', localId: 'RB-1', ...person(501) } as never,
        { actor: 'test:rollback' },
        {
          beforeCommit: async () => {
            throw new Error('abort the change');
          },
        },
      ),
    ).rejects.toThrow('abort the change');
    expect(await unpublished()).toBe(0);
    expect(await published(before)).toEqual([]);

    const created = await ingest(app, { source: 'ehr', localId: 'RB-1', ...person(501) });
    const events = await published(before);
    expect(events.map((e) => e.type)).toEqual(['IDENTITY_CREATED', 'RECORD_LINKED', 'GOLDEN_RECORD_CHANGED']);
    expect(events.every((e) => e.identityId === created.identity.id)).toBe(true);
    expect(events[1]).toMatchObject({ recordId: created.record.id, source: 'ehr', localId: 'RB-1', actor: 'local:local-admin' });
    expect(events[2]!.data.fields).toEqual(expect.arrayContaining(['givenName', 'familyName', 'birthDate']));
    expect(events[2]!.versions).toMatchObject({ identity: created.identity.version, policy: expect.any(Number) });
    // Ids only: no demographic value anywhere in the stored event.
    expect(JSON.stringify(events)).not.toContain(String(person(501).familyName));
    expect(events.map((e) => e.id)).toEqual([...new Set(events.map((e) => e.id))]);
  });

  test('an ingest batch writes all its change events into the outbox with one statement, in order per identity', async () => {
    const before = await head();
    // The service's transactions, with every statement that inserts outbox rows noted.
    const dialect = new PgDialect();
    const outboxWrites: string[] = [];
    const service = app.services.ingest;
    const noting = (tx: Executor) =>
      new Proxy(tx, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          if (property !== 'execute') return value.bind(target);
          return (query: SQL) => {
            const text = dialect.sqlToQuery(query).sql;
            if (/insert into "change_events"/.test(text)) outboxWrites.push(text);
            return (value as (q: SQL) => unknown).call(target, query);
          };
        },
      });
    const original = service.transaction.bind(service);
    service.transaction = (work) => withTransaction(db(), (tx) => work(noting(tx)));
    try {
      const records = [0, 1, 2].map((i) => ({ source: 'ehr', localId: `ONE-${i}`, ...person(520 + i) }));
      await service.ingestMany([...records, { source: 'lab', localId: 'ONE-3', ...person(520) }] as never, { actor: 'test:batch' });
    } finally {
      service.transaction = original;
    }
    expect(outboxWrites.length).toBe(1);
    const events = await published(before);
    expect(events.filter((e) => e.type === 'IDENTITY_CREATED').length).toBe(3);
    for (const identity of new Set(events.map((e) => e.identityId))) {
      const types = events.filter((e) => e.identityId === identity).map((e) => e.type);
      expect(types[0]).toBe('IDENTITY_CREATED');
      expect(types.at(-1)).toBe('GOLDEN_RECORD_CHANGED');
    }
  });

  test('a steward merge records the retired and surviving ids, and replay from a position returns exactly what followed', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'M-1', ...person(601) });
    const b = await ingest(app, { source: 'lab', localId: 'M-2', ...person(602) });
    const mark = await head();
    await app.services.steward.merge(a.identity.id, b.identity.id, { actor: 'test:steward', reason: 'same patient per chart' });
    await app.services.steward.markNotDuplicate(
      a.identity.id,
      (await ingest(app, { source: 'ehr', localId: 'M-3', ...person(603) })).identity.id,
      { actor: 'test:steward', reason: 'twins' },
    );
    const missed = await published(mark);
    expect(missed.map((e) => e.type)).toEqual([
      'IDENTITIES_MERGED',
      'GOLDEN_RECORD_CHANGED',
      'GOLDEN_RECORD_CHANGED',
      'IDENTITY_CREATED',
      'RECORD_LINKED',
      'GOLDEN_RECORD_CHANGED',
      'NOT_DUPLICATE_MARKED',
    ]);
    expect(missed[0]).toMatchObject({
      actor: 'test:steward',
      identityId: b.identity.id,
      data: { retiredId: b.identity.id, survivingId: a.identity.id },
    });
    expect(missed.map((e) => e.position)).toEqual(missed.map((_, i) => mark + i + 1));
    // From the middle: the rest, in order, nothing else.
    const third = missed[2]!.position;
    expect((await readEvents(db(), third, {}, 100)).map((e) => e.id)).toEqual(missed.slice(3).map((e) => e.id));
    expect((await readEvents(db(), mark, { types: ['IDENTITIES_MERGED'] }, 100)).map((e) => e.id)).toEqual([missed[0]!.id]);
  });

  test('unlinking a record into a new identity is a split with its from and to', async () => {
    const a = await ingest(app, { source: 'ehr', localId: 'S-1', ...person(701) });
    const b = await ingest(app, { source: 'lab', localId: 'S-2', ...person(701) });
    expect(b.identity.id).toBe(a.identity.id);
    const mark = await head();
    const moved = await app.services.steward.unlink(b.record.id, null, { actor: 'test:steward', reason: 'registration error' });
    const events = await published(mark);
    expect(events[0]).toMatchObject({
      type: 'IDENTITY_SPLIT',
      recordId: b.record.id,
      source: 'lab',
      localId: 'S-2',
      data: { fromIdentityId: a.identity.id, toIdentityId: moved.to },
    });
    await app.services.ingest.deleteRecord('lab', 'S-2', { actor: 'test:pipeline' });
    expect((await published(events.at(-1)!.position)).map((e) => e.type)).toEqual(['RECORD_DELETED', 'GOLDEN_RECORD_CHANGED']);
  });

  test('activating a model is an event', async () => {
    const mark = await head();
    const spec = { ...(await app.services.models.active()), version: `events-test-${TEST_DB_KIND}` };
    await app.services.models.import(spec, 'test:admin', true);
    expect(await published(mark)).toEqual([
      expect.objectContaining({ type: 'MODEL_ACTIVATED', actor: 'test:admin', versions: { model: spec.version } }),
    ]);
  });

  test('a commit that wrote events starts a publishing round at once, without waiting for the poll', async () => {
    const mark = await head();
    const service = createEventsService(db(), loadConfig({ MPI_EVENTS_POLL_MS: '60000', LOG_LEVEL: 'silent' }), createLogger('silent'), {
      listen: (channel, onNotify) => app.services.database.listen(channel, onNotify),
    });
    service.start();
    try {
      // The first round takes the lease; the next one would come a minute later, were it not for the notice.
      while (!service.dispatcher.isLeader || service.dispatcher.headPosition < mark) await new Promise((r) => setTimeout(r, 10));
      const created = await ingest(app, { source: 'ehr', localId: 'NT-1', ...person(901) });
      while (service.dispatcher.headPosition === mark) await service.dispatcher.waitForEvents(mark, 30_000);
      const events = await readEvents(db(), mark, {}, 1000);
      expect(events.map((e) => e.type)).toEqual(['IDENTITY_CREATED', 'RECORD_LINKED', 'GOLDEN_RECORD_CHANGED']);
      expect(events.every((e) => e.identityId === created.identity.id)).toBe(true);
    } finally {
      await service.stop();
    }
  });

  test.each([
    [30, ['recent'], 'keeps events younger than the retention and deletes older ones'],
    [0, ['old', 'recent'], 'keeps every event when the retention is 0'],
  ])('with MPI_EVENTS_RETENTION_DAYS=%i the dispatcher %s', async (days, kept, _name) => {
    const mark = await head();
    await ingest(app, { source: 'ehr', localId: `RT-${days}-1`, ...person(801 + days) });
    await ingest(app, { source: 'lab', localId: `RT-${days}-2`, ...person(851 + days) });
    const events = await published(mark);
    const [old, recent] = [events.filter((e) => e.localId === `RT-${days}-1`), events.filter((e) => e.localId === `RT-${days}-2`)];
    const oldIds = events.filter((e) => e.position <= old.at(-1)!.position).map((e) => e.id);
    await db().execute(sql`update change_events set occurred_at = now() - interval '31 days' where id = any(${sql.param(oldIds)}::uuid[])`);
    const service = createEventsService(
      db(),
      loadConfig({ MPI_EVENTS_RETENTION_DAYS: String(days), LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    await service.dispatcher.tick();
    await service.stop();
    const left = new Set((await readEvents(db(), mark, {}, 1000)).map((e) => e.id));
    const groups = { old: oldIds, recent: recent.map((e) => e.id) };
    for (const [name, ids] of Object.entries(groups)) expect(ids.every((id) => left.has(id))).toBe(kept.includes(name));
  });
});

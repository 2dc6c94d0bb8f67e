import { randomBytes } from 'node:crypto';
import { connect, type JetStreamClient, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ingestNames, INGEST_CONSUMER, NatsIngestConsumer, type NatsIngestOptions } from '../api/nats-ingest.ts';
import { createServices, type Services } from '../api/services.ts';
import { loadConfig } from '../platform/config.ts';
import { queryRows } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';
import { TEST_NATS_URL } from './nats.ts';
import { adtUpsert, msh, pid } from '../interop/testing/hl7-samples.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`ingest from NATS JetStream on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const consumers: NatsIngestConsumer[] = [];

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
    nc = await connect({ servers: TEST_NATS_URL });
    js = nc.jetstream();
  });
  afterAll(async () => {
    for (const c of consumers) await c.stop();
    if (nc) {
      const jsm = await nc.jetstreamManager();
      for (const prefix of prefixes) {
        const names = ingestNames(prefix);
        await jsm.streams.delete(names.stream).catch(() => undefined);
        await jsm.streams.delete(names.deadStream).catch(() => undefined);
      }
      await nc.close();
    }
    await app?.close();
  });

  const prefixes: string[] = [];
  function options(overrides: Partial<NatsIngestOptions> = {}): NatsIngestOptions {
    const prefix = prefixes.at(-1)!;
    return { url: TEST_NATS_URL, prefix, batchSize: 25, maxDeliver: 3, actor: 'nats-test', ...overrides };
  }
  /** A second replica: its own services (and consumer) over the same database. */
  function replica(): Services {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', MPI_REPLICA_ID: 'second' });
    return createServices(config, app.services.database, createLogger('silent'));
  }
  function consume(services: Services, overrides: Partial<NatsIngestOptions> = {}): NatsIngestConsumer {
    const consumer = new NatsIngestConsumer(services, options(overrides));
    consumers.push(consumer);
    consumer.start();
    return consumer;
  }
  /** Resolves once the durable consumer of the current prefix exists (the first consumer to start creates it). */
  const consumerReady = () =>
    until(async () =>
      (await nc.jetstreamManager()).consumers.info(ingestNames(prefixes.at(-1)!).stream, INGEST_CONSUMER).then(
        () => true,
        () => false,
      ),
    );
  const publish = (source: string, body: unknown, prefix = prefixes.at(-1)!) =>
    js.publish(ingestNames(prefix).subject(source), typeof body === 'string' ? body : JSON.stringify(body));
  const count = async (query: ReturnType<typeof sql>) => Number((await queryRows<{ n: number }>(app.services.database.db, query))[0]!.n);
  async function until(check: () => Promise<boolean> | boolean, ms = 90_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await sleep(100);
    }
  }
  async function deadLetters(prefix: string): Promise<Array<{ code: string; field: string | null; subject: string; headers: string }>> {
    const jsm = await nc.jetstreamManager();
    const names = ingestNames(prefix);
    const info = await jsm.streams.info(names.deadStream);
    const found = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
      const msg = await jsm.streams.getMessage(names.deadStream, { seq });
      found.push({
        code: msg.header.get('Mpi-Error-Code'),
        field: msg.header.get('Mpi-Error-Field') || null,
        subject: msg.subject,
        headers: msg.header
          .keys()
          .map((key) => `${key}: ${msg.header.values(key).join(', ')}`)
          .join('\n'),
      });
    }
    return found;
  }

  test('two replicas ingest every record once, dead-letter bad ones with a typed reason, and leave the queue empty', async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const prefix = prefixes.at(-1)!;
    const a = consume(app.services);
    await consumerReady();
    const b = consume(replica());
    const total = 200;
    for (let i = 0; i < total; i += 1) await publish('ehr', { localId: `NATS-${i}`, ...person(20_000 + i) });
    await publish('ehr', { localId: 'NATS-5', ...person(20_005) }); // a resend: stored once, UNCHANGED
    await publish('ehr', '{ not json');
    await publish('ehr', { localId: 'BAD-DATE', ...person(1), birthDate: '1990-13-45' });
    await publish('nosuch', { localId: 'X-1', ...person(2) });

    await until(() => a.counts.ingested + b.counts.ingested + a.counts.deadLettered + b.counts.deadLettered >= total + 4);
    expect(
      await count(sql`select count(*)::int as n from source_records r join sources s on s.id = r.source_id
      where s.code = 'ehr' and r.local_id like 'NATS-%'`),
    ).toBe(total);
    expect(
      await count(sql`select count(distinct l.identity_id)::int as n from links l join source_records r on r.id = l.record_id
      where r.local_id like 'NATS-%'`),
    ).toBe(total);
    expect(await count(sql`select count(*)::int as n from audit_log where action = 'nats:ingest'`)).toBeGreaterThan(0);

    const dead = await deadLetters(prefix);
    expect(dead.map((d) => d.code).sort()).toEqual(['INVALID_JSON', 'UNKNOWN_SOURCE', 'VALIDATION_FAILED']);
    expect(dead.find((d) => d.code === 'VALIDATION_FAILED')!.field).toBe('record.birthDate');
    expect(dead.find((d) => d.code === 'UNKNOWN_SOURCE')!.subject).toBe(`${prefix}.deadletter.ingest.nosuch`);
    // The reasons name fields, never the patient data of the refused records (one- and two-letter codes such as sex
    // and state would match any text, so they are left out).
    const refused = [{ ...person(1), birthDate: '1990-13-45' }, person(2)].flatMap((r) =>
      Object.values(r).filter((v): v is string => typeof v === 'string' && v.length > 2),
    );
    for (const d of dead) for (const value of refused) expect(d.headers).not.toContain(value);
    // Work queue: acknowledged messages are gone from the stream.
    await until(async () => (await (await nc.jetstreamManager()).streams.info(ingestNames(prefix).stream)).state.messages === 0, 10_000);
  }, 180_000);

  test("takes FHIR Patients: the identifier of the source's system is the local id; a Patient that names no record is dead-lettered", async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const prefix = prefixes.at(-1)!;
    const system = `urn:oid:2.16.840.1.113883.3.999.${randomBytes(2).readUInt16BE()}`;
    await app.services.catalog.registerSource({ code: 'fhirfeed', name: 'FHIR feed', system });
    const consumer = consume(app.services);
    await consumerReady();
    const p = person(60_001) as Record<string, string>;
    const patient = (identifier: unknown[], extra: Record<string, unknown> = {}) => ({
      resourceType: 'Patient',
      identifier,
      name: [{ family: p.familyName, given: [p.givenName] }],
      gender: p.sex === 'F' ? 'female' : 'male',
      birthDate: p.birthDate,
      address: [{ line: [p.addressLine1], city: p.city, postalCode: p.postalCode }],
      ...extra,
    });
    await publish(
      'fhirfeed',
      patient([
        { system: 'urn:other', value: 'O-1' },
        { system, value: ' F-1 ' },
      ]),
    );
    // The same person as canonical JSON from another source: one identity.
    await publish('ehr', { localId: 'FHIR-TWIN', ...p });
    await publish('fhirfeed', patient([{ system: 'urn:other', value: 'O-2' }]));
    await publish('fhirfeed', patient([{ system, value: 'F-2' }], { birthDate: '1980-02' }));
    await publish(
      'fhirfeed',
      patient([{ system, value: 'F-3' }], {
        meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED' }] },
      }),
    );
    await publish('fhirfeed', { resourceType: 'Observation', status: 'final' });
    await publish('fhirfeed', patient([{ system, value: 'F-5' }], { nickname: 'Bo' }));
    await publish('lab', patient([{ system, value: 'F-4' }]));
    // Nested thousands of levels deep: checking it overflowed the stack, failing (and redelivering) the whole batch.
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    await publish('fhirfeed', JSON.stringify(patient([{ system, value: 'F-6' }])).replace(/}$/, `,"extension":${deep}}`));

    await until(() => consumer.counts.ingested + consumer.counts.deadLettered >= 9);
    expect(consumer.counts.ingested).toBe(2);
    const stored = await app.services.ingest.resolve('fhirfeed', 'F-1');
    expect(stored).not.toBeNull();
    expect(stored!.id).toBe((await app.services.ingest.resolve('ehr', 'FHIR-TWIN'))!.id);
    const [row] = await queryRows<{ family_name: string; birth_date: string; city: string }>(
      app.services.database.db,
      sql`select r.family_name, r.birth_date::text as birth_date, r.city from source_records r join sources s on s.id = r.source_id
      where s.code = 'fhirfeed' and r.local_id = 'F-1'`,
    );
    expect(row).toEqual({ family_name: p.familyName, birth_date: p.birthDate, city: p.city });
    const dead = await deadLetters(prefix);
    expect(dead.map((d) => [d.code, d.field]).sort()).toEqual(
      [
        ['VALIDATION_FAILED', 'Patient.birthDate'],
        ['VALIDATION_FAILED', 'Patient.identifier'],
        ['VALIDATION_FAILED', 'Patient.identifier'],
        ['VALIDATION_FAILED', 'Patient.meta.security'],
        ['VALIDATION_FAILED', 'Patient.nickname'],
        ['VALIDATION_FAILED', `Patient.extension${'[0]'.repeat(63)}`],
        ['VALIDATION_FAILED', 'resourceType'],
      ].sort(),
    );
  }, 120_000);

  test('takes HL7 v2 ADT messages as the MLLP listener does, for the source the subject names only', async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const prefix = prefixes.at(-1)!;
    const actor = `nats-hl7-${randomBytes(3).toString('hex')}`;
    const consumer = consume(app.services, { actor });
    await consumerReady();
    const sample = (seed: number, mrn: string, authority: string, overrides: Record<string, string> = {}) => {
      const p = person(seed) as Record<string, string>;
      return {
        mrn,
        authority,
        family: p.familyName!,
        given: p.givenName!,
        birth: p.birthDate!.replace(/-/g, ''),
        sex: p.sex!,
        ...overrides,
      };
    };
    await publish('ehr', adtUpsert('A04', sample(61_001, 'H7-1', 'ehr'), 'C-H7-1'));
    // Another source's patient on this source's subject, an impossible birth date, a message type not taken.
    await publish('ehr', adtUpsert('A04', sample(61_002, 'H7-2', 'lab'), 'C-H7-2'));
    await publish('ehr', adtUpsert('A04', sample(61_003, 'H7-3', 'ehr', { birth: '19800230' }), 'C-H7-3'));
    await publish('ehr', [msh('ORU^R01^ORU_R01', 'C-H7-4'), pid(sample(61_004, 'H7-4', 'ehr'))].join('\r'));

    // Messages about one patient keep their order while others run beside them: the last update wins.
    for (let i = 0; i < 6; i += 1) await publish('ehr', adtUpsert('A04', sample(61_100 + i, `H7-O-${i}`, 'ehr'), `C-H7-O-${i}`));
    for (let v = 1; v <= 5; v += 1) {
      await publish('ehr', adtUpsert('A08', sample(61_001, 'H7-1', 'ehr', { family: `Ordway${'x'.repeat(v)}` }), `C-H7-1-${v}`));
    }

    await until(() => consumer.counts.ingested + consumer.counts.deadLettered >= 15);
    expect(consumer.counts.ingested).toBe(12);
    const [latest] = await queryRows<{ family_name: string }>(
      app.services.database.db,
      sql`select r.family_name from source_records r join sources s on s.id = r.source_id where s.code = 'ehr' and r.local_id = 'H7-1'`,
    );
    expect(latest!.family_name).toBe('Ordwayxxxxx');
    expect(await app.services.ingest.resolve('ehr', 'H7-1')).not.toBeNull();
    for (const [source, id] of [
      ['lab', 'H7-2'],
      ['ehr', 'H7-3'],
      ['ehr', 'H7-4'],
    ] as const) {
      expect(await app.services.ingest.resolve(source, id)).toBeNull();
    }
    const dead = await deadLetters(prefix);
    expect(dead.map((d) => d.code)).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED']);
    const reasons = dead.map((d) => /Mpi-Error: (.*)/.exec(d.headers)![1]!).sort();
    expect(reasons[0]).toMatch(/^102 .*PID-7/);
    expect(reasons[1]).toMatch(/^200 /);
    expect(reasons[2]).toBe('an assigning authority names another source than the subject');
    // One audit entry per message handled, as the consumer's principal.
    const audited = await queryRows<{ action: string; outcome: string }>(
      app.services.database.db,
      sql`select action, outcome from audit_log where actor = ${`local:${actor}`} order by id`,
    );
    expect(audited.filter((a) => a.outcome === 'SUCCESS').map((a) => a.action)).toEqual(Array(12).fill('hl7:ingest'));
  }, 120_000);

  test('a message the service fails to read is delivered again on its own and dead-lettered after the last try; the rest of its batch is ingested', async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const prefix = prefixes.at(-1)!;
    const first = consume(app.services);
    await consumerReady();
    await first.stop();
    // A replica whose check of one record fails as a defect would (not a validation error).
    const services = replica();
    const check = services.ingest.prepare.bind(services.ingest);
    services.ingest.prepare = (input, ...rest) => {
      if (input.localId === 'READ-FAILS') throw new TypeError('a defect');
      return check(input, ...rest);
    };
    await publish('ehr', { localId: 'READ-OK-1', ...person(63_001) });
    await publish('ehr', { localId: 'READ-FAILS', ...person(63_002) });
    await publish('ehr', { localId: 'READ-OK-2', ...person(63_003) });
    const consumer = consume(services);
    await until(() => consumer.counts.ingested >= 2 && consumer.counts.deadLettered >= 1);
    expect(await app.services.ingest.resolve('ehr', 'READ-OK-1')).not.toBeNull();
    expect(await app.services.ingest.resolve('ehr', 'READ-OK-2')).not.toBeNull();
    expect(await app.services.ingest.resolve('ehr', 'READ-FAILS')).toBeNull();
    const dead = await deadLetters(prefix);
    expect(dead.map((d) => d.code)).toEqual(['TOO_MANY_DELIVERIES']);
    expect(consumer.counts.ingested).toBe(2);
  }, 120_000);

  test('applies one pulled batch in the order it came when it mixes canonical JSON and HL7 for one patient', async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const first = consume(app.services);
    await consumerReady();
    // Queued while no replica consumes, so the next replica pulls all of them in one batch.
    await first.stop();
    const p = person(62_001) as Record<string, string>;
    const hl7 = (family: string, controlId: string) =>
      adtUpsert(
        'A08',
        { mrn: 'MIX-1', authority: 'ehr', family, given: p.givenName!, birth: p.birthDate!.replace(/-/g, ''), sex: p.sex! },
        controlId,
      );
    await publish('ehr', { localId: 'MIX-1', ...p, familyName: 'Mixona' });
    await publish('ehr', hl7('Mixonb', 'C-MIX-2'));
    await publish('ehr', { localId: 'MIX-1', ...p, familyName: 'Mixonc' });
    await publish('ehr', hl7('Mixond', 'C-MIX-4'));
    await publish('ehr', { localId: 'MIX-1', ...p, familyName: 'Mixone' });
    const second = consume(app.services);
    await until(() => second.counts.ingested >= 5);
    expect(second.counts.batches).toBe(1);
    const [stored] = await queryRows<{ family_name: string }>(
      app.services.database.db,
      sql`select r.family_name from source_records r join sources s on s.id = r.source_id where s.code = 'ehr' and r.local_id = 'MIX-1'`,
    );
    expect(stored!.family_name).toBe('Mixone');
  }, 120_000);

  test.skipIf(TEST_DB_KIND !== 'postgres')(
    'gives way to online ingest: small transactions while online records come in, full batches once they stop',
    async () => {
      prefixes.push(`t${randomBytes(4).toString('hex')}`);
      const actor = `nats-give-way-${randomBytes(3).toString('hex')}`;
      const batches = async () =>
        (
          await queryRows<{ records: number }>(
            app.services.database.db,
            sql`select (details->>'records')::int as records from audit_log where actor = ${`local:${actor}`} order by id`,
          )
        ).map((r) => r.records);
      const consumer = consume(app.services, { actor, batchSize: 40, giveWayBatch: 4, giveWayMs: 1_500 });
      await consumerReady();
      /** Publishes records `from..to-1`, waits until they are ingested, and returns the transactions' sizes. */
      const ingestRange = async (from: number, to: number) => {
        const seen = (await batches()).length;
        for (let i = from; i < to; i += 1) await publish('ehr', { localId: `GW-${i}`, ...person(30_000 + i) });
        await until(() => consumer.counts.ingested >= to);
        return (await batches()).slice(seen);
      };
      // Online callers: one record at a time, every few milliseconds, until stopped.
      let online = true;
      let calls = 0;
      const caller = (async () => {
        for (let i = 0; online; i += 1) {
          await app.services.ingest.ingest(
            { source: 'lab', localId: `ONLINE-${i}`, ...person(50_000 + i) },
            { actor: 'local:online-test' },
          );
          calls += 1;
          await sleep(5);
        }
      })();
      await until(() => calls > 0);
      // The first batch holds the ingest lock exclusively; the online calls queued behind it are what it sees.
      await ingestRange(0, 40);
      expect(consumer.counts.givingWay).toBeGreaterThan(0);
      const whileOnline = await ingestRange(40, 80);
      expect(whileOnline.reduce((a, b) => a + b, 0)).toBe(40);
      expect(Math.max(...whileOnline)).toBeLessThanOrEqual(4);

      online = false;
      await caller;
      await sleep(2_000); // past giveWayMs with no online work seen
      const after = await ingestRange(80, 160);
      expect(after.reduce((a, b) => a + b, 0)).toBe(80);
      expect(Math.max(...after)).toBeGreaterThan(4);
    },
    120_000,
  );

  test('records a worker committed but never acknowledged (it died) are redelivered and stored once', async () => {
    prefixes.push(`t${randomBytes(4).toString('hex')}`);
    const prefix = prefixes.at(-1)!;
    const total = 40;
    // The consumer and streams exist before anything is published (a first consumer creates them), then it stops.
    const first = consume(app.services, { ackWaitMs: 2000 });
    await consumerReady();
    await first.stop();
    for (let i = 0; i < total; i += 1) await publish('lab', { localId: `KILL-${i}`, ...person(30_000 + i) });

    // The worker that dies: pulls 20, commits 10 of them, and never acknowledges anything.
    const pulled = [];
    const consumer = await js.consumers.get(ingestNames(prefix).stream, INGEST_CONSUMER);
    for await (const msg of await consumer.fetch({ max_messages: 20, expires: 2000 })) pulled.push(msg);
    expect(pulled.length).toBe(20);
    await app.services.ingest.ingestMany(
      pulled.slice(0, 10).map((m) => ({ source: 'lab', ...(JSON.parse(new TextDecoder().decode(m.data)) as object) }) as never),
      { actor: 'local:dying-worker', reason: null, requestId: 'dying' },
    );

    const survivor = consume(replica(), { ackWaitMs: 2000 });
    await until(() => survivor.counts.ingested >= total);
    expect(await count(sql`select count(*)::int as n from source_records where local_id like 'KILL-%'`)).toBe(total);
    expect(
      await count(sql`select count(distinct l.identity_id)::int as n from links l join source_records r on r.id = l.record_id
      where r.local_id like 'KILL-%'`),
    ).toBe(total);
    await until(async () => (await (await nc.jetstreamManager()).streams.info(ingestNames(prefix).stream)).state.messages === 0, 10_000);
  }, 180_000);
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { sql } from 'drizzle-orm';
import { createHl7Service, startHl7Listener, type Hl7Service } from '../api/mllp.ts';
import { importHl7File, listDeadLetters, sendMllp, type MllpServer } from '../interop/index.ts';
import { adtMerge, adtUnlink, adtUpsert, msh, pid, type SamplePatient } from '../interop/testing/hl7-samples.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

const EHR_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.11';

/** A synthetic person from `fixtures.person` as an HL7 sample patient of `authority`. */
function sample(seed: number, mrn: string, authority = 'EHR', overrides: Record<string, unknown> = {}): SamplePatient {
  const p = person(seed, overrides) as Record<string, string>;
  return {
    mrn,
    authority,
    family: p.familyName,
    given: p.givenName,
    birth: p.birthDate!.replace(/-/g, ''),
    sex: p.sex,
    street: p.addressLine1,
    city: p.city,
    state: p.state,
    zip: p.postalCode,
    phone: p.phone,
  };
}

function msa(ack: string): string[] {
  return (ack.split('\r').find((s) => s.startsWith('MSA')) ?? '').split('|');
}

function err(ack: string): string {
  return ack.split('\r').find((s) => s.startsWith('ERR')) ?? '';
}

async function counts(app: TestApp): Promise<Record<string, number>> {
  const [row] = await queryRows<Record<string, string>>(
    app.services.database.db,
    sql`select
    (select count(*) from source_records) as records, (select count(*) from identities) as identities,
    (select count(*) from links) as links`,
  );
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)]));
}

describe(`HL7 v2 ADT over the identity service on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let hl7: Hl7Service;
  let listener: MllpServer;
  let pipelineKey: string;

  beforeAll(async () => {
    app = await createTestApp({ localMode: false, env: { MPI_HL7_IGNORE_EVENTS: 'A02' } });
    // EHR is known by its OID (the FHIR system); LAB only by its code, which HL7 feeds use as the namespace id.
    await app.services.catalog.registerSource({ code: 'EHR', name: 'Hospital EHR', system: EHR_SYSTEM });
    await app.services.catalog.registerSource({ code: 'LAB', name: 'Laboratory' });
    pipelineKey = (await createApiKey(app.services.database.db, 'hl7-test-pipeline', 'pipeline')).key;
    hl7 = createHl7Service(app.services);
    listener = (await startHl7Listener(app.services, { port: 0, host: '127.0.0.1' }))!;
  });
  afterAll(async () => {
    await listener?.close();
    await app?.close();
  });

  /**
   * Sends over MLLP with Medplum's HL7 client, as an interface engine would, and returns the ACK as text. A
   * payload that is not HL7 at all (the client cannot even parse it) goes through the project's own MLLP client.
   */
  const send = async (message: string): Promise<string> => {
    if (!message.startsWith('MSH')) return sendMllp('127.0.0.1', listener.port, message);
    const client = new Hl7Client({ host: '127.0.0.1', port: listener.port });
    try {
      return (await client.sendAndWait(Hl7Message.parse(message), { timeoutMs: 30_000 })).toString();
    } finally {
      await client.close();
    }
  };

  test('a FHIR Patient and an HL7 A04 for the same person from two sources end in one identity', async () => {
    const p = person(21) as Record<string, string>;
    const fhir = await app.fetch(
      '/fhir/Patient',
      {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Patient',
          identifier: [{ system: EHR_SYSTEM, value: 'E-21' }],
          name: [{ family: p.familyName, given: [p.givenName] }],
          gender: p.sex === 'F' ? 'female' : 'male',
          birthDate: p.birthDate,
          telecom: [{ system: 'phone', value: p.phone }],
          address: [{ line: [p.addressLine1], city: p.city, state: p.state, postalCode: p.postalCode }],
        }),
      },
      { key: pipelineKey },
    );
    expect(fhir.status).toBe(201);
    const ack = await send(adtUpsert('A04', sample(21, 'L-21', 'LAB')));
    expect(msa(ack).slice(0, 2)).toEqual(['MSA', 'AA']);
    expect(msa(ack)[3]).toBe('LINKED');
    const viaFhir = await app.services.ingest.resolve('EHR', 'E-21');
    const viaHl7 = await app.services.ingest.resolve('LAB', 'L-21');
    expect(viaHl7?.id).toBe(viaFhir?.id);
  });

  test('maps an assigning authority given by its universal id (ISO OID) to the registered source', async () => {
    const p = sample(22, 'E-22');
    const message = adtUpsert('A04', p).replace('^^^EHR^MR', '^^^&2.16.840.1.113883.3.999.11&ISO^MR');
    expect(msa(await send(message))[1]).toBe('AA');
    expect(await app.services.ingest.resolve('EHR', 'E-22')).not.toBeNull();
  });

  test('an A08 updates the record in place and a resent A08 changes nothing', async () => {
    await send(adtUpsert('A04', sample(23, 'E-23')));
    const update = adtUpsert('A08', sample(23, 'E-23', 'EHR', { phone: '6175550199' }));
    expect(msa(await send(update))[3]).toBe('LINKED');
    const before = await counts(app);
    expect(msa(await send(update))[3]).toBe('UNCHANGED');
    expect(await counts(app)).toEqual(before);
    const record = await app.services.identity.sourceRecordByLocalId('EHR', 'E-23');
    expect(record?.record.phone).toBe('6175550199');
  });

  test('an A40 merges the identities of two source records', async () => {
    await send(adtUpsert('A04', sample(24, 'E-24a')));
    await send(adtUpsert('A04', sample(25, 'E-24b')));
    const survivor = (await app.services.ingest.resolve('EHR', 'E-24a'))!.id;
    const gone = (await app.services.ingest.resolve('EHR', 'E-24b'))!.id;
    expect(gone).not.toBe(survivor);
    const ack = await send(adtMerge(sample(24, 'E-24a'), { mrn: 'E-24b', authority: 'EHR' }, 'C-A40-24'));
    expect(msa(ack)).toEqual(['MSA', 'AA', 'C-A40-24', 'MERGED']);
    expect((await app.services.ingest.resolve('EHR', 'E-24b'))!.id).toBe(survivor);
    expect((await app.services.identity.getIdentityExact(gone))!.status).toBe('MERGED');
    const history = await app.services.identity.history(survivor);
    expect(history.find((e) => e.type === 'MERGED')).toMatchObject({
      actor: 'local:hl7-listener',
      reason: expect.stringContaining('ADT^A40'),
    });
  });

  test('an A37 unlinks a record from its identity, and a resent A37 is still acknowledged', async () => {
    await send(adtUpsert('A04', sample(26, 'E-26a')));
    await send(adtUpsert('A04', sample(26, 'E-26b')));
    const together = (await app.services.ingest.resolve('EHR', 'E-26a'))!.id;
    expect((await app.services.ingest.resolve('EHR', 'E-26b'))!.id).toBe(together);
    const unlink = adtUnlink(sample(26, 'E-26a'), sample(26, 'E-26b'), 'C-A37-26');
    expect(msa(await send(unlink)).slice(0, 4)).toEqual(['MSA', 'AA', 'C-A37-26', 'UNLINKED']);
    const apart = (await app.services.ingest.resolve('EHR', 'E-26b'))!.id;
    expect(apart).not.toBe(together);
    expect(msa(await send(unlink))[1]).toBe('AA');
    expect((await app.services.ingest.resolve('EHR', 'E-26b'))!.id).toBe(apart);
  });

  test.each([
    ['a message that is not HL7', 'hello there', 'AR', '100'],
    ['a non-ADT message', [msh('ORU^R01^ORU_R01', 'C-X1'), pid(sample(27, 'E-27'))].join('\r'), 'AR', '200'],
    ['an unsupported ADT event', adtUpsert('A03', sample(27, 'E-27')), 'AR', '201'],
    ['a PID without a patient identifier', adtUpsert('A04', sample(27, '')), 'AE', '101'],
    ['an impossible birth date', adtUpsert('A04', { ...sample(27, 'E-27'), birth: '19800230' }), 'AE', '102'],
    ['an unknown sex code', adtUpsert('A04', { ...sample(27, 'E-27'), sex: 'Q' }), 'AE', '103'],
    ['an unregistered assigning authority', adtUpsert('A04', sample(27, 'E-27', 'NOWHERE')), 'AE', '204'],
    ['an A40 naming a record the index does not have', adtMerge(sample(27, 'E-27'), { mrn: 'E-404', authority: 'EHR' }), 'AE', '204'],
  ])('answers %s with %s, stores nothing and keeps the message as a dead letter', async (_name, message, code, condition) => {
    const before = await counts(app);
    const lettersBefore = (await listDeadLetters(app.services.database.db, 'hl7')).length;
    const ack = await send(message);
    expect(msa(ack)[1]).toBe(code);
    expect(err(ack)).toContain(`${condition}&`);
    expect(await counts(app)).toEqual(before);
    const letters = await listDeadLetters(app.services.database.db, 'hl7');
    expect(letters).toHaveLength(lettersBefore + 1);
    const letter = letters.at(-1)!;
    expect(letter.payload).toBe(message);
    expect(letter.reason).toMatch(new RegExp(`^${condition} `));
    for (const value of Object.values(person(27))) expect(letter.reason).not.toContain(String(value));
  });

  test('an A40 whose survivor is unknown reports the error on the PID, where the survivor is named', async () => {
    await send(adtUpsert('A04', sample(35, 'E-35')));
    const ack = await send(adtMerge(sample(35, 'E-35-unknown'), { mrn: 'E-35', authority: 'EHR' }, 'C-A40-35'));
    expect(msa(ack)[1]).toBe('AE');
    expect(err(ack).split('|')[2]).toBe('PID^1^3^1');
  });

  test('answers a frame over the size limit with an AR naming its control id, then closes the connection', async () => {
    const huge = [adtUpsert('A04', sample(36, 'E-36'), 'C-HUGE'), `NTE|1||${'x'.repeat(1024 * 1024 + 10)}`].join('\r');
    const ack = await send(huge);
    expect(msa(ack).slice(0, 3)).toEqual(['MSA', 'AR', 'C-HUGE']);
    expect(err(ack)).toContain('207&');
    expect(await app.services.ingest.resolve('EHR', 'E-36')).toBeNull();
  });

  test('in enhanced mode (MSH-15 AL) answers with commit acknowledgements CA and CE', async () => {
    const enhanced = (message: string) => message.replace(/^[^\r]*/, (header) => `${header}|||AL|NE`);
    const accepted = await send(enhanced(adtUpsert('A04', sample(37, 'E-37'), 'C-ENH-1')));
    expect(msa(accepted).slice(0, 3)).toEqual(['MSA', 'CA', 'C-ENH-1']);
    expect(await app.services.ingest.resolve('EHR', 'E-37')).not.toBeNull();
    const refused = await send(enhanced(adtUpsert('A04', { ...sample(37, 'E-37b'), birth: '19800230' }, 'C-ENH-2')));
    expect(msa(refused).slice(0, 3)).toEqual(['MSA', 'CE', 'C-ENH-2']);
  });

  test('answers a NUL character in a field with AE and keeps the message as a dead letter, the NUL in HL7 hex escape', async () => {
    const before = await counts(app);
    const message = adtUpsert('A04', { ...sample(38, 'E-38'), family: 'Ash\u0000worth' }, 'C-NUL');
    const result = await hl7(message);
    expect(result.code).toBe('AE');
    expect(err(result.ack!)).toContain('102&');
    expect(await counts(app)).toEqual(before);
    const letter = (await listDeadLetters(app.services.database.db, 'hl7')).at(-1)!;
    // PostgreSQL text holds no NUL: the letter keeps it as \X00\, which an HL7 parser reads as the same character.
    expect(letter.payload).toBe(message.replace('\u0000', '\\X00\\'));
    expect(letter.reason).toMatch(/^102 /);
  });

  test('acknowledges an event configured as ignored without storing or dead-lettering it', async () => {
    const before = await counts(app);
    const lettersBefore = (await listDeadLetters(app.services.database.db, 'hl7')).length;
    expect(msa(await send(adtUpsert('A02', sample(28, 'E-28'))))[1]).toBe('AA');
    expect(await counts(app)).toEqual(before);
    expect(await listDeadLetters(app.services.database.db, 'hl7')).toHaveLength(lettersBefore);
  });

  test('rejects (AR) messages from a principal without the pipeline role and stores nothing', async () => {
    const governance = createHl7Service(app.services, { id: 'g', name: 'governance-feed', roles: ['governance'], kind: 'local' });
    const result = await governance(adtUpsert('A04', sample(29, 'E-29')));
    expect(result.code).toBe('AR');
    expect(await app.services.ingest.resolve('EHR', 'E-29')).toBeNull();
  });

  test('writes one audit entry per message, as the listener principal, including dead-lettered ones', async () => {
    const ok = await hl7(adtUpsert('A04', sample(30, 'E-30'), 'C-AUDIT-1'));
    const bad = await hl7(adtUpsert('A04', { ...sample(30, 'E-30b'), birth: '19800230' }, 'C-AUDIT-2'));
    expect([ok.code, bad.code]).toEqual(['AA', 'AE']);
    const rows = await queryRows<{
      action: string;
      outcome: string;
      actor: string;
      role: string;
      object_type: string;
      details: Record<string, unknown>;
    }>(
      app.services.database.db,
      sql`select action, outcome, actor, role, object_type, details from audit_log where details->>'controlId' in ('C-AUDIT-1', 'C-AUDIT-2') order by id`,
    );
    expect(rows.map((r) => [r.action, r.outcome, r.actor, r.role])).toEqual([
      ['hl7:ingest', 'SUCCESS', 'local:hl7-listener', 'pipeline'],
      ['hl7:ingest', 'ERROR', 'local:hl7-listener', 'pipeline'],
    ]);
    expect(rows[0]!.object_type).toBe('record,identity');
    expect(rows[1]!.object_type).toBe('dead_letter');
    expect(rows[1]!.details).toMatchObject({ ack: 'AE', event: 'ADT^A04' });
  });

  test('imports an HL7 file through the same service, message by message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hl7-import-'));
    try {
      const file = join(dir, 'adt.hl7');
      const messages = [31, 32, 33].map((seed) => adtUpsert('A04', sample(seed, `E-${seed}`)));
      await writeFile(file, [...messages, adtUpsert('A04', { ...sample(34, 'E-34'), birth: '19800230' })].join('\n\n'));
      const summary = await importHl7File(file, async (m) => (await hl7(m)).ack);
      expect(summary).toEqual({ messages: 4, accepted: 3, errors: 1, rejected: 0 });
      for (const seed of [31, 32, 33]) expect(await app.services.ingest.resolve('EHR', `E-${seed}`)).not.toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

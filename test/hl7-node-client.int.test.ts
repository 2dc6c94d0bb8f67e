import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client, Message } from 'node-hl7-client';
import { createHl7Service, startHl7Listener } from '../api/mllp.ts';
import { listDeadLetters, type MllpServer } from '../interop/index.ts';
import { adtUpsert, msh, type SamplePatient } from '../interop/testing/hl7-samples.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

/*
 * The MLLP listener driven by node-hl7-client, a second interface-engine client beside Medplum's (test/hl7.int.test.ts):
 * its own message builder, framing and ACK parsing. Enhanced acknowledgement mode (MSH-15) is checked here end to
 * end, for the three commit acknowledgements an engine can get back: CA, CE and CR.
 */

/** A synthetic person from `fixtures.person` as an HL7 sample patient of the EHR. */
function sample(seed: number, mrn: string): SamplePatient {
  const p = person(seed) as Record<string, string>;
  return { mrn, authority: 'EHR', family: p.familyName, given: p.givenName, birth: p.birthDate!.replace(/-/g, ''), sex: p.sex };
}

/** MSH-15 (accept acknowledgement type) and MSH-16 set on a raw message: enhanced acknowledgement mode. */
function enhanced(raw: string, accept: 'AL' | 'ER' | 'SU', application = 'NE'): string {
  return raw.replace(/^[^\r]*/, (header) => `${header}|||${accept}|${application}`);
}

/** MSA-1 (acknowledgement code) and MSA-2 (control id of the message acknowledged), as node-hl7-client reads them. */
function msa(ack: Message): [string, string] {
  return [ack.get('MSA.1').toString(), ack.get('MSA.2').toString()];
}

describe(`HL7 v2 over MLLP with node-hl7-client on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let listener: MllpServer;
  let client: Client;

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'EHR', name: 'Hospital EHR' });
    listener = (await startHl7Listener(app.services, { port: 0, host: '127.0.0.1' }))!;
    client = new Client({ host: '127.0.0.1' });
  });
  afterAll(async () => {
    client?.closeAll();
    await listener?.close();
    await app?.close();
  });

  /** Sends one message on a connection of its own and resolves with the ACK node-hl7-client parsed. */
  async function send(message: Message): Promise<Message> {
    let settle: (ack: Message) => void = () => undefined;
    const answered = new Promise<Message>((resolve) => (settle = resolve));
    const connection = client.createConnection({ port: listener.port, waitAck: true, maxConnectionAttempts: 3 }, (response) =>
      settle(response.getMessage()),
    );
    try {
      await connection.sendMessage(message);
      return await answered;
    } finally {
      await connection.close();
    }
  }

  const deadLetters = async () => (await listDeadLetters(app.services.database.db, 'hl7')).length;

  test('an A04 built with node-hl7-client is acknowledged AA and its patient is stored', async () => {
    const p = person(61) as Record<string, string>;
    const message = new Message({ messageHeader: { msh_9_1: 'ADT', msh_9_2: 'A04', msh_9_3: 'ADT_A01', msh_10: 'NC-61', msh_11_1: 'P' } });
    message.set('MSH.3', 'EHRAPP');
    message.set('MSH.5', 'MPI');
    message.addSegment('EVN').set('1', 'A04');
    const segment = message.addSegment('PID');
    const fields: Array<[string, string]> = [
      ['3.1', 'N-61'],
      ['3.4', 'EHR'],
      ['3.5', 'MR'],
      ['5.1', p.familyName!],
      ['5.2', p.givenName!],
      ['7', p.birthDate!.replace(/-/g, '')],
      ['8', p.sex!],
    ];
    for (const [path, value] of fields) segment.set(path, value);
    message.addSegment('PV1').set('2', 'O');

    const ack = await send(message);
    expect(msa(ack)).toEqual(['AA', 'NC-61']);
    const identity = await app.services.ingest.resolve('EHR', 'N-61');
    expect(identity).not.toBeNull();
    expect(identity!.golden).toMatchObject({ familyName: p.familyName, givenName: p.givenName, birthDate: p.birthDate });
  });

  test('in enhanced mode (MSH-15 AL) commits an A04 with CA and refuses a bad birth date with CE', async () => {
    const accepted = await send(new Message({ text: enhanced(adtUpsert('A04', sample(62, 'N-62'), 'NC-62'), 'AL') }));
    expect(msa(accepted)).toEqual(['CA', 'NC-62']);
    expect(await app.services.ingest.resolve('EHR', 'N-62')).not.toBeNull();
    const refused = await send(
      new Message({ text: enhanced(adtUpsert('A04', { ...sample(63, 'N-63'), birth: '19800230' }, 'NC-63'), 'AL') }),
    );
    expect(msa(refused)).toEqual(['CE', 'NC-63']);
    expect(await app.services.ingest.resolve('EHR', 'N-63')).toBeNull();
  });

  test.each([
    { accept: 'AL' as const, why: 'always' },
    { accept: 'ER' as const, why: 'on errors' },
  ])('in enhanced mode (MSH-15 $accept, a commit ack $why) rejects a message type it does not take with CR', async ({ accept }) => {
    const before = await deadLetters();
    const controlId = `NC-ORU-${accept}`;
    const oru = [msh('ORU^R01^ORU_R01', controlId), 'PID|1||N-64^^^EHR^MR||Quillfeather^Zephyrine', 'OBR|1', 'OBX|1|ST|GLU||5.4'].join(
      '\r',
    );
    const ack = await send(new Message({ text: enhanced(oru, accept) }));
    expect(msa(ack)).toEqual(['CR', controlId]);
    // The rejected message is kept for replay and stored nowhere else.
    expect(await deadLetters()).toBe(before + 1);
    expect(await app.services.ingest.resolve('EHR', 'N-64')).toBeNull();
  });

  test('in enhanced mode a sender without the pipeline role gets CR and nothing is stored', async () => {
    const governance = createHl7Service(app.services, { id: 'g', name: 'governance-feed', roles: ['governance'], kind: 'local' });
    const result = await governance(enhanced(adtUpsert('A04', sample(65, 'N-65'), 'NC-65'), 'AL'));
    expect(result.code).toBe('CR');
    expect(msa(new Message({ text: result.ack! }))).toEqual(['CR', 'NC-65']);
    expect(await app.services.ingest.resolve('EHR', 'N-65')).toBeNull();
  });

  test('in enhanced mode (MSH-15 AL) a frame over the size limit gets CR naming its control id', async () => {
    const huge = [enhanced(adtUpsert('A04', sample(66, 'N-66'), 'NC-BIG'), 'AL'), `NTE|1||${'x'.repeat(1024 * 1024 + 10)}`].join('\r');
    const ack = await send(new Message({ text: huge }));
    expect(msa(ack)).toEqual(['CR', 'NC-BIG']);
    expect(await app.services.ingest.resolve('EHR', 'N-66')).toBeNull();
  });
});

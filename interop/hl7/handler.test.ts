import { beforeEach, describe, expect, test } from 'vitest';
import { FakePort, type TestContext } from '../testing/fake-port.ts';
import { adtMerge, adtUnlink, adtUpsert, msh, pid, ZEPHYRINE } from '../testing/hl7-samples.ts';
import { PortError } from '../ports.ts';
import { createHl7Handler, oversizedAck, type Hl7Handler } from './handler.ts';
import { parseHl7, valueAt } from './message.ts';

const ctx: TestContext = { actor: 'mllp:north' };
let port: FakePort;
let handle: Hl7Handler<TestContext>;
let deadLetters: Array<{ raw: string; reason: string }>;

beforeEach(() => {
  port = new FakePort({ 'urn:ehr': 'EHR', 'urn:lab': 'LAB', 'urn:oid:2.16.840.1.113883.3.999': 'EHR' });
  deadLetters = [];
  handle = createHl7Handler(port, {
    deadLetter: (raw, reason) => {
      deadLetters.push({ raw, reason });
    },
    newControlId: () => 'ACK-1',
    now: () => new Date(Date.UTC(2024, 0, 2)),
  });
});

function msa(ack: string | null): [string, string] {
  const message = parseHl7(ack ?? '');
  const segment = message.segments.find((s) => s.name === 'MSA');
  return [valueAt(segment, 1, message.delimiters), valueAt(segment, 2, message.delimiters)];
}

const LAB_ZEPHYRINE = { ...ZEPHYRINE, mrn: 'L-9', authority: 'LAB', ssn: '' };

describe('createHl7Handler', () => {
  test('upserts an A04 through the port and acknowledges AA with the control id', async () => {
    const result = await handle(adtUpsert('A04', ZEPHYRINE, 'C-100'), ctx);
    expect(result).toMatchObject({ code: 'AA', controlId: 'C-100', event: 'ADT^A04' });
    expect(msa(result.ack)).toEqual(['AA', 'C-100']);
    expect(port.writes()).toEqual([
      {
        method: 'ingest',
        ctx,
        args: [expect.objectContaining({ source: 'EHR', localId: 'MRN-1', familyName: 'Quillfeather', birthDate: '1984-02-29' })],
      },
    ]);
    expect(deadLetters).toEqual([]);
  });

  test('links the same person arriving from two sources into one identity', async () => {
    await handle(adtUpsert('A04', ZEPHYRINE), ctx);
    await handle(adtUpsert('A28', LAB_ZEPHYRINE), ctx);
    expect(port.identityOf({ source: 'LAB', localId: 'L-9' })).toBe(port.identityOf({ source: 'EHR', localId: 'MRN-1' }));
  });

  test('maps an authority given as an OID to its registered source', async () => {
    const raw = [msh('ADT^A04^ADT_A01', 'C-1'), 'PID|1||MRN-5^^^&2.16.840.1.113883.3.999&ISO^MR||Brightwater^Ivo||19700101|M'].join('\r');
    expect((await handle(raw, ctx)).code).toBe('AA');
    expect(port.writes()[0]?.args[0]).toMatchObject({ source: 'EHR', localId: 'MRN-5' });
  });

  test('merges two identities on A40 with a reason that names the message, not the patient', async () => {
    await handle(adtUpsert('A04', ZEPHYRINE), ctx);
    await handle(adtUpsert('A04', { ...ZEPHYRINE, mrn: 'MRN-2', birth: '19900101' }), ctx);
    const before = port.identityOf({ source: 'EHR', localId: 'MRN-2' });
    expect(before).not.toBe(port.identityOf({ source: 'EHR', localId: 'MRN-1' }));

    const result = await handle(adtMerge(ZEPHYRINE, { mrn: 'MRN-2', authority: 'EHR' }, 'C-MERGE'), ctx);
    expect(result.code).toBe('AA');
    expect(port.identityOf({ source: 'EHR', localId: 'MRN-2' })).toBe(port.identityOf({ source: 'EHR', localId: 'MRN-1' }));
    const merge = port.writes().find((c) => c.method === 'mergeBySourceIds');
    expect(merge?.args).toEqual([
      { source: 'EHR', localId: 'MRN-1' },
      { source: 'EHR', localId: 'MRN-2' },
      'HL7 ADT^A40 control id C-MERGE from NORTH',
    ]);
  });

  test('unlinks the second patient of an A37 into its own identity', async () => {
    await handle(adtUpsert('A04', ZEPHYRINE), ctx);
    await handle(adtUpsert('A04', LAB_ZEPHYRINE), ctx);
    const result = await handle(adtUnlink(ZEPHYRINE, LAB_ZEPHYRINE), ctx);
    expect(result.code).toBe('AA');
    expect(port.identityOf({ source: 'LAB', localId: 'L-9' })).not.toBe(port.identityOf({ source: 'EHR', localId: 'MRN-1' }));
  });

  test.each([
    { behaviour: 'an unparseable message', raw: 'this is not HL7', code: 'AR', err: '100' },
    { behaviour: 'an unsupported message type', raw: [msh('ORU^R01^ORU_R01', 'C-1'), pid(ZEPHYRINE)].join('\r'), code: 'AR', err: '200' },
    { behaviour: 'an unsupported event', raw: [msh('ADT^A03^ADT_A03', 'C-1'), pid(ZEPHYRINE)].join('\r'), code: 'AR', err: '201' },
    { behaviour: 'an invalid birth date', raw: adtUpsert('A04', { ...ZEPHYRINE, birth: '19840230' }), code: 'AE', err: '102' },
    {
      behaviour: 'a missing identifier',
      raw: [msh('ADT^A04^ADT_A01', 'C-1'), 'PID|1||||Quillfeather^Zephyrine'].join('\r'),
      code: 'AE',
      err: '101',
    },
  ])('answers $behaviour with $code, dead-letters it and stores nothing', async ({ raw, code, err }) => {
    const result = await handle(raw, ctx);
    expect(result.code).toBe(code);
    expect(msa(result.ack)[0]).toBe(code);
    const errSegment = result.ack!.split('\r').find((s) => s.startsWith('ERR|'));
    expect(errSegment?.split('|')[3]?.split('^')[0]).toBe(err);
    expect(port.writes()).toEqual([]);
    expect(deadLetters).toEqual([{ raw, reason: result.reason }]);
    expect(result.reason).not.toMatch(/Quillfeather|Zephyrine|1984/);
  });

  test('answers an unknown assigning authority with AE 204 and dead-letters the message', async () => {
    const result = await handle(adtUpsert('A04', { ...ZEPHYRINE, authority: 'NOWHERE' }), ctx);
    expect(result.code).toBe('AE');
    expect(result.ack).toContain('|204^Unknown key identifier^HL70357|');
    expect(deadLetters).toHaveLength(1);
  });

  test('answers a merge of an unknown record with AE 204 pointing at MRG-1', async () => {
    await handle(adtUpsert('A04', ZEPHYRINE), ctx);
    const result = await handle(adtMerge(ZEPHYRINE, { mrn: 'MRN-404', authority: 'EHR' }), ctx);
    expect(result.code).toBe('AE');
    expect(result.ack).toMatch(/ERR\|MRG\^1\^1\^204/);
  });

  test('answers a merge whose survivor is unknown with AE 204 pointing at the PID, not the MRG', async () => {
    port.mergeBySourceIds = async () => {
      throw new PortError('NOT_FOUND', 'survivor source record not found', 'survivor');
    };
    const result = await handle(adtMerge(ZEPHYRINE, { mrn: 'MRN-2', authority: 'EHR' }), ctx);
    expect(result.code).toBe('AE');
    expect(result.ack).toMatch(/ERR\|PID\^1\^3\^204/);
  });

  test.each([
    { mode: 'AL', message: adtUpsert('A04', ZEPHYRINE), code: 'CA', sent: true },
    { mode: 'AL', message: adtUpsert('A04', { ...ZEPHYRINE, birth: '19840230' }), code: 'CE', sent: true },
    { mode: 'AL', message: 'MSH|^~\\&|EHRAPP|NORTH|MPI|HQ|20240102030405||ORU^R01|C-9|P|2.5.1', code: 'CR', sent: true },
    { mode: 'NE', message: adtUpsert('A04', ZEPHYRINE), code: 'CA', sent: false },
    { mode: 'ER', message: adtUpsert('A04', ZEPHYRINE), code: 'CA', sent: false },
    { mode: 'ER', message: adtUpsert('A04', { ...ZEPHYRINE, birth: '19840230' }), code: 'CE', sent: true },
    { mode: 'SU', message: adtUpsert('A04', ZEPHYRINE), code: 'CA', sent: true },
    { mode: 'SU', message: adtUpsert('A04', { ...ZEPHYRINE, birth: '19840230' }), code: 'CE', sent: false },
  ])('in enhanced mode (MSH-15 $mode) answers $code, sent: $sent', async ({ mode, message, code, sent }) => {
    const enhanced = message.replace(/^[^\r]*/, (header) => `${header}|||${mode}`);
    const result = await handle(enhanced, ctx);
    expect(result.code).toBe(code);
    if (sent) expect(msa(result.ack)).toEqual([code, expect.any(String)]);
    else expect(result.ack).toBeNull();
  });

  test('rejects an oversized frame by its MSH: AR with the control id, CR in enhanced mode', () => {
    expect(msa(oversizedAck(`${msh('ADT^A04^ADT_A01', 'C-BIG')}\rPID|1`, 1024))).toEqual(['AR', 'C-BIG']);
    expect(oversizedAck(`${msh('ADT^A04^ADT_A01', 'C-BIG')}|||AL\rPID|1`, 1024)).toMatch(/\rMSA\|CR\|C-BIG\|/);
    expect(oversizedAck('not hl7 at all', 1024)).toBeNull();
  });

  test('masks an unexpected port failure as AE 207 and reports it', async () => {
    const errors: unknown[] = [];
    port.ingest = async () => {
      throw new Error('socket hang up while writing Quillfeather');
    };
    const failing = createHl7Handler(port, {
      deadLetter: (raw, reason) => void deadLetters.push({ raw, reason }),
      onError: (e) => errors.push(e),
    });
    const result = await failing(adtUpsert('A04', ZEPHYRINE), ctx);
    expect(result.code).toBe('AE');
    expect(result.ack).toContain('207^Application internal error');
    expect(result.ack).not.toContain('Quillfeather');
    expect(errors).toHaveLength(1);
    expect(deadLetters).toHaveLength(1);
  });

  test('sends no ACK when the dead letter cannot be kept, so the sender retries', async () => {
    const failing = createHl7Handler(port, {
      deadLetter: async () => {
        throw new Error('dead letter store unavailable');
      },
    });
    await expect(failing('garbage', ctx)).rejects.toThrow('dead letter store unavailable');
  });

  test('acknowledges ignored events without processing or dead-lettering them', async () => {
    const lenient = createHl7Handler(port, { deadLetter: (raw, reason) => void deadLetters.push({ raw, reason }), ignoreEvents: ['A03'] });
    const result = await lenient([msh('ADT^A03^ADT_A03', 'C-1'), pid(ZEPHYRINE)].join('\r'), ctx);
    expect(result.code).toBe('AA');
    expect(port.writes()).toEqual([]);
    expect(deadLetters).toEqual([]);
  });
});

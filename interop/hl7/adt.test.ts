import { describe, expect, test } from 'vitest';
import { adtMerge, adtUnlink, adtUpsert, msh, pid, ZEPHYRINE } from '../testing/hl7-samples.ts';
import { adtCommands, readHeader, UPSERT_EVENTS } from './adt.ts';
import { Hl7Error } from './errors.ts';
import { parseHl7 } from './message.ts';

function commands(raw: string) {
  const message = parseHl7(raw);
  return adtCommands(message, readHeader(message));
}

function upsertOf(raw: string) {
  const [command] = commands(raw);
  if (command?.kind !== 'upsert') throw new Error('expected an upsert');
  return command;
}

function failure(raw: string): Hl7Error {
  try {
    commands(raw);
  } catch (error) {
    if (error instanceof Hl7Error) return error;
    throw error;
  }
  throw new Error('expected an Hl7Error');
}

describe('ADT upserts', () => {
  test.each(UPSERT_EVENTS.map((trigger) => ({ trigger })))('maps $trigger to an upsert of the PID', ({ trigger }) => {
    const command = upsertOf(adtUpsert(trigger, ZEPHYRINE));
    expect(command.identifier).toMatchObject({ id: 'MRN-1', namespace: 'EHR', typeCode: 'MR' });
    expect(command.record).toEqual({
      familyName: 'Quillfeather',
      givenName: 'Zephyrine',
      middleName: 'Mae',
      suffix: null,
      birthDate: '1984-02-29',
      sex: 'F',
      addressLine1: '12 Larch Lane',
      addressLine2: null,
      city: 'Fernvale',
      state: 'OR',
      postalCode: '97001',
      phone: '555-0142',
      email: null,
      ssn: '900-12-3456',
    });
  });

  const withPid = (pidSegment: string) => [msh('ADT^A08^ADT_A01', 'C-1'), 'EVN|A08', pidSegment].join('\r');

  test.each([
    {
      behaviour: 'takes the medical record number over other identifiers and reads the SSN from PID-3 when PID-19 is empty',
      pid: 'PID|1||900123456^^^SSA^SS~INS-9^^^PAYER^MB~MRN-7^^^EHR^MR',
      identifier: { id: 'MRN-7', namespace: 'EHR' },
      record: { ssn: '900123456' },
    },
    {
      behaviour: 'falls back to the sending facility when the identifier has no assigning authority',
      pid: 'PID|1||MRN-7',
      identifier: { id: 'MRN-7', namespace: 'NORTH' },
      record: {},
    },
    {
      behaviour: 'keeps the universal id of an authority given only as an OID',
      pid: 'PID|1||MRN-7^^^&2.16.840.1.113883.3.999&ISO^MR',
      identifier: { id: 'MRN-7', namespace: '', universalId: '2.16.840.1.113883.3.999', universalIdType: 'ISO' },
      record: {},
    },
    {
      behaviour: 'prefers the legal name over an alias and decodes escapes in it',
      pid: 'PID|1||MRN-7^^^EHR^MR||Ali^Ace^^^^^A~O\\S\\Hare^Ann^B^III^^^L',
      identifier: { id: 'MRN-7' },
      record: { familyName: 'O^Hare', givenName: 'Ann', middleName: 'B', suffix: 'III' },
    },
    {
      behaviour: 'takes the home address over a business one, with the other designation as line 2',
      pid: 'PID|1||MRN-7^^^EHR^MR||||||||1 Office Park^^Worktown^WA^98001^USA^B~3 Elm Row^Unit 2^Fernvale^OR^97001^USA^H',
      identifier: { id: 'MRN-7' },
      record: { addressLine1: '3 Elm Row', addressLine2: 'Unit 2', city: 'Fernvale', postalCode: '97001' },
    },
    {
      behaviour: 'reads a v2.5 phone from area code and local number, and the email from a NET entry',
      pid: 'PID|1||MRN-7^^^EHR^MR||||||||||^NET^Internet^zq@example.test~^PRN^PH^^^503^5550142~^PRN^FX^^^503^5550199',
      identifier: { id: 'MRN-7' },
      record: { phone: '5035550142', email: 'zq@example.test' },
    },
    {
      behaviour: 'treats the HL7 explicit null as missing',
      pid: 'PID|1||MRN-7^^^EHR^MR||""^""|||""',
      identifier: { id: 'MRN-7' },
      record: { familyName: null, givenName: null, sex: null },
    },
    {
      behaviour: 'accepts a birth time with seconds, fraction and offset, keeping only the date',
      pid: 'PID|1||MRN-7^^^EHR^MR||||19840229101530.25-0500',
      identifier: { id: 'MRN-7' },
      record: { birthDate: '1984-02-29' },
    },
    {
      behaviour: 'maps unknown and ambiguous sex to missing',
      pid: 'PID|1||MRN-7^^^EHR^MR|||||U',
      identifier: { id: 'MRN-7' },
      record: { sex: null },
    },
  ])('$behaviour', ({ pid: segment, identifier, record }) => {
    const command = upsertOf(withPid(segment));
    expect(command.identifier).toMatchObject(identifier);
    expect(command.record).toMatchObject(record);
  });

  test.each([
    {
      behaviour: 'an impossible birth date',
      pid: 'PID|1||MRN-7^^^EHR^MR||||19840230',
      code: 102,
      field: 7,
      message: 'birth date: day is out of range for its month',
    },
    {
      behaviour: 'a birth date without the day',
      pid: 'PID|1||MRN-7^^^EHR^MR||||198402',
      code: 102,
      field: 7,
      message: 'birth date: must be an HL7 date (YYYYMMDD)',
    },
    {
      behaviour: 'a birth date that is no date',
      pid: 'PID|1||MRN-7^^^EHR^MR||||hello',
      code: 102,
      field: 7,
      message: 'birth date: must be an HL7 date (YYYYMMDD)',
    },
    {
      behaviour: 'a birth date with month 13',
      pid: 'PID|1||MRN-7^^^EHR^MR||||19841301',
      code: 102,
      field: 7,
      message: 'birth date: month is out of range',
    },
    {
      behaviour: 'a sex code outside table 0001',
      pid: 'PID|1||MRN-7^^^EHR^MR|||||Q',
      code: 103,
      field: 8,
      message: 'sex: is not a recognised code',
    },
    {
      behaviour: 'no patient identifier',
      pid: 'PID|1||||Quillfeather^Zephyrine',
      code: 101,
      field: 3,
      message: 'patient identifier is required',
    },
  ])('rejects $behaviour, naming the field but not the value', ({ pid: segment, code, field, message }) => {
    const error = failure(withPid(segment));
    expect(error.condition.code).toBe(code);
    expect(error.location).toMatchObject({ segment: 'PID', field });
    expect(error.ack).toBe('AE');
    expect(error.message).toBe(message);
  });

  test.each([
    { value: '12-34', message: 'SSN: has the wrong number of digits' },
    { value: '000-00-0000', message: 'SSN: is a placeholder value' },
  ])('keeps the SSN $value as sent for the service to leave out of matching, with a warning for PID-19', ({ value, message }) => {
    const command = upsertOf(withPid('PID|1||MRN-7^^^EHR^MR' + '|'.repeat(16) + value));
    expect(command.record).toMatchObject({ ssn: value });
    expect(command.kind === 'upsert' && command.warnings).toEqual([
      { condition: { code: 102, name: 'Data type error' }, text: message, location: { segment: 'PID', sequence: 1, field: 19 } },
    ]);
  });

  test('names the PID-3 repetition a bad SSN came from when PID-19 is empty', () => {
    const command = upsertOf(withPid('PID|1||MRN-7^^^EHR^MR~12-34^^^SSA^SS'));
    expect(command.record).toMatchObject({ ssn: '12-34' });
    expect(command.kind === 'upsert' && command.warnings).toEqual([
      {
        condition: { code: 102, name: 'Data type error' },
        text: 'SSN: has the wrong number of digits',
        location: { segment: 'PID', sequence: 1, field: 3, component: 1, repetition: 2 },
      },
    ]);
  });

  test('a good SSN carries no warning', () => {
    const command = upsertOf(withPid('PID|1||MRN-7^^^EHR^MR' + '|'.repeat(16) + '512-48-3067'));
    expect(command.kind === 'upsert' && command.warnings).toEqual([]);
  });

  test('requires an assigning authority when the sending facility is empty too', () => {
    const raw = [msh('ADT^A04^ADT_A01', 'C-1', ''), 'PID|1||MRN-7'].join('\r');
    expect(failure(raw)).toMatchObject({ location: { segment: 'PID', field: 3, component: 4 } });
  });
});

describe('ADT merge, unlink and delete', () => {
  test('maps A40 to a merge of the MRG patient into the PID patient', () => {
    expect(commands(adtMerge(ZEPHYRINE, { mrn: 'MRN-2', authority: 'EHR' }))).toEqual([
      {
        kind: 'merge',
        survivor: expect.objectContaining({ id: 'MRN-1', namespace: 'EHR' }),
        merged: expect.objectContaining({ id: 'MRN-2', namespace: 'EHR', location: { segment: 'MRG', sequence: 1, field: 1 } }),
      },
    ]);
  });

  test('takes the survivor authority for an MRG identifier without one', () => {
    const [command] = commands(adtMerge({ ...ZEPHYRINE, authority: 'LAB' }, { mrn: 'L-2' }));
    expect(command).toMatchObject({ merged: { id: 'L-2', namespace: 'LAB' } });
  });

  test('maps each PID/MRG group of an A40 to its own merge', () => {
    const raw = [msh('ADT^A40^ADT_A39', 'C-1'), 'EVN|A40', pid({ mrn: 'A' }), 'MRG|B', pid({ mrn: 'C' }, 2), 'MRG|D'].join('\r');
    expect(commands(raw).map((c) => c.kind === 'merge' && [c.survivor.id, c.merged.id])).toEqual([
      ['A', 'B'],
      ['C', 'D'],
    ]);
  });

  test('rejects an A40 without MRG', () => {
    const raw = [msh('ADT^A40^ADT_A39', 'C-1'), pid(ZEPHYRINE)].join('\r');
    expect(failure(raw)).toMatchObject({ condition: { code: 100 }, location: { segment: 'MRG' } });
  });

  test('maps A37 to unlinking the second patient', () => {
    const [command] = commands(adtUnlink(ZEPHYRINE, { mrn: 'L-9', authority: 'LAB' }));
    expect(command).toMatchObject({
      kind: 'unlink',
      identifier: { id: 'L-9', namespace: 'LAB', location: { segment: 'PID', sequence: 2 } },
    });
  });

  test('maps A29 to deleting the record', () => {
    const raw = [msh('ADT^A29^ADT_A21', 'C-1'), pid(ZEPHYRINE)].join('\r');
    expect(commands(raw)).toEqual([{ kind: 'delete', identifier: expect.objectContaining({ id: 'MRN-1', namespace: 'EHR' }) }]);
  });
});

describe('message kinds', () => {
  test.each([
    { behaviour: 'a message type other than ADT', type: 'ORU^R01^ORU_R01', code: 200 },
    { behaviour: 'an ADT event we do not handle', type: 'ADT^A03^ADT_A03', code: 201 },
  ])('rejects $behaviour with AR', ({ type, code }) => {
    const error = failure([msh(type, 'C-1'), pid(ZEPHYRINE)].join('\r'));
    expect(error.condition.code).toBe(code);
    expect(error.ack).toBe('AR');
  });

  test('takes the trigger from EVN-1 when MSH-9 has none', () => {
    const message = parseHl7([msh('ADT', 'C-1'), 'EVN|A04', pid(ZEPHYRINE)].join('\r'));
    expect(readHeader(message).trigger).toBe('A04');
  });

  test('rejects an ADT without PID', () => {
    expect(failure(msh('ADT^A04^ADT_A01', 'C-1')).condition.code).toBe(100);
  });
});

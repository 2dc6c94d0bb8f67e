import { describe, expect, test } from 'vitest';
import { buildAck, formatTimestamp } from './ack.ts';
import { HL7_ERROR } from './errors.ts';
import { unescapeHl7 } from './escape.ts';
import { parseHl7 } from './message.ts';

const original = parseHl7('MSH|^~\\&|EHRAPP|NORTH|MPI|HQ|20240102030405||ADT^A04^ADT_A01|C-77|P|2.5.1\rPID|1');
const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

describe('buildAck', () => {
  test('acknowledges with sender and receiver swapped and the original control id in MSA-2', () => {
    const ack = buildAck(original, { code: 'AA', controlId: 'ACK-1', timestamp: at, text: 'CREATED' });
    expect(ack.split('\r')).toEqual([
      'MSH|^~\\&|MPI|HQ|EHRAPP|NORTH|20240102030405+0000||ACK^A04^ACK|ACK-1|P|2.5.1',
      'MSA|AA|C-77|CREATED',
    ]);
  });

  test('echoes a control character of the original MSH as a hex escape, never as the byte', () => {
    // A NUL and MLLP's end-of-block byte in the control id, a vertical tab in the sending application.
    const odd = parseHl7('MSH|^~\\&|EHR\u000bAPP|NORTH|MPI|HQ|20240102030405||ADT^A04^ADT_A01|C\u0000-77\u001c|P|2.5.1\rPID|1');
    const ack = buildAck(odd, { code: 'AA', controlId: 'ACK-9', timestamp: at, text: 'CREATED' });
    expect(ack).not.toMatch(/[\u0000-\u000c\u000e-\u001f\u007f]/);
    const [msh, msa] = ack.split('\r');
    expect(msh!.split('|')[4]).toBe('EHR\\X0B\\APP');
    expect(msa).toBe('MSA|AA|C\\X00\\-77\\X1C\\|CREATED');
    // The sender's parser reads the same control id back.
    expect(unescapeHl7(parseHl7(ack).segments[1]!.fields[2]!, odd.delimiters)).toBe(odd.segments[0]!.fields[10]);
  });

  test('adds an ERR segment with location, table 0357 code, severity and text for an error', () => {
    const ack = buildAck(original, {
      code: 'AE',
      controlId: 'ACK-2',
      timestamp: at,
      error: {
        condition: HL7_ERROR.DATA_TYPE,
        text: 'birth date: day is out of range for its month',
        location: { segment: 'PID', sequence: 1, field: 7 },
      },
    });
    const [, msa, err] = ack.split('\r');
    expect(msa).toBe('MSA|AE|C-77|birth date: day is out of range for its month');
    expect(err).toBe(
      'ERR|PID^1^7^102&Data type error&HL70357|PID^1^7^1|102^Data type error^HL70357|E||||PID-7: birth date: day is out of range for its month',
    );
  });

  test('keeps AA and adds an ERR segment of severity W for each warning', () => {
    const ack = buildAck(original, {
      code: 'AA',
      controlId: 'ACK-3',
      timestamp: at,
      text: 'CREATED',
      warnings: [
        {
          condition: HL7_ERROR.DATA_TYPE,
          text: 'SSN: has the wrong number of digits',
          location: { segment: 'PID', sequence: 1, field: 19 },
        },
      ],
    });
    expect(ack.split('\r').slice(1)).toEqual([
      'MSA|AA|C-77|CREATED',
      'ERR|PID^1^19^102&Data type error&HL70357|PID^1^19^1|102^Data type error^HL70357|W||||PID-19: SSN: has the wrong number of digits',
    ]);
  });

  test('names the field repetition and component of a warning in ERR-2 and the text', () => {
    const ack = buildAck(original, {
      code: 'AA',
      controlId: 'ACK-4',
      timestamp: at,
      text: 'CREATED',
      warnings: [
        {
          condition: HL7_ERROR.DATA_TYPE,
          text: 'SSN: has the wrong number of digits',
          location: { segment: 'PID', sequence: 1, field: 3, repetition: 2, component: 1 },
        },
      ],
    });
    expect(ack.split('\r')[2]).toBe(
      'ERR|PID^1^3^102&Data type error&HL70357|PID^1^3^2^1|102^Data type error^HL70357|W||||PID-3(2).1: SSN: has the wrong number of digits',
    );
  });

  test('writes the ACK in the delimiters of the original message', () => {
    const custom = parseHl7('MSH#*@!%#APP#FAC#MPI#HQ#20240102##ADT*A08#C-9#T#2.4');
    const ack = buildAck(custom, {
      code: 'AR',
      controlId: 'A',
      timestamp: at,
      error: { condition: HL7_ERROR.UNSUPPORTED_EVENT, text: 'a#b' },
    });
    expect(ack.split('\r')[0]).toBe('MSH#*@!%#MPI#HQ#APP#FAC#20240102030405+0000##ACK*A08*ACK#A#T#2.4');
    expect(ack).toContain('MSA#AR#C-9#a!F!b');
  });

  test('answers an unreadable message with defaults and an empty MSA-2', () => {
    const ack = buildAck(null, {
      code: 'AR',
      controlId: 'A',
      timestamp: at,
      application: { name: 'MPI', facility: 'HQ' },
      error: { condition: HL7_ERROR.SEGMENT_SEQUENCE, text: 'no MSH' },
    });
    expect(ack.split('\r').slice(0, 2)).toEqual(['MSH|^~\\&|MPI|HQ|||20240102030405+0000||ACK^^ACK|A|P|2.5.1', 'MSA|AR||no MSH']);
  });

  test('formats timestamps in UTC to the second', () => {
    expect(formatTimestamp(new Date('2030-12-31T23:59:58.900Z'))).toBe('20301231235958+0000');
  });
});

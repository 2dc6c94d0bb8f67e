import { describe, expect, test } from 'vitest';
import { storablePayload } from './dead-letter-store.ts';
import { unescapeHl7 } from './hl7/escape.ts';
import { DEFAULT_DELIMITERS } from './hl7/message.ts';

describe('storablePayload', () => {
  test('leaves a payload without NUL as it is', () => {
    const message = 'MSH|^~\\&|A|B|C|D|20240102||ADT^A04|C-1|P|2.5.1\rPID|1||M-1^^^EHR^MR||Ash^Ivo';
    expect(storablePayload('hl7', message)).toBe(message);
  });

  test("writes an HL7 NUL as the hex escape \\X00\\ with the message's own escape character", () => {
    const stored = storablePayload('hl7', 'MSH|^~\\&|A\rPID|1||M-1||Ash\u0000worth\u0000');
    expect(stored).toBe('MSH|^~\\&|A\rPID|1||M-1||Ash\\X00\\worth\\X00\\');
    expect(unescapeHl7('Ash\\X00\\worth', DEFAULT_DELIMITERS)).toBe('Ash\u0000worth');
    expect(storablePayload('hl7', 'MSH|^~#&|A\rPID|1||M\u00001')).toBe('MSH|^~#&|A\rPID|1||M#X00#1');
    // No usable MSH-2 (not HL7, or the escape position holds a separator): the standard escape character.
    expect(storablePayload('hl7', 'hello\u0000')).toBe('hello\\X00\\');
    expect(storablePayload('hl7', 'MSH|^~|A\u0000')).toBe('MSH|^~|A\\X00\\');
  });

  test('writes a FHIR NUL as the JSON escape, which parses to the same value', () => {
    const body = '{"resourceType":"Patient","name":[{"family":"Ash\u0000worth"}]}';
    const stored = storablePayload('fhir', body);
    expect(stored).not.toContain('\u0000');
    expect(JSON.parse(stored).name[0].family).toBe('Ash\u0000worth');
  });
});

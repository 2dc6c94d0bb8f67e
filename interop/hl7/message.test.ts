import { describe, expect, test } from 'vitest';
import { escapeHl7, unescapeHl7 } from './escape.ts';
import { DEFAULT_DELIMITERS, Hl7ParseError, parseHl7, repetitions, valueAt } from './message.ts';

const d = DEFAULT_DELIMITERS;

describe('parseHl7', () => {
  test('numbers MSH fields so that MSH-1 is the separator and MSH-2 the encoding characters', () => {
    const message = parseHl7('MSH|^~\\&|EHR|NORTH|MPI|HQ|20240102030405||ADT^A04^ADT_A01|C-1|P|2.5.1\rPID|1||MRN-1^^^EHR^MR');
    const msh = message.segments[0];
    expect(msh?.fields.slice(0, 4)).toEqual(['MSH', '|', '^~\\&', 'EHR']);
    expect(valueAt(msh, 9, d, 2)).toBe('A04');
    expect(valueAt(msh, 10, d)).toBe('C-1');
    expect(valueAt(message.segments[1], 3, d, 4)).toBe('EHR');
  });

  test.each([
    { ending: 'CR', sep: '\r' },
    { ending: 'LF', sep: '\n' },
    { ending: 'CRLF', sep: '\r\n' },
  ])('splits segments ended by $ending and skips blank lines', ({ sep }) => {
    const message = parseHl7(['MSH|^~\\&|A', 'EVN|A04', '', 'PID|1'].join(sep) + sep);
    expect(message.segments.map((s) => s.name)).toEqual(['MSH', 'EVN', 'PID']);
  });

  test('uses the delimiters the message declares', () => {
    const message = parseHl7('MSH#*@!%#EHR#NORTH\rPID#1##MRN-1*2*3*EHR@@SUB%PART#*x');
    expect(message.delimiters).toEqual({ field: '#', component: '*', repetition: '@', escape: '!', subcomponent: '%' });
    const reps = repetitions(message.segments[1], 3, message.delimiters);
    expect(reps).toEqual([[['MRN-1'], ['2'], ['3'], ['EHR']], [['']], [['SUB', 'PART']]]);
  });

  test('reads the v2.7 truncation character as a fifth encoding character', () => {
    expect(parseHl7('MSH|^~\\&#|A').delimiters.truncation).toBe('#');
  });

  test('splits repetitions, components and subcomponents and decodes escapes only at the leaf', () => {
    const message = parseHl7('MSH|^~\\&|A\rPID|1||||O\\S\\Brien&Van\\T\\Dyke^Ann~Second^Name');
    expect(repetitions(message.segments[1], 5, d)).toEqual([
      [['O^Brien', 'Van&Dyke'], ['Ann']],
      [['Second'], ['Name']],
    ]);
  });

  test.each([
    { behaviour: 'a message without MSH', raw: 'PID|1||MRN-1' },
    { behaviour: 'an empty message', raw: '' },
    { behaviour: 'missing encoding characters', raw: 'MSH|^~|A' },
    { behaviour: 'repeated encoding characters', raw: 'MSH|^^\\&|A' },
    { behaviour: 'a letter as field separator', raw: 'MSHX^~\\&XA' },
    { behaviour: 'a NUL as field separator', raw: 'MSH\u0000^~\\&\u0000A' },
    { behaviour: 'a control character among the encoding characters', raw: 'MSH|^~\\\u0007|A' },
    { behaviour: 'a segment with an invalid name', raw: 'MSH|^~\\&|A\rpid|1' },
  ])('rejects $behaviour', ({ raw }) => {
    expect(() => parseHl7(raw)).toThrow(Hl7ParseError);
  });

  test('accepts leading whitespace and a byte-order mark before MSH', () => {
    expect(parseHl7('\uFEFF\n  MSH|^~\\&|A').segments).toHaveLength(1);
  });
});

describe('escape sequences', () => {
  test.each([
    { raw: 'A\\F\\B', text: 'A|B' },
    { raw: 'A\\S\\B', text: 'A^B' },
    { raw: 'A\\T\\B', text: 'A&B' },
    { raw: 'A\\R\\B', text: 'A~B' },
    { raw: 'C:\\E\\temp', text: 'C:\\temp' },
    { raw: 'line\\.br\\next', text: 'line\nnext' },
    { raw: '\\H\\bold\\N\\', text: 'bold' },
    { raw: 'caf\\XC3A9\\', text: 'café' },
    { raw: 'caf\\XE9\\', text: 'café' },
    { raw: 'unterminated \\F', text: 'unterminated \\F' },
    { raw: '\\C2842\\x', text: 'x' },
  ])('decodes $raw', ({ raw, text }) => {
    expect(unescapeHl7(raw, d)).toBe(text);
  });

  test('round-trips every delimiter and line breaks through escapeHl7', () => {
    const text = 'a|b^c&d~e\\f\ng';
    const escaped = escapeHl7(text, d);
    expect(escaped).not.toMatch(/[|^&~\n]/);
    expect(unescapeHl7(escaped, d)).toBe(text);
  });
});

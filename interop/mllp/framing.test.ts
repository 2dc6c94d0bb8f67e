import { describe, expect, test } from 'vitest';
import { frameMllp, MllpDecoder, MllpFrameTooLargeError } from './framing.ts';

const decode = (chunks: Buffer[], max = 1024) => {
  const decoder = new MllpDecoder(max);
  return chunks.flatMap((c) => decoder.push(c)).map((f) => f.toString('utf8'));
};

describe('MLLP framing', () => {
  test('wraps a message in VT ... FS CR', () => {
    expect([...frameMllp('MSH|A')]).toEqual([0x0b, ...Buffer.from('MSH|A'), 0x1c, 0x0d]);
  });

  test('decodes several frames from one chunk', () => {
    expect(decode([Buffer.concat([frameMllp('one'), frameMllp('two'), frameMllp('three')])])).toEqual(['one', 'two', 'three']);
  });

  test.each([1, 2, 3, 5, 7])('reassembles frames split into %i-byte chunks', (size) => {
    const bytes = Buffer.concat([frameMllp('MSH|^~\\&|first\rPID|1'), frameMllp('MSH|^~\\&|second')]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    expect(decode(chunks)).toEqual(['MSH|^~\\&|first\rPID|1', 'MSH|^~\\&|second']);
  });

  test('keeps a multi-byte character intact when a chunk boundary falls inside it', () => {
    const bytes = frameMllp('Zoë Ångström');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(decode([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['Zoë Ångström']);
  });

  test('ignores bytes between frames and accepts a frame without the final CR', () => {
    const bytes = Buffer.concat([
      Buffer.from('\r\nnoise'),
      Buffer.from([0x0b]),
      Buffer.from('a'),
      Buffer.from([0x1c]),
      Buffer.from('\n'),
      frameMllp('b'),
    ]);
    expect(decode([bytes])).toEqual(['a', 'b']);
  });

  test('drops an abandoned partial frame when a new frame starts', () => {
    const bytes = Buffer.concat([Buffer.from([0x0b]), Buffer.from('half'), frameMllp('whole')]);
    expect(decode([bytes])).toEqual(['whole']);
  });

  test('refuses a frame larger than the limit, even when it arrives in pieces', () => {
    const decoder = new MllpDecoder(10);
    decoder.push(Buffer.from([0x0b, ...Buffer.from('12345')]));
    expect(() => decoder.push(Buffer.from('678901'))).toThrow(MllpFrameTooLargeError);
    expect(decoder.pending).toBe(false);
    expect(decoder.push(frameMllp('ok')).map(String)).toEqual(['ok']);
  });
});

import { describe, expect, test } from 'vitest';
import { textProblem } from './text-policy.ts';

describe('the character policy', () => {
  test.each([
    ['NUL', 'a\u0000b'],
    ['escape (C0)', 'a\u001b[31mb'],
    ['DEL', 'a\u007fb'],
    ['NEL (C1)', 'a\u0085b'],
    ['CSI (C1)', 'a\u009bb'],
    ['right-to-left mark U+200F', 'a\u200fb'],
    ['left-to-right mark U+200E', 'a\u200eb'],
    ['Arabic letter mark U+061C', 'a\u061cb'],
    ['right-to-left override U+202E', 'a\u202eb'],
    ['first strong isolate U+2068', 'a\u2068b'],
    ['zero-width space U+200B', 'a\u200bb'],
    ['word joiner U+2060', 'a\u2060b'],
    ['invisible separator U+2063', 'a\u2063b'],
    ['byte-order mark U+FEFF', '\ufeffab'],
    ['line separator U+2028', 'a\u2028b'],
    ['tag LATIN A U+E0041', 'a\u{E0041}b'],
    ['cancel tag U+E007F', 'a\u{E007F}'],
    ['lone high surrogate', 'a\ud800'],
    ['lone low surrogate', '\udc00a'],
  ])('refuses %s', (_kind, value) => {
    expect(textProblem(value, { lineBreaks: true })?.code).toBe('INVALID_CHARACTERS');
  });

  test.each([
    ['plain text', "O'Brien-Smith"],
    ['accents and other scripts', 'Zoë Ñúñez 山田 محمد'],
    ['a zero-width joiner (needed by some scripts)', 'क्\u200dष'],
    ['a zero-width non-joiner', 'می\u200cخواهم'],
    ['an emoji (a surrogate pair)', 'a 😀'],
  ])('accepts %s', (_kind, value) => {
    expect(textProblem(value)).toBeNull();
  });

  test('tabs and line breaks only where free text allows them', () => {
    expect(textProblem('line one\nline\ttwo\r\n', { lineBreaks: true })).toBeNull();
    expect(textProblem('Smith\nDROP')).toEqual({ code: 'INVALID_CHARACTERS', message: 'must not contain tabs or line breaks' });
  });
});

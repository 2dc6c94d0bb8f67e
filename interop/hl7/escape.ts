import type { Delimiters } from './message.ts';

/**
 * HL7 v2 escape sequences (v2.5.1 chapter 2, section 2.7): \F\ \S\ \T\ \R\ \E\ stand for the delimiters,
 * \Xhh..\ for raw bytes, \.br\ for a line break; highlighting (\H\ \N\), character-set switches (\C..\ \M..\)
 * and other formatting commands carry no text and are dropped. An unterminated escape is kept literally.
 */
export function unescapeHl7(value: string, d: Delimiters): string {
  if (!value.includes(d.escape)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i] as string;
    if (ch !== d.escape) {
      out += ch;
      i += 1;
      continue;
    }
    const end = value.indexOf(d.escape, i + 1);
    if (end < 0) {
      out += value.slice(i);
      break;
    }
    out += decodeSequence(value.slice(i + 1, end), d);
    i = end + 1;
  }
  return out;
}

function decodeSequence(body: string, d: Delimiters): string {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'P':
      return d.truncation ?? '';
    case '.br':
      return '\n';
    case '':
      // "\\" is not a sequence: an empty escape keeps both characters.
      return d.escape + d.escape;
  }
  if (body.startsWith('X') && /^X([0-9A-Fa-f]{2})+$/.test(body)) return decodeHex(body.slice(1));
  return '';
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeHex(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * A character (below U+0100) as HL7's hex escape `\Xhh\` in the escape character `escape`: what `unescapeHl7` reads
 * back as the same character. For the bytes no message may carry raw (a NUL, MLLP's framing bytes).
 */
export function hexEscape(ch: string, escape: string): string {
  return `${escape}X${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}${escape}`;
}

/** Escapes text for one HL7 field value; line breaks become \.br\. */
export function escapeHl7(value: string, d: Delimiters): string {
  const map = new Map<string, string>([
    [d.escape, 'E'],
    [d.field, 'F'],
    [d.component, 'S'],
    [d.subcomponent, 'T'],
    [d.repetition, 'R'],
    ['\n', '.br'],
  ]);
  if (d.truncation !== undefined) map.set(d.truncation, 'P');
  let out = '';
  for (const ch of value.replace(/\r\n?/g, '\n')) {
    const code = map.get(ch);
    out += code === undefined ? ch : `${d.escape}${code}${d.escape}`;
  }
  return out;
}

import { unescapeHl7 } from './escape.ts';

/** The delimiters a message declares in MSH-1 and MSH-2. */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7+ truncation character, when MSH-2 has a fifth character. */
  truncation?: string;
}

export const DEFAULT_DELIMITERS: Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/** One segment; `fields[n]` is SEG-n as raw text (for MSH, fields[1] is the field separator, as in MSH-1). */
export interface Segment {
  name: string;
  fields: string[];
}

export interface Hl7Message {
  delimiters: Delimiters;
  segments: Segment[];
}

/** Decoded content of one repetition: components, each a list of subcomponents. */
export type Repetition = string[][];

export class Hl7ParseError extends Error {
  override readonly name = 'Hl7ParseError';
}

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

/**
 * Parses an HL7 v2.x message. Segments may end in CR (the standard), LF or CRLF; delimiters come from
 * MSH-1/MSH-2, never assumed. Field values stay raw until read, so escapes are decoded once, at the leaf.
 */
export function parseHl7(raw: string): Hl7Message {
  const text = raw.replace(/^\uFEFF/, '').replace(/^\s+/, '');
  if (!text.startsWith('MSH')) throw new Hl7ParseError('message does not start with an MSH segment');
  const delimiters = readDelimiters(text);
  const segments: Segment[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') continue;
    const parts = line.split(delimiters.field);
    const name = parts[0] as string;
    if (!SEGMENT_NAME.test(name)) throw new Hl7ParseError(`segment ${segments.length + 1} has an invalid name`);
    if (name === 'MSH') parts.splice(1, 0, delimiters.field);
    segments.push({ name, fields: parts });
  }
  return { delimiters, segments };
}

/** What no delimiter may be: a letter, a digit, white space or a control character (a NUL, say). */
const NOT_A_DELIMITER = /[A-Za-z0-9\s\p{Cc}]/u;

function readDelimiters(text: string): Delimiters {
  const field = text[3];
  if (field === undefined || NOT_A_DELIMITER.test(field)) throw new Hl7ParseError('MSH-1 field separator is missing or invalid');
  const rest = text.slice(4);
  const stop = [...rest].findIndex((c) => c === field || c === '\r' || c === '\n');
  const chars = [...rest].slice(0, stop < 0 ? undefined : stop);
  const all = [field, ...chars];
  if (chars.length < 4 || chars.length > 5 || new Set(all).size !== all.length || all.some((c) => NOT_A_DELIMITER.test(c))) {
    throw new Hl7ParseError('MSH-2 encoding characters are missing or invalid');
  }
  const [component, repetition, escape, subcomponent, truncation] = chars as [string, string, string, string, string?];
  return { field, component, repetition, escape, subcomponent, ...(truncation ? { truncation } : {}) };
}

/** All segments with this name, in order. */
export function segmentsNamed(message: Hl7Message, name: string): Segment[] {
  return message.segments.filter((s) => s.name === name);
}

/** The first segment with this name. */
export function firstSegment(message: Hl7Message, name: string): Segment | undefined {
  return message.segments.find((s) => s.name === name);
}

/** SEG-n split into repetitions of components of subcomponents, each decoded; [] when empty. */
export function repetitions(segment: Segment | undefined, n: number, d: Delimiters): Repetition[] {
  const raw = segment?.fields[n] ?? '';
  if (raw === '') return [];
  if (segment?.name === 'MSH' && n <= 2) return [[[raw]]];
  return raw
    .split(d.repetition)
    .map((rep) => rep.split(d.component).map((component) => component.split(d.subcomponent).map((sub) => unescapeHl7(sub, d))));
}

/** Component `c` (1-based), subcomponent `s`, of a repetition; '' when absent. */
export function component(rep: Repetition | undefined, c: number, s = 1): string {
  return rep?.[c - 1]?.[s - 1] ?? '';
}

/** Shorthand for the decoded SEG-n.c.s of the first repetition. */
export function valueAt(segment: Segment | undefined, n: number, d: Delimiters, c = 1, s = 1): string {
  return component(repetitions(segment, n, d)[0], c, s);
}

import { escapeHl7, hexEscape } from './escape.ts';
import { describeLocation, type ErrorLocation, type Hl7ErrorCondition } from './errors.ts';
import { DEFAULT_DELIMITERS, firstSegment, type Delimiters, type Hl7Message } from './message.ts';

/** Original mode AA/AE/AR; enhanced mode commit acknowledgements CA/CE/CR (HL7 table 0008). */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface AckError {
  condition: Hl7ErrorCondition;
  /** Value-free text naming the problem. */
  text: string;
  location?: ErrorLocation;
}

export interface AckOptions {
  code: AckCode;
  /** MSH-10 of the ACK itself. */
  controlId: string;
  timestamp: Date;
  /** MSA-3 text (AA) or the error (AE/AR). */
  text?: string;
  error?: AckError;
  /** Problems that refused nothing (a value kept out of matching): one ERR segment each, severity W. */
  warnings?: AckError[];
  /** Our MSH-3/MSH-4 when the original named no receiving application/facility. */
  application?: { name: string; facility?: string };
}

/**
 * Builds the ACK for a message (original acknowledgement mode, v2.5.1 chapter 2): MSH with sender and
 * receiver swapped, `ACK^<trigger>^ACK`, MSA echoing the original control id, and for AE/AR an ERR segment
 * with location (ERR-2), table 0357 code (ERR-3), severity (ERR-4) and text (ERR-8), plus ERR-1 for v2.3/2.4
 * receivers. Warnings (severity W) follow in ERR segments of their own whatever the code. Written in the original message's delimiters, so echoed fields stay valid. `original` may be null
 * when the message could not be parsed at all.
 */
export function buildAck(original: Hl7Message | null, opts: AckOptions): string {
  const d = original?.delimiters ?? DEFAULT_DELIMITERS;
  const msh = original ? firstSegment(original, 'MSH') : undefined;
  // Echoed as sent, but a control character (a NUL, MLLP's framing bytes) as HL7's hex escape: the same value to
  // the sender's parser, and no byte that could cut the ACK's frame short or stop a string-based reader.
  const raw = (n: number) => echoable(msh?.fields[n] ?? '', d);
  const trigger = (raw(9).split(d.component)[1] ?? '').trim();
  const encoding = `${d.component}${d.repetition}${d.escape}${d.subcomponent}${d.truncation ?? ''}`;
  const ourApp = raw(5) || escapeHl7(opts.application?.name ?? 'MPI', d);
  const ourFacility = raw(6) || escapeHl7(opts.application?.facility ?? '', d);
  const header = [
    'MSH',
    encoding,
    ourApp,
    ourFacility,
    raw(3),
    raw(4),
    formatTimestamp(opts.timestamp),
    '',
    ['ACK', trigger, 'ACK'].join(d.component),
    escapeHl7(opts.controlId, d),
    raw(11) || 'P',
    raw(12) || '2.5.1',
  ].join(d.field);
  const text = opts.error?.text ?? opts.text ?? '';
  const segments = [header, ['MSA', opts.code, raw(10), escapeHl7(text, d)].join(d.field)];
  if (opts.error && opts.code !== 'AA' && opts.code !== 'CA') segments.push(errSegment(opts.error, d, 'E'));
  for (const warning of opts.warnings ?? []) segments.push(errSegment(warning, d, 'W'));
  return segments.join('\r');
}

/** Control characters (C0 and DEL) written as HL7 hex escapes in the message's escape character. */
function echoable(value: string, d: Delimiters): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, (ch) => hexEscape(ch, d.escape));
}

/** ERR-4 severity (HL7 table 0516): E error, W warning. */
function errSegment(error: AckError, d: Delimiters, severity: 'E' | 'W'): string {
  const { code, name } = error.condition;
  const loc = error.location;
  const codeCwe = [String(code), escapeHl7(name, d), 'HL70357'];
  const at = (n: number | undefined) => (n === undefined ? '' : String(n));
  // ERR-1 (v2.3/2.4 ELD): segment^sequence^field^code&text&table.
  const eld = loc ? [loc.segment, at(loc.sequence ?? 1), at(loc.field), codeCwe.join(d.subcomponent)] : [];
  // ERR-2 (v2.5+ ERL): segment^sequence^field^field repetition^component.
  const erl = loc
    ? trimEmpty([
        loc.segment,
        at(loc.sequence ?? 1),
        at(loc.field),
        loc.field === undefined ? '' : at(loc.repetition ?? 1),
        at(loc.component),
      ])
    : [];
  const text = escapeHl7(`${describeLocation(loc)}: ${error.text}`, d);
  return ['ERR', eld.join(d.component), erl.join(d.component), codeCwe.join(d.component), severity, '', '', '', text].join(d.field);
}

function trimEmpty(parts: string[]): string[] {
  const out = [...parts];
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** HL7 DTM to the second, in UTC: YYYYMMDDHHMMSS+0000. */
export function formatTimestamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}+0000`;
}

import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { MllpDecoder, START_BLOCK } from './framing.ts';

export interface ImportHl7Options {
  encoding?: BufferEncoding;
  /** Largest message in an MLLP-framed file. Default 16 MiB. */
  maxMessageBytes?: number;
  /** Called after each message with its 1-based number and the ACK code. */
  onMessage?: (index: number, ackCode: string) => void;
}

export interface Hl7ImportSummary {
  messages: number;
  /** AA (or CA). */
  accepted: number;
  /** AE (or CE). */
  errors: number;
  /** AR (or CR), or a reply without MSA. */
  rejected: number;
}

export class Hl7ImportError extends Error {
  override readonly name = 'Hl7ImportError';
  constructor(
    /** 1-based number of the message that could not be handled; earlier ones are done. */
    readonly messageNumber: number,
    readonly summary: Hl7ImportSummary,
    options: { cause: unknown },
  ) {
    super(`HL7 import stopped at message ${messageNumber}: it could be neither processed nor kept`, options);
  }
}

/**
 * Feeds every message of a file to `handle` (the same function the MLLP listener uses), in order. The file is
 * either MLLP-framed or plain text, where a message starts at each MSH and blank lines separate messages;
 * batch envelopes (FHS, BHS, BTS, FTS) are skipped. Non-blank text outside any message is still handed over,
 * so it is answered and dead-lettered rather than silently lost. Streams: memory stays flat for large files.
 */
export async function importHl7File(
  path: string,
  handle: (message: string) => Promise<string | null>,
  opts: ImportHl7Options = {},
): Promise<Hl7ImportSummary> {
  const summary: Hl7ImportSummary = { messages: 0, accepted: 0, errors: 0, rejected: 0 };
  const handleOne = async (message: string) => {
    const number = summary.messages + 1;
    let ack: string | null;
    try {
      ack = await handle(message);
    } catch (cause) {
      throw new Hl7ImportError(number, { ...summary }, { cause });
    }
    summary.messages = number;
    // No acknowledgement: an enhanced-mode message whose MSH-15 asked for none in this case (NE, or SU/ER).
    const code = ack === null ? 'NONE' : ackCode(ack);
    if (code === 'AA' || code === 'CA' || code === 'NONE') summary.accepted += 1;
    else if (code === 'AE' || code === 'CE') summary.errors += 1;
    else summary.rejected += 1;
    opts.onMessage?.(number, code);
  };

  const encoding = opts.encoding ?? 'utf8';
  let splitter: { push(chunk: Buffer): string[]; end(): string[] } | null = null;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    splitter ??= startsWithFrame(buffer) ? framedSplitter(opts.maxMessageBytes ?? 16 * 1024 * 1024, encoding) : textSplitter(encoding);
    for (const message of splitter.push(buffer)) await handleOne(message);
  }
  for (const message of splitter?.end() ?? []) await handleOne(message);
  return summary;
}

function startsWithFrame(chunk: Buffer): boolean {
  for (const byte of chunk) {
    if (byte === START_BLOCK) return true;
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  }
  return false;
}

function framedSplitter(maxBytes: number, encoding: BufferEncoding) {
  const decoder = new MllpDecoder(maxBytes);
  return {
    push: (chunk: Buffer) => decoder.push(chunk).map((frame) => frame.toString(encoding)),
    end: () => [] as string[],
  };
}

const ENVELOPE = /^(FHS|BHS|BTS|FTS)/;

/** Splits plain text into messages at MSH segments and blank lines; segments are re-joined with CR. */
export function textSplitter(encoding: BufferEncoding = 'utf8') {
  const decoder = new StringDecoder(encoding);
  let carry = '';
  let current: string[] = [];
  const flush = (out: string[]) => {
    if (current.length > 0) out.push(current.join('\r'));
    current = [];
  };
  const takeLines = (lines: string[]) => {
    const out: string[] = [];
    for (const line of lines) {
      if (line.trim() === '') flush(out);
      else if (ENVELOPE.test(line)) flush(out);
      else {
        if (line.startsWith('MSH')) flush(out);
        current.push(line);
      }
    }
    return out;
  };
  return {
    push(chunk: Buffer): string[] {
      const text = carry + decoder.write(chunk);
      // A CR at the very end may be the first half of CRLF: keep it with the carried partial line.
      const cut = text.endsWith('\r') ? text.length - 1 : text.length;
      const lines = text.slice(0, cut).split(/\r\n|\r|\n/);
      carry = (lines.pop() ?? '') + text.slice(cut);
      return takeLines(lines);
    },
    end(): string[] {
      const rest = (carry + decoder.end()).split(/\r\n|\r|\n/);
      carry = '';
      const out = takeLines(rest);
      flush(out);
      return out;
    },
  };
}

function ackCode(ack: string): string {
  const msa = ack.split(/\r\n|\r|\n/).find((s) => s.startsWith('MSA'));
  if (!msa || msa.length < 4) return '';
  return msa.split(msa[3] as string)[1] ?? '';
}

import { randomUUID } from 'node:crypto';
import { isPortError, problemsOf, type InteropPort, type PortFailure, type SourceRef } from '../ports.ts';
import { buildAck, type AckCode, type AckError } from './ack.ts';
import { adtCommands, readHeader, type AdtCommand, type CxIdentifier, type MessageHeader } from './adt.ts';
import { describeLocation, HL7_ERROR, Hl7Error, type ErrorLocation } from './errors.ts';
import { Hl7ParseError, parseHl7, type Hl7Message } from './message.ts';

export interface Hl7HandlerOptions<C = unknown> {
  /**
   * Keeps a message that could not be processed, with a value-free reason, for review. Must not lose it:
   * if it throws, the handler throws too and no ACK is sent, so the sender keeps and resends the message.
   */
  deadLetter: (raw: string, reason: string, context: C) => Promise<void> | void;
  /** Our MSH-3/MSH-4 when the sender left MSH-5/MSH-6 empty. */
  application?: { name: string; facility?: string };
  /** Trigger events acknowledged with AA and deliberately not processed (e.g. A02 transfers). Default none. */
  ignoreEvents?: string[];
  now?: () => Date;
  newControlId?: () => string;
  /** Called with unexpected errors (answered AE 207). Log codes and ids only: no PHI. */
  onError?: (error: unknown, info: { controlId: string | null; event: string | null }) => void;
}

export interface Hl7Result {
  /**
   * The reply to send back, or null when the sender asked for none: in enhanced mode (MSH-15 set) a commit
   * acknowledgement is sent only under the MSH-15 condition (AL always, NE never, ER on errors, SU on success).
   */
  ack: string | null;
  /** The outcome: AA/AE/AR, or CA/CE/CR in enhanced mode. */
  code: AckCode;
  /** MSH-10 of the message, when it could be read. */
  controlId: string | null;
  /** e.g. `ADT^A04`. */
  event: string | null;
  /** Set for AE/AR: the reason the message was dead-lettered. */
  reason?: string;
}

/** Handles one HL7 v2 message: its ACK, with the caller's context passed to every port call. */
export type Hl7Handler<C> = (raw: string, context: C) => Promise<Hl7Result>;

/**
 * Creates the ADT message handler: parse, map to port commands, run them in order, acknowledge. Every message
 * that is not accepted (AE/AR) is handed to `deadLetter` before its ACK is returned.
 */
export function createHl7Handler<C>(port: InteropPort<C>, opts: Hl7HandlerOptions<C>): Hl7Handler<C> {
  const now = opts.now ?? (() => new Date());
  const newControlId = opts.newControlId ?? (() => randomUUID().replace(/-/g, '').slice(0, 20));
  const ignored = new Set((opts.ignoreEvents ?? []).map((e) => e.toUpperCase()));
  const ackFor = (message: Hl7Message | null, code: AckCode, extra: { text?: string; error?: AckError; warnings?: AckError[] }) =>
    buildAck(message, {
      code,
      controlId: newControlId(),
      timestamp: now(),
      ...extra,
      ...(opts.application ? { application: opts.application } : {}),
    });

  const handle = async (raw: string, context: C): Promise<Hl7Result & { ack: string }> => {
    let message: Hl7Message | null = null;
    let header: MessageHeader | null = null;
    try {
      message = parseHl7(raw);
      header = readHeader(message);
      if (header.messageType === 'ADT' && ignored.has(header.trigger)) {
        return { ack: ackFor(message, 'AA', { text: 'event not processed by this receiver' }), code: 'AA', ...ids(header) };
      }
      const commands = adtCommands(message, header);
      const text = await runCommands(port, context, commands, reasonFor(header));
      const warnings = commands.flatMap((c) => (c.kind === 'upsert' ? c.warnings : []));
      return { ack: ackFor(message, 'AA', { text, warnings }), code: 'AA', ...ids(header) };
    } catch (error) {
      const failure = classify(error);
      if (failure.condition === HL7_ERROR.INTERNAL) opts.onError?.(error, header ? ids(header) : { controlId: null, event: null });
      const reason = `${failure.condition.code} ${failure.condition.name} at ${describeLocation(failure.location)}: ${failure.text}`;
      await opts.deadLetter(raw, reason, context);
      const ack = ackFor(message, failure.ack, { error: failure });
      return { ack, code: failure.ack, ...(header ? ids(header) : { controlId: null, event: null }), reason };
    }
  };

  return async (raw, context) => {
    const mode = acceptAckType(raw);
    if (mode === null) return handle(raw, context);
    // Enhanced mode: the message is committed (or refused) here and answered with a commit acknowledgement.
    // There is no later application acknowledgement: processing is synchronous, so MSH-16 asks for nothing more.
    const result = await handle(raw, context);
    const code = COMMIT_CODE[result.code];
    const wanted = mode === 'AL' || (mode === 'ER' && code !== 'CA') || (mode === 'SU' && code === 'CA');
    const ack = wanted ? result.ack.replace(/(\rMSA.)A[AER]/, (_m, head: string) => `${head}${code}`) : null;
    return { ...result, ack, code };
  };
}

const COMMIT_CODE: Record<AckCode, AckCode> = { AA: 'CA', AE: 'CE', AR: 'CR', CA: 'CA', CE: 'CE', CR: 'CR' };

/**
 * MSH-15 (accept acknowledgement type, HL7 table 0155) of a raw message: AL, NE, ER or SU, or null when empty
 * (original acknowledgement mode) or unreadable.
 */
function acceptAckType(raw: string): 'AL' | 'NE' | 'ER' | 'SU' | null {
  if (!raw.startsWith('MSH') || raw.length < 8) return null;
  const separator = raw[3]!;
  const msh = raw.split(/\r\n|\r|\n/, 1)[0]!;
  // MSH-1 is the separator itself, so MSH-n is split index n-1.
  const value = (msh.split(separator)[14] ?? '').trim().toUpperCase();
  return value === 'AL' || value === 'NE' || value === 'ER' || value === 'SU' ? value : null;
}

/**
 * The AR for a frame over the size limit, built from its first bytes (the MSH), so the sender stops resending
 * a message that can never be accepted. Null when not even the MSH can be read.
 */
export function oversizedAck(head: string, maxBytes: number, opts: { now?: () => Date; newControlId?: () => string } = {}): string | null {
  const msh = head.split(/\r\n|\r|\n/, 1)[0] ?? '';
  let message: Hl7Message;
  try {
    message = parseHl7(msh);
  } catch {
    return null;
  }
  const error: AckError = { condition: HL7_ERROR.INTERNAL, text: `message exceeds ${maxBytes} bytes`, location: { segment: 'MSH' } };
  const mode = acceptAckType(msh);
  return buildAck(message, {
    code: mode === null ? 'AR' : 'CR',
    controlId: (opts.newControlId ?? (() => randomUUID().replace(/-/g, '').slice(0, 20)))(),
    timestamp: (opts.now ?? (() => new Date()))(),
    error,
  });
}

function ids(header: MessageHeader): { controlId: string | null; event: string | null } {
  return {
    controlId: header.controlId || null,
    event: header.trigger ? `${header.messageType}^${header.trigger}` : header.messageType || null,
  };
}

/** Why the service changed an identity: the message, never its content. */
function reasonFor(header: MessageHeader): string {
  const from = header.sendingFacility ? ` from ${header.sendingFacility}` : '';
  return `HL7 ${header.messageType}^${header.trigger} control id ${header.controlId || '(none)'}${from}`;
}

async function runCommands<C>(port: InteropPort<C>, ctx: C, commands: AdtCommand[], reason: string): Promise<string> {
  const outcomes: string[] = [];
  for (const command of commands) {
    switch (command.kind) {
      case 'upsert': {
        const ref = await sourceRef(port, ctx, command.identifier);
        outcomes.push((await port.ingest(ctx, { ...command.record, ...ref })).outcome);
        break;
      }
      case 'merge': {
        const [survivor, merged] = [await sourceRef(port, ctx, command.survivor), await sourceRef(port, ctx, command.merged)];
        // The port names the side it could not find: an unknown survivor is the PID's fault, not the MRG's.
        const side = (field?: string) => (field === 'survivor' ? command.survivor.location : command.merged.location);
        await withLocation(side, () => port.mergeBySourceIds(ctx, survivor, merged, reason));
        outcomes.push('MERGED');
        break;
      }
      case 'unlink':
        await withLocation(command.identifier.location, async () =>
          port.unlinkBySourceIds(ctx, await sourceRef(port, ctx, command.identifier), reason),
        );
        outcomes.push('UNLINKED');
        break;
      case 'delete':
        await withLocation(command.identifier.location, async () => port.deleteRecord(ctx, await sourceRef(port, ctx, command.identifier)));
        outcomes.push('DELETED');
        break;
    }
  }
  return outcomes.join(' ');
}

/**
 * The records a message names (source and local id), resolved as handling it resolves them (`sourceRef`); null when
 * it cannot be read as a supported ADT message or names an unknown authority, which handling it then answers.
 */
export async function messageRefs<C>(raw: string, port: InteropPort<C>, ctx: C): Promise<SourceRef[] | null> {
  let commands: AdtCommand[];
  try {
    const message = parseHl7(raw);
    commands = adtCommands(message, readHeader(message));
  } catch {
    return null;
  }
  const refs: SourceRef[] = [];
  for (const cx of commands.flatMap((c) => (c.kind === 'merge' ? [c.survivor, c.merged] : [c.identifier]))) {
    try {
      refs.push(await sourceRef(port, ctx, cx));
    } catch {
      return null;
    }
  }
  return refs;
}

/**
 * The source of a CX: the port's mapping of the assigning authority's namespace ID, else of its universal ID
 * (`urn:oid:` for ISO OIDs), else the namespace ID itself taken as a source code.
 */
async function sourceRef<C>(port: InteropPort<C>, ctx: C, cx: CxIdentifier): Promise<SourceRef> {
  const candidates = [
    cx.namespace,
    cx.universalId && cx.universalIdType.toUpperCase() === 'ISO' ? `urn:oid:${cx.universalId}` : cx.universalId,
  ].filter((s) => s !== '');
  for (const system of candidates) {
    const source = await port.sourceForSystem(ctx, system);
    if (source !== null) return { source, localId: cx.id };
  }
  if (cx.namespace) return { source: cx.namespace, localId: cx.id };
  throw new Hl7Error(HL7_ERROR.UNKNOWN_KEY, 'assigning authority is not a registered source', { ...cx.location, component: 4 });
}

/** Runs a port call, pinning a NOT_FOUND refusal to the identifier it was about (chosen by the error's field). */
async function withLocation<T>(location: ErrorLocation | ((field?: string) => ErrorLocation), run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isPortError(error) && error.code === 'NOT_FOUND') {
      const at = typeof location === 'function' ? location(error.field) : location;
      throw new Hl7Error(HL7_ERROR.UNKNOWN_KEY, error.message, at, 'AE', { cause: error });
    }
    throw error;
  }
}

/** Canonical field -> PID field, to point the service's validation errors at the message. */
const PID_FIELD: Record<string, number> = {
  source: 3,
  localId: 3,
  familyName: 5,
  givenName: 5,
  middleName: 5,
  suffix: 5,
  birthDate: 7,
  sex: 8,
  addressLine1: 11,
  addressLine2: 11,
  city: 11,
  state: 11,
  postalCode: 11,
  phone: 13,
  email: 13,
  ssn: 19,
};

type Failure = AckError & { ack: AckCode };

function classify(error: unknown): Failure {
  if (error instanceof Hl7Error) {
    return { condition: error.condition, text: error.message, ack: error.ack, ...(error.location ? { location: error.location } : {}) };
  }
  if (error instanceof Hl7ParseError)
    return { condition: HL7_ERROR.SEGMENT_SEQUENCE, text: error.message, ack: 'AR', location: { segment: 'MSH' } };
  if (isPortError(error)) return portFailure(error);
  return { condition: HL7_ERROR.INTERNAL, text: 'internal error', ack: 'AE' };
}

function portFailure(error: PortFailure): Failure {
  const problem = problemsOf(error)[0];
  const field = problem ? PID_FIELD[problem.field] : undefined;
  const location = field === undefined ? undefined : { segment: 'PID', sequence: 1, field };
  const condition =
    error.code === 'VALIDATION_FAILED'
      ? HL7_ERROR.DATA_TYPE
      : error.code === 'NOT_FOUND' || error.code === 'UNKNOWN_SOURCE'
        ? HL7_ERROR.UNKNOWN_KEY
        : HL7_ERROR.INTERNAL;
  // A refused caller will be refused again on resend: reject rather than report an error in the content.
  const ack = error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED' ? 'AR' : 'AE';
  return { condition, text: problem?.message ?? error.message, ack, ...(location ? { location } : {}) };
}

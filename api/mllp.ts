import { randomUUID } from 'node:crypto';
import {
  createHl7Handler,
  oversizedAck,
  parseHl7,
  readHeader,
  UPSERT_EVENTS,
  startMllpServer,
  type Hl7Result,
  type MllpServer,
} from '../interop/index.ts';
import { withSpan } from '../platform/telemetry.ts';
import type { Principal } from './context.ts';
import { interopAuditInTransaction, interopContext, ServiceInteropPort, writeInteropAudit } from './interop-port.ts';
import { withBeforeCommit } from '../platform/db/before-commit.ts';
import type { Services } from './services.ts';
import { errorFields } from '../platform/logger.ts';

/** What an event type looks like (`ADT^A04`); anything else a sender put in MSH-9 is recorded as `other`. */
const EVENT_SHAPE = /^[A-Z0-9]{2,3}(\^[A-Z0-9]{2,3})?$/;
/** A control id (MSH-10) is kept in the audit entry only when it is a plain token, so the trail holds no free text. */
const CONTROL_ID_SHAPE = /^[\w.:-]{1,64}$/;
/** Largest HL7 message the listener takes (MLLP frames over it are refused with an AR). */
const MLLP_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Where a message came from, for the audit entry. */
export interface Hl7MessageSource {
  clientAddress?: string | null;
}

/** Handles one HL7 v2 message end to end: processing, dead letter, audit. Resolves with its result and ACK. */
export type Hl7Service = (raw: string, from?: Hl7MessageSource) => Promise<Hl7Result>;

/**
 * The principal HL7 feeds act as. MLLP carries no credentials, so the listener is trusted by where it listens
 * (MPI_MLLP_HOST) and every message acts as this configured pipeline identity, which may also send A40/A37.
 */
export function hl7Principal(services: Services): Principal {
  const name = services.config.MPI_MLLP_ACTOR;
  return { id: `mllp:${name}`, name, roles: ['pipeline'], kind: 'local' };
}

/**
 * The HL7 ADT service over the identity service: what the MLLP listener and HL7 file imports call. A message that
 * is not accepted is kept in `dead_letters` before its ACK is returned; every message that read or wrote patient
 * data (a dead letter stores it too) leaves one audit entry. If either write fails the call throws and no ACK is
 * sent, so the sender keeps the message and resends it.
 */
export function createHl7Service(
  services: Services,
  principal: Principal = hl7Principal(services),
  options: { deadLetter?: (payload: string, reason: string) => Promise<string> } = {},
): Hl7Service {
  const port = new ServiceInteropPort(services);
  const keep = options.deadLetter ?? ((payload, reason) => services.deadLetters.save({ channel: 'hl7', payload, reason }));
  const handle = createHl7Handler(port, {
    ignoreEvents: services.config.MPI_HL7_IGNORE_EVENTS,
    application: { name: 'MPI' },
    deadLetter: async (payload, reason, ctx) => {
      const id = await keep(payload, reason);
      ctx.audit.wrote = true;
      ctx.audit.touch('dead_letter', id);
    },
    onError: (error, info) => services.logger.error({ ...info, ...errorFields(error) }, 'HL7 message failed'),
  });
  return (raw, from = {}) =>
    withSpan('hl7.message', {}, async (span) => {
      const own = interopContext('hl7', principal, randomUUID(), from.clientAddress ?? null);
      // A change the message makes commits with its audit entry, inside its own transaction.
      const declared = headerOf(raw);
      const result = await withBeforeCommit(
        interopAuditInTransaction(own, `hl7:${operationOf(declared.event)}`, {
          event: declared.event && EVENT_SHAPE.test(declared.event) ? declared.event : 'other',
          ...(declared.controlId && CONTROL_ID_SHAPE.test(declared.controlId) ? { controlId: declared.controlId } : {}),
        }),
        () => handle(raw, own),
      );
      const event = result.event && EVENT_SHAPE.test(result.event) ? result.event : 'other';
      // The event type and ACK code only: the control id and everything else in the message stay out of traces.
      span.setAttributes({ 'hl7.event': event, 'hl7.ack': result.code });
      await writeInteropAudit(
        services,
        own,
        `hl7:${operationOf(result.event)}`,
        result.code === 'AA' || result.code === 'CA' ? 'SUCCESS' : 'ERROR',
        {
          ack: result.code,
          event,
          ...(result.controlId && CONTROL_ID_SHAPE.test(result.controlId) ? { controlId: result.controlId } : {}),
        },
      );
      return result;
    });
}

/** The event (`ADT^A04`) and control id a message declares in MSH, before it is handled; nulls when unreadable. */
function headerOf(raw: string): { event: string | null; controlId: string | null } {
  try {
    const header = readHeader(parseHl7(raw));
    return {
      event: header.trigger ? `${header.messageType}^${header.trigger}` : header.messageType || null,
      controlId: header.controlId || null,
    };
  } catch {
    return { event: null, controlId: null };
  }
}

/** Audit operation per ADT trigger event (see interop/hl7/adt.ts). */
function operationOf(event: string | null): string {
  const trigger = event?.startsWith('ADT^') ? event.slice(4) : '';
  if ((UPSERT_EVENTS as readonly string[]).includes(trigger)) return 'ingest';
  return { A40: 'merge', A37: 'unlink', A29: 'delete' }[trigger] ?? 'message';
}

/** Starts the MLLP listener when MPI_MLLP_PORT is set; null otherwise. */
export async function startHl7Listener(services: Services, options: { port?: number; host?: string } = {}): Promise<MllpServer | null> {
  const port = options.port ?? services.config.MPI_MLLP_PORT;
  if (port === undefined) return null;
  const hl7 = createHl7Service(services);
  return startMllpServer({
    port,
    host: options.host ?? services.config.MPI_MLLP_HOST,
    handle: async (message, connection) => (await hl7(message, { clientAddress: connection.remoteAddress })).ack,
    // A frame over the limit is refused with an AR (CR in enhanced mode) naming its control id, then closed.
    tooLarge: (head) => oversizedAck(head, MLLP_MAX_MESSAGE_BYTES),
    maxMessageBytes: MLLP_MAX_MESSAGE_BYTES,
    onError: (error, connection) =>
      services.logger.warn({ remotePort: connection.remotePort, ...errorFields(error) }, 'MLLP connection error'),
  });
}

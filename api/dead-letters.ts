import {
  getDeadLetter,
  listDeadLetters,
  updateDeadLetter,
  type AckCode,
  type DeadLetterChannel,
  type DeadLetterRow,
  type DeadLetterStatus,
} from '../interop/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';
import type { Principal } from './context.ts';
import { createHl7Service } from './mllp.ts';
import type { Services } from './services.ts';

/** Dead letters oldest first; a null filter matches any channel or status. */
export function findDeadLetters(
  services: Services,
  filter: { channel: DeadLetterChannel | null; status: DeadLetterStatus | null; limit: number },
): Promise<DeadLetterRow[]> {
  return listDeadLetters(services.database.db, filter.channel, filter.status, filter.limit);
}

/** What replaying a dead letter did. */
export interface DeadLetterReplay {
  deadLetter: DeadLetterRow;
  /** The acknowledgement code the message got this time (AA/CA: accepted). */
  ackCode: AckCode;
  accepted: boolean;
}

/** The dead letter, open; NOT_FOUND or ALREADY_RESOLVED otherwise. */
async function openDeadLetter(services: Services, id: string): Promise<DeadLetterRow> {
  const row = UUID.test(id) ? await getDeadLetter(services.database.db, id) : null;
  if (!row) throw new NotFoundError('Dead letter');
  if (row.status !== 'OPEN') throw new ConflictError('DEAD_LETTER_CLOSED', `The dead letter is already ${row.status}`, 'id');
  return row;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs a dead-lettered HL7 message (or a corrected `payload` for it) through the HL7 service again, acting as
 * the admin who replays it, so the message's own audit entry names them. Accepted: the dead letter becomes
 * REPLAYED. Refused again: it stays OPEN with the new reason, and no second dead letter is kept.
 */
export async function replayDeadLetter(services: Services, id: string, principal: Principal, payload?: string): Promise<DeadLetterReplay> {
  const row = await openDeadLetter(services, id);
  if (row.channel !== 'hl7') {
    throw ValidationError.of('id', 'NOT_REPLAYABLE', 'only HL7 dead letters can be replayed: FHIR requests are answered as they arrive');
  }
  if (payload !== undefined && payload.trim() === '') throw ValidationError.of('payload', 'REQUIRED', 'must not be empty');
  let failedReason: string | null = null;
  const hl7 = createHl7Service(services, principal, {
    deadLetter: async (_payload, reason) => {
      failedReason = reason;
      return row.id;
    },
  });
  const result = await hl7(payload ?? row.payload);
  const accepted = failedReason === null;
  const updated = await updateDeadLetter(
    services.database.db,
    row.id,
    accepted ? { status: 'REPLAYED' } : { status: 'OPEN', reason: failedReason! },
  );
  return { deadLetter: updated!, ackCode: result.code, accepted };
}

/** Gives up a dead letter: it stays stored, marked DISCARDED, and leaves the open list. */
export async function discardDeadLetter(services: Services, id: string): Promise<DeadLetterRow> {
  const row = await openDeadLetter(services, id);
  return (await updateDeadLetter(services.database.db, row.id, { status: 'DISCARDED' }))!;
}

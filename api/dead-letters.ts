import type { AckCode, DeadLetterChannel, DeadLetterRow, DeadLetterStatus } from '../interop/index.ts';
import { ValidationError } from '../platform/errors.ts';
import type { Principal } from './context.ts';
import { createHl7Service } from './mllp.ts';
import type { Services } from './services.ts';

/** Dead letters oldest first; a null filter matches any channel or status. */
export function findDeadLetters(
  services: Services,
  filter: { channel: DeadLetterChannel | null; status: DeadLetterStatus | null; limit: number },
): Promise<DeadLetterRow[]> {
  return services.deadLetters.list(filter);
}

/** What replaying a dead letter did. */
export interface DeadLetterReplay {
  deadLetter: DeadLetterRow;
  /** The acknowledgement code the message got this time (AA/CA: accepted). */
  ackCode: AckCode;
  accepted: boolean;
}

/**
 * Runs a dead-lettered HL7 message (or a corrected `payload` for it) through the HL7 service again, acting as
 * the admin who replays it, so the message's own audit entry names them. Accepted: the dead letter becomes
 * REPLAYED. Refused again: it stays OPEN with the new reason, and no second dead letter is kept. The letter is
 * claimed first, so a second replay running at the same time gets DEAD_LETTER_REPLAYING and ingests nothing.
 */
export async function replayDeadLetter(services: Services, id: string, principal: Principal, payload?: string): Promise<DeadLetterReplay> {
  if (payload !== undefined && payload.trim() === '') throw ValidationError.of('payload', 'REQUIRED', 'must not be empty');
  const row = await services.deadLetters.claimForReplay(id);
  let failedReason: string | null = null;
  const hl7 = createHl7Service(services, principal, {
    deadLetter: async (_payload, reason) => {
      failedReason = reason;
      return row.id;
    },
  });
  let ackCode: AckCode;
  try {
    ackCode = (await hl7(payload ?? row.payload)).code;
  } catch (error) {
    await services.deadLetters.releaseClaim(row);
    throw error;
  }
  const settled = await services.deadLetters.settleReplay(row, failedReason);
  return { deadLetter: settled, ackCode, accepted: failedReason === null };
}

/** Gives up an open dead letter: it stays stored, marked DISCARDED, and leaves the open list. */
export function discardDeadLetter(services: Services, id: string): Promise<DeadLetterRow> {
  return services.deadLetters.discard(id);
}

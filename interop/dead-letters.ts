import type { Database } from '../platform/db/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';
import {
  getDeadLetter,
  listDeadLetters,
  moveDeadLetter,
  saveDeadLetter,
  type DeadLetterChannel,
  type DeadLetterRow,
  type DeadLetterStatus,
} from './dead-letter-store.ts';
import { isUuid } from '../platform/ids.ts';

/** Only HL7 messages are replayed: a FHIR request was answered as it arrived. */
const REPLAYABLE_CHANNEL: DeadLetterChannel = 'hl7';

/**
 * The dead letters of one database: what the API lists, keeps, replays and discards. A replay first claims the
 * letter (OPEN -> REPLAYING in one UPDATE, stamping `claimed_at`), runs the message, then settles it (REPLAYED, or
 * OPEN with the new reason); a second replay or a discard meanwhile gets DEAD_LETTER_REPLAYING. A claim older than
 * `replayTimeoutMs` has lost its replay (the server stopped in the middle) and can be taken again; the stale
 * replay, if it was only slow, then cannot settle it (its claim no longer matches) and gets DEAD_LETTER_CLAIM_LOST.
 */
export class DeadLetterService {
  constructor(
    private readonly db: Database,
    private readonly options: { replayTimeoutMs: number } = { replayTimeoutMs: 300_000 },
  ) {}

  /** Dead letters oldest first; a null filter matches any channel or status. */
  list(filter: { channel: DeadLetterChannel | null; status: DeadLetterStatus | null; limit: number }): Promise<DeadLetterRow[]> {
    return listDeadLetters(this.db, filter.channel, filter.status, filter.limit);
  }

  /** Keeps a refused message; returns its id. */
  save(letter: { channel: DeadLetterChannel; payload: string; reason: string }): Promise<string> {
    return saveDeadLetter(this.db, letter);
  }

  /** One dead letter, or null (also for a string that is not an id). */
  get(id: string): Promise<DeadLetterRow | null> {
    return isUuid(id) ? getDeadLetter(this.db, id) : Promise.resolve(null);
  }

  /**
   * Takes an open HL7 dead letter (or one whose replay claim expired) for one replay; the returned row's
   * `claimedAt` is the claim, to settle or release it with. NOT_FOUND, NOT_REPLAYABLE, DEAD_LETTER_REPLAYING or
   * DEAD_LETTER_CLOSED otherwise.
   */
  async claimForReplay(id: string): Promise<DeadLetterRow & { claimedAt: Date }> {
    const from = { availableAfterMs: this.options.replayTimeoutMs };
    const claimed = isUuid(id) ? await moveDeadLetter(this.db, id, from, { status: 'REPLAYING', claim: true }, REPLAYABLE_CHANNEL) : null;
    if (claimed) return claimed as DeadLetterRow & { claimedAt: Date };
    const row = await this.get(id);
    if (row?.status === 'OPEN' && row.channel !== REPLAYABLE_CHANNEL) {
      throw ValidationError.of('id', 'NOT_REPLAYABLE', 'only HL7 dead letters can be replayed: FHIR requests are answered as they arrive');
    }
    throw whyNotOpen(row);
  }

  /**
   * Ends a claimed replay: REPLAYED when the message was accepted, else OPEN again with the reason it failed this
   * time. DEAD_LETTER_CLAIM_LOST when the claim expired and another replay took the letter meanwhile.
   */
  async settleReplay(claim: { id: string; claimedAt: Date }, failedReason: string | null): Promise<DeadLetterRow> {
    const change = failedReason === null ? { status: 'REPLAYED' as const } : { status: 'OPEN' as const, reason: failedReason };
    const row = await moveDeadLetter(this.db, claim.id, { claimedAt: claim.claimedAt }, change);
    if (row) return row;
    throw new ConflictError(
      'DEAD_LETTER_CLAIM_LOST',
      'The replay took longer than the replay timeout and the dead letter was claimed or discarded again meanwhile',
      'id',
    );
  }

  /** Gives a claimed dead letter back, unchanged, after its replay failed before it had an answer (no-op if the claim was lost). */
  async releaseClaim(claim: { id: string; claimedAt: Date }): Promise<void> {
    await moveDeadLetter(this.db, claim.id, { claimedAt: claim.claimedAt }, { status: 'OPEN' });
  }

  /** Gives up an open dead letter (or one whose replay claim expired): it stays stored, marked DISCARDED, and leaves the open list. */
  async discard(id: string): Promise<DeadLetterRow> {
    const from = { availableAfterMs: this.options.replayTimeoutMs };
    const row = isUuid(id) ? await moveDeadLetter(this.db, id, from, { status: 'DISCARDED' }) : null;
    if (row) return row;
    throw whyNotOpen(await this.get(id));
  }
}

/** The typed error for a dead letter a change could not take because it is missing or not OPEN. */
function whyNotOpen(row: DeadLetterRow | null): Error {
  if (!row) return new NotFoundError('Dead letter');
  if (row.status === 'REPLAYING') {
    return new ConflictError(
      'DEAD_LETTER_REPLAYING',
      'Another replay of the dead letter is running (or ran until its replay timeout)',
      'id',
    );
  }
  return new ConflictError('DEAD_LETTER_CLOSED', `The dead letter is already ${row.status}`, 'id');
}

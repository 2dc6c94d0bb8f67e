import { and, asc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../platform/db/client.ts';
import { deadLetters } from '../platform/db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.ts';

export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** Channels whose unprocessable messages are kept. */
export const DEAD_LETTER_CHANNELS = ['hl7', 'fhir'] as const;
export type DeadLetterChannel = (typeof DEAD_LETTER_CHANNELS)[number];

/**
 * OPEN until a replay is accepted (REPLAYED) or an admin gives it up (DISCARDED). REPLAYING while one replay
 * holds it: only one replay at a time can take a dead letter, so two replays never run one message at once. A
 * claim is a lease: once it is older than the replay timeout (its server stopped mid-replay) the letter can be
 * claimed, or discarded, again.
 */
export const DEAD_LETTER_STATUSES = ['OPEN', 'REPLAYING', 'REPLAYED', 'DISCARDED'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

/** Only HL7 messages are replayed: a FHIR request was answered as it arrived. */
const REPLAYABLE_CHANNEL: DeadLetterChannel = 'hl7';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keeps a message that could not be processed, with a value-free reason, for review and replay. The payload is
 * patient data: it is stored, never logged. The only table the interoperability layer writes itself.
 */
export async function saveDeadLetter(
  db: Executor,
  letter: { channel: DeadLetterChannel; payload: string; reason: string },
): Promise<string> {
  const [row] = await db.insert(deadLetters).values(letter).returning({ id: deadLetters.id });
  return row!.id;
}

/** Dead letters in arrival order, open ones by default; either filter may be left out (null: any). */
export async function listDeadLetters(
  db: Executor,
  channel: DeadLetterChannel | null,
  status: DeadLetterStatus | null = 'OPEN',
  limit = 1000,
): Promise<DeadLetterRow[]> {
  const where: SQL[] = [];
  if (channel) where.push(eq(deadLetters.channel, channel));
  if (status) where.push(eq(deadLetters.status, status));
  return db
    .select()
    .from(deadLetters)
    .where(and(...where))
    .orderBy(asc(deadLetters.createdAt), asc(deadLetters.id))
    .limit(limit);
}

/** One dead letter, or null. */
export async function getDeadLetter(db: Executor, id: string): Promise<DeadLetterRow | null> {
  const [row] = await db.select().from(deadLetters).where(eq(deadLetters.id, id));
  return row ?? null;
}

/** What a change may take: an OPEN letter, or a REPLAYING one whose claim is older than `expiredAfterMs`. */
function available(expiredAfterMs: number): SQL {
  const expired = sql`now() - (${expiredAfterMs}::int * interval '1 millisecond')`;
  return or(
    eq(deadLetters.status, 'OPEN'),
    and(eq(deadLetters.status, 'REPLAYING'), or(isNull(deadLetters.claimedAt), lt(deadLetters.claimedAt, expired))),
  )!;
}

/**
 * Moves a dead letter from one status to another in one statement, and only if it is still in `from` (and of
 * `channel`, when given): of two callers racing for the same letter, exactly one gets the row back. `from` is a
 * status, or the claim a replay holds (REPLAYING since `claimedAt`), or AVAILABLE (see `available`).
 */
export async function moveDeadLetter(
  db: Executor,
  id: string,
  from: DeadLetterStatus | { claimedAt: Date } | { availableAfterMs: number },
  change: { status: DeadLetterStatus; reason?: string; claim?: boolean },
  channel?: DeadLetterChannel,
): Promise<DeadLetterRow | null> {
  const state =
    typeof from === 'string'
      ? eq(deadLetters.status, from)
      : 'claimedAt' in from
        ? and(eq(deadLetters.status, 'REPLAYING'), eq(deadLetters.claimedAt, from.claimedAt))
        : available(from.availableAfterMs);
  const where = [eq(deadLetters.id, id), state, ...(channel ? [eq(deadLetters.channel, channel)] : [])];
  const { claim, ...set } = change;
  const [row] = await db
    .update(deadLetters)
    .set({ ...set, claimedAt: claim ? sql`now()` : null })
    .where(and(...where))
    .returning();
  return row ?? null;
}

/** Sets a dead letter's status (and, after a failed replay, the reason it failed this time). */
export async function updateDeadLetter(
  db: Executor,
  id: string,
  change: { status: DeadLetterStatus; reason?: string },
): Promise<DeadLetterRow | null> {
  const [row] = await db.update(deadLetters).set(change).where(eq(deadLetters.id, id)).returning();
  return row ?? null;
}

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
    return UUID.test(id) ? getDeadLetter(this.db, id) : Promise.resolve(null);
  }

  /**
   * Takes an open HL7 dead letter (or one whose replay claim expired) for one replay; the returned row's
   * `claimedAt` is the claim, to settle or release it with. NOT_FOUND, NOT_REPLAYABLE, DEAD_LETTER_REPLAYING or
   * DEAD_LETTER_CLOSED otherwise.
   */
  async claimForReplay(id: string): Promise<DeadLetterRow & { claimedAt: Date }> {
    const from = { availableAfterMs: this.options.replayTimeoutMs };
    const claimed = UUID.test(id)
      ? await moveDeadLetter(this.db, id, from, { status: 'REPLAYING', claim: true }, REPLAYABLE_CHANNEL)
      : null;
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
    const row = UUID.test(id) ? await moveDeadLetter(this.db, id, from, { status: 'DISCARDED' }) : null;
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

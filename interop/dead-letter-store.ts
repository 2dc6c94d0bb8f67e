import { and, asc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { deadLetters } from '../platform/db/schema/index.ts';
import { hexEscape } from './hl7/escape.ts';

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

/**
 * Keeps a message that could not be processed, with a value-free reason, for review and replay. The payload is
 * patient data: it is stored, never logged. The only table the interoperability layer writes itself.
 */
export async function saveDeadLetter(
  db: Executor,
  letter: { channel: DeadLetterChannel; payload: string; reason: string },
): Promise<string> {
  const [row] = await db
    .insert(deadLetters)
    .values({ ...letter, payload: storablePayload(letter.channel, letter.payload) })
    .returning({ id: deadLetters.id });
  return row!.id;
}

/**
 * The payload as PostgreSQL text can hold it. Text cannot hold U+0000, and a message with a NUL in it is one
 * the service refuses (a control character), so it is exactly the kind that must be kept. Each NUL is written
 * as its channel's own escape for it, which means the same to the channel's parser: HL7's hex escape `\X00\`
 * (with the message's escape character from MSH-2), JSON's `\u0000` (a raw NUL is not valid JSON text, and in a
 * string the escape is the same value). A replay therefore meets the same value and the same refusal.
 */
export function storablePayload(channel: DeadLetterChannel, payload: string): string {
  if (!payload.includes('\u0000')) return payload;
  if (channel === 'fhir') return payload.replaceAll('\u0000', '\\u0000');
  // MSH-2 is the four encoding characters after MSH-1 (the field separator): the escape character is the third.
  const declared = payload.startsWith('MSH') ? payload[6] : undefined;
  const escape = declared !== undefined && declared !== payload[3] && !'\r\n\u0000'.includes(declared) ? declared : '\\';
  return payload.replaceAll('\u0000', hexEscape('\u0000', escape));
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

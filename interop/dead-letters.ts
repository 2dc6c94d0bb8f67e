import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { deadLetters } from '../platform/db/schema/index.ts';

export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** Channels whose unprocessable messages are kept. */
export type DeadLetterChannel = 'hl7' | 'fhir';

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

/** Dead letters of a channel in arrival order, open ones by default. */
export async function listDeadLetters(db: Executor, channel: DeadLetterChannel, status = 'OPEN'): Promise<DeadLetterRow[]> {
  return db
    .select()
    .from(deadLetters)
    .where(and(eq(deadLetters.channel, channel), eq(deadLetters.status, status)))
    .orderBy(asc(deadLetters.createdAt));
}

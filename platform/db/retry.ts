import { setTimeout as sleep } from 'node:timers/promises';
import type { Executor } from './client.ts';

/**
 * SQLSTATEs after which the whole transaction may simply run again: PostgreSQL rolled it back and says a
 * retry can succeed (https://www.postgresql.org/docs/current/mvcc-serialization-failure-handling.html).
 * Only these two: a unique violation (23505) or any other error means the work itself must decide, so it is
 * never retried here; a writer that can lose a race on a unique key handles that race where it inserts.
 */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** Attempts in all (the first run and its retries) before the last error is surfaced. */
export const DEFAULT_TRANSACTION_ATTEMPTS = 4;
/** First backoff; each retry doubles it, with up to as much again at random so retries of a pair spread out. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 5;

export interface RetryOptions {
  attempts?: number | undefined;
  baseDelayMs?: number | undefined;
}

/** The SQLSTATE of a driver error (PGlite or postgres.js), looking through drizzle's wrapping `cause`s. */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True when the error is a serialisation failure or a deadlock, the only failures `withTransaction` retries. */
export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE_SQLSTATES.has(state);
}

/**
 * Runs `work` in a transaction and runs it again, after an exponential backoff with jitter, when PostgreSQL
 * aborts it with a serialisation failure (40001) or a deadlock (40P01), up to `attempts` runs in all. Nothing
 * else is retried: every other error, unique violations (23505) included, is thrown from the first run.
 * `work` must therefore be safe to run again from the start (no side effects outside the transaction).
 */
export async function withTransaction<T>(db: Executor, work: (tx: Executor) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_TRANSACTION_ATTEMPTS);
  const base = options.baseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delay = base * 2 ** (attempt - 1);
      await sleep(delay + Math.random() * delay);
    }
  }
}

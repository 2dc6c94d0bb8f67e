import { boolean, doublePrecision, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Rate-limit token buckets shared by every replica (when the limits are kept in PostgreSQL): one row per
 * hashed credential or client address, refilled from `updated_at` on each draw. Idle rows are deleted by the
 * cleanup job once they would be full again.
 */
export const rateLimitBuckets = pgTable('rate_limit_buckets', {
  key: text('key').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  /** Whether the last draw got its token (the row's own answer, since RETURNING sees only new values). */
  granted: boolean('granted').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

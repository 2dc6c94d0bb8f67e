import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Append-only audit trail; each entry's keyed hash covers the previous entry's hash (tamper-evident chain). */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    role: text('role').notNull(),
    action: text('action').notNull(),
    objectType: text('object_type'),
    objectIds: text('object_ids').array().notNull().default([]),
    fields: text('fields').array().notNull().default([]),
    outcome: text('outcome').notNull(),
    requestId: text('request_id'),
    clientAddress: text('client_address'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    prevHash: text('prev_hash').notNull(),
    /** HMAC-SHA256 under the key `keyId` names; SHA-256 for the unkeyed entries written before keys (key_id null). */
    hash: text('hash').notNull(),
    keyId: text('key_id'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_actor_idx').on(t.actor, t.at),
    // "Who touched this patient?" filters on object ids: a GIN index answers array containment and overlap.
    index('audit_log_object_ids_idx').using('gin', t.objectIds),
  ],
);

/** API keys, stored as SHA-256 hashes only. */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  prefix: text('prefix').notNull(),
  keyHash: text('key_hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
});

import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Positions of published change events. Taken by the one elected dispatcher when it publishes committed outbox
 * rows, never by the writing transactions: a position handed out at insert could commit after a higher one and
 * be skipped by a consumer that resumes after the higher one.
 */
export const changeEventPosition = pgSequence('change_event_position_seq', { startWith: 1 });

/**
 * The transactional outbox: one row per change, written in the change's own transaction. `seq` orders rows as
 * written; `position` (null until published) is the global order every channel delivers and replays in.
 * No patient data: ids, types, versions and the names of changed fields only.
 */
export const changeEvents = pgTable(
  'change_events',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    position: bigint('position', { mode: 'number' }),
    id: uuid('id').notNull(),
    type: text('type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }),
    actor: text('actor').notNull(),
    identityId: uuid('identity_id'),
    recordId: uuid('record_id'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    /** The identity's version after the change, the match model's, the survivorship policy's. */
    versions: jsonb('versions').$type<{ identity?: number; model?: string; policy?: number }>().notNull().default({}),
  },
  (t) => [
    uniqueIndex('change_events_id_uq').on(t.id),
    uniqueIndex('change_events_position_uq').on(t.position),
    index('change_events_unpublished_idx')
      .on(t.seq)
      .where(sql`${t.position} is null`),
    index('change_events_identity_idx').on(t.identityId, t.position),
    index('change_events_occurred_idx').on(t.occurredAt),
  ],
);

/** Who dispatches: one lease row per role, held by one replica and renewed while it lives. */
export const eventLeases = pgTable('event_leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/** Where a server-side consumer (NATS, a webhook endpoint's fan-out) has got to: the last position it finished. */
export const eventConsumers = pgTable('event_consumers', {
  name: text('name').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * A registered HTTP endpoint: a Standard Webhooks receiver or a FHIR rest-hook Subscription. The secret signs
 * bodies and is returned once, at creation. `position` is the last event delivered or dead-lettered; the head
 * event's attempts and next try are kept here, so a dead endpoint grows no rows, only its lag.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey(),
  kind: text('kind').notNull().default('STANDARD'),
  url: text('url').notNull(),
  description: text('description'),
  eventTypes: text('event_types').array().notNull().default([]),
  /** The role whose masking applies when the endpoint asks for demographics; null: no demographics. */
  demographicsRole: text('demographics_role'),
  secret: text('secret').notNull(),
  /** FHIR Subscription details (topic, payload content, headers, the resource as created). */
  fhir: jsonb('fhir').$type<Record<string, unknown>>(),
  status: text('status').notNull().default('ACTIVE'),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  position: bigint('position', { mode: 'number' }).notNull().default(0),
  headAttempts: integer('head_attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
  delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
  lastDeliveredAt: timestamp('last_delivered_at', { withTimezone: true, mode: 'date' }),
  lastStatus: integer('last_status'),
  lastError: text('last_error'),
});

/** Events an endpoint never accepted within its tries; redelivered through the API. */
export const webhookDeadLetters = pgTable(
  'webhook_dead_letters',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    attempts: integer('attempts').notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    status: text('status').notNull().default('DEAD'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    redeliveredAt: timestamp('redelivered_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('webhook_dead_letters_endpoint_idx').on(t.endpointId, t.status, t.position)],
);

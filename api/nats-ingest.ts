import { randomUUID } from 'node:crypto';
import { AckPolicy, connect, headers, nanos, RetentionPolicy, type JetStreamClient, type JsMsg, type NatsConnection } from 'nats';
import { ensureStream } from '../events/index.ts';
import { markAsDrain, otherIngestActivity, type IngestResultData } from '../identity/index.ts';
import type { MatchModel } from '../matching/index.ts';
import { messageRefs, patientMessageToRecord, r4DefinitionsLoading, type Hl7Result } from '../interop/index.ts';
import type { Principal } from './context.ts';
import { interopContext, ServiceInteropPort } from './interop-port.ts';
import { createHl7Service, type Hl7Service } from './mllp.ts';
import { appendAuditInTransaction } from '../platform/audit.ts';
import { retryWhile } from '../platform/backoff.ts';
import type { AppConfig } from '../platform/config.ts';
import { DomainError, ValidationError } from '../platform/errors.ts';
import { withSpan } from '../platform/telemetry.ts';
import { PHI_FIELDS } from './masking.ts';
import type { Services } from './services.ts';
import { errorFields } from '../platform/logger.ts';

/** The durable consumer every replica pulls from: JetStream hands each message to one of them. */
export const INGEST_CONSUMER = 'mpi-ingest';
/** Duplicate window of the ingest stream: a publisher that resends a message with the same `Nats-Msg-Id` within it is ignored. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** How long a message the service failed to read waits before it is delivered again. */
const REREAD_DELAY_MS = 1_000;
/** A message not acknowledged within this is delivered again (to any replica). */
const ACK_WAIT_MS = 60_000;
/** How long a fetch waits for messages before it asks again. */
const FETCH_EXPIRES_MS = 1_000;
/**
 * Records a batch holds while the consumer gives way to online work: few enough that the batch locks its keys
 * rather than taking the ingest lock exclusively (`lockKeys`: at most 256 keys, about 17 a record), so online
 * ingests of other patients run beside it instead of waiting for the whole batch.
 */
export const GIVE_WAY_BATCH = 12;
/**
 * HL7 messages about different patients a replica handles side by side. Each is a transaction of its own (as over
 * MLLP), mostly waiting for the database, so a few at once keep the cores busier than one after the other.
 */
const HL7_CONCURRENCY = 4;
/** Small transactions a replica runs side by side while it gives way (each on a connection of its pool). */
export const GIVE_WAY_TRANSACTIONS = 2;
/** How long the consumer keeps giving way after it last saw online work. */
export const GIVE_WAY_MS = 5_000;

/** Subjects and streams of record ingest under a subject prefix (MPI_NATS_SUBJECT_PREFIX). */
export function ingestNames(prefix: string) {
  return {
    /** Work queue of records to ingest: `<prefix>.ingest.<source>`. */
    stream: `${prefix.toUpperCase()}_INGEST`,
    subject: (source: string) => `${prefix}.ingest.${source}`,
    /** Messages that cannot be ingested, with the reason in their headers: `<prefix>.deadletter.ingest.<source>`. */
    deadStream: `${prefix.toUpperCase()}_INGEST_DEADLETTER`,
    deadSubject: (source: string) => `${prefix}.deadletter.ingest.${source}`,
    sourceOf: (subject: string) => subject.slice(`${prefix}.ingest.`.length),
  };
}

/** Why a message was dead-lettered: a code from the error catalogue, the field at fault if any, and a message without patient data. */
export interface IngestRejection {
  code: string;
  field: string | null;
  message: string;
}

interface Parsed {
  msg: JsMsg;
  source: string;
  input: Record<string, unknown> & { source: string; localId: string };
}

/** An HL7 v2 message, handled as the MLLP listener handles one. */
interface Hl7Parsed {
  msg: JsMsg;
  source: string;
  hl7: string;
}

export interface NatsIngestOptions {
  url: string;
  prefix: string;
  batchSize: number;
  maxDeliver: number;
  actor: string;
  /** Records per transaction while online work is about (default `GIVE_WAY_BATCH`; 0: never give way). */
  giveWayBatch?: number;
  /** How long it keeps giving way after it last saw online work (default `GIVE_WAY_MS`). */
  giveWayMs?: number;
  /** A message not acknowledged within this is delivered again (default 60 s; set when the consumer is created). */
  ackWaitMs?: number;
}

/** The consumer's settings from the configuration. */
export function natsIngestOptions(config: AppConfig): NatsIngestOptions {
  return {
    url: config.MPI_NATS_URL ?? '',
    prefix: config.MPI_NATS_SUBJECT_PREFIX,
    batchSize: config.MPI_NATS_INGEST_BATCH,
    maxDeliver: config.MPI_NATS_INGEST_MAX_DELIVER,
    actor: config.MPI_NATS_INGEST_ACTOR,
    giveWayBatch: config.MPI_NATS_INGEST_GIVE_WAY_BATCH,
  };
}

/**
 * Ingests records published to `<prefix>.ingest.<source>` (canonical JSON, the fields of `SourceRecordInput`
 * without `source`, which is the subject's last token; or a FHIR R4 Patient, see `parseRecord`; or an HL7 v2 ADT
 * message, see `ingestHl7`). Every replica pulls from one durable work-queue consumer,
 * so each message goes to one replica at a time. A pulled batch is validated record by record (the same rules
 * as GraphQL ingest); the valid ones are ingested in one transaction with their audit entry, and acknowledged only
 * after it committed. A record that cannot be ingested (bad JSON, a field that fails validation, an unknown source)
 * is published to the dead-letter subject with a typed reason and terminated; a failure of the database leaves
 * the batch unacknowledged, so JetStream delivers it again, and after `maxDeliver` deliveries it is dead-lettered.
 * Redelivered records that were already stored are `UNCHANGED`: ingest is idempotent by source, local id and content.
 *
 * A backlog gives way to online work. On PostgreSQL each batch checks before it commits whether another session
 * (not another replica's consumer) holds or waits for the ingest lock: an online ingest, a steward decision, a bulk
 * load. If one does, the consumer ingests `GIVE_WAY_BATCH` records per transaction, `GIVE_WAY_TRANSACTIONS` side
 * by side, until it has seen none for `GIVE_WAY_MS`: a large batch holds the ingest lock exclusively, and every
 * online ingest waits for all of it.
 */
export class NatsIngestConsumer {
  private running = false;
  private loop: Promise<void> | null = null;
  private connection: NatsConnection | null = null;
  private readonly names: ReturnType<typeof ingestNames>;
  /** Records ingested and messages dead-lettered by this replica since it started. */
  readonly counts = { ingested: 0, deadLettered: 0, batches: 0, givingWay: 0 };
  /** Until when (ms since the epoch) batches are small, because online work was seen. */
  private givingWayUntil = 0;
  /** Records per transaction while giving way; 0: never (the option set so, or the embedded database, which has no other sessions). */
  private readonly giveWayBatch: number;

  constructor(
    private readonly services: Services,
    private readonly options: NatsIngestOptions,
  ) {
    this.names = ingestNames(options.prefix);
    this.giveWayBatch = services.database.kind === 'postgres' ? (options.giveWayBatch ?? GIVE_WAY_BATCH) : 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops pulling; the batch in hand is finished (committed and acknowledged) first. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.connection?.drain().catch(() => undefined);
    this.connection = null;
  }

  /** Creates the streams and the durable consumer if they are missing (an operator's changes to them are kept). */
  private async open(): Promise<JetStreamClient> {
    if (this.connection && !this.connection.isClosed()) return this.connection.jetstream();
    this.connection = await connect({
      servers: this.options.url,
      name: `mpi-ingest-${this.services.config.MPI_REPLICA_ID}`,
      maxReconnectAttempts: -1,
      // An Error (with its stack) captured for every request and acknowledgement is not worth its cost here.
      noAsyncTraces: true,
    });
    const jsm = await this.connection.jetstreamManager();
    const streams = [
      {
        name: this.names.stream,
        subjects: [this.names.subject('>')],
        retention: RetentionPolicy.Workqueue,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      },
      { name: this.names.deadStream, subjects: [this.names.deadSubject('>')] },
    ];
    for (const config of streams) await ensureStream(jsm, config);
    try {
      await jsm.consumers.info(this.names.stream, INGEST_CONSUMER);
    } catch {
      await jsm.consumers
        .add(this.names.stream, {
          durable_name: INGEST_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(this.options.ackWaitMs ?? ACK_WAIT_MS),
          // Bounds what all replicas hold unacknowledged: JetStream stops handing out messages past it.
          max_ack_pending: Math.max(1000, this.options.batchSize * 10),
        })
        .catch(async (error: unknown) => {
          await jsm.consumers.info(this.names.stream, INGEST_CONSUMER).catch(() => Promise.reject(error));
        });
    }
    return this.connection.jetstream();
  }

  private run(): Promise<void> {
    return retryWhile({
      running: () => this.running,
      step: async (succeeded) => {
        const js = await this.open();
        const consumer = await js.consumers.get(this.names.stream, INGEST_CONSUMER);
        while (this.running) {
          // One batch in memory at a time: the backlog waits in JetStream, not here.
          const messages: JsMsg[] = [];
          for await (const msg of await consumer.fetch({ max_messages: this.batchSize(), expires: FETCH_EXPIRES_MS })) {
            messages.push(msg);
          }
          if (messages.length > 0) await this.handle(js, messages);
          succeeded();
        }
      },
      failed: (error, failures) => this.services.logger.warn({ ...errorFields(error), failures }, 'NATS ingest failed; retrying'),
    });
  }

  private givingWay(): boolean {
    return this.giveWayBatch > 0 && Date.now() < this.givingWayUntil;
  }

  /** Records to pull next: fewer while online work was seen lately. */
  batchSize(): number {
    if (!this.givingWay()) return this.options.batchSize;
    return Math.min(this.options.batchSize, this.giveWayBatch * GIVE_WAY_TRANSACTIONS);
  }

  /** One pulled batch: parse and validate each message, ingest the valid ones, acknowledge after commit. */
  async handle(js: JetStreamClient, messages: JsMsg[]): Promise<void> {
    await withSpan('nats.ingest.batch', { 'mpi.batch_size': messages.length }, async () => {
      const model = await this.services.models.active();
      // Runs of records and of HL7 messages in the order they came: a pipeline that sends one patient in both
      // forms has its messages applied in that order, so its last one wins.
      const runs: Array<{ kind: 'records' | 'hl7'; records: Parsed[]; hl7: Hl7Parsed[] }> = [];
      const runOf = (kind: 'records' | 'hl7') => {
        if (runs.at(-1)?.kind !== kind) runs.push({ kind, records: [], hl7: [] });
        return runs.at(-1)!;
      };
      // Read before the messages, so that reading them touches no database: a failure there is the batch's, retried
      // as a whole, while a failure on one message (below) is that message's alone.
      const systems = new Map((await this.services.catalog.listSources()).map((s) => [s.code, s.system ?? null]));
      for (const msg of messages) {
        const source = this.names.sourceOf(msg.subject);
        if (msg.info.deliveryCount > this.options.maxDeliver) {
          await this.deadLetter(js, msg, source, {
            code: 'TOO_MANY_DELIVERIES',
            field: null,
            message: `not ingested after ${this.options.maxDeliver} deliveries`,
          });
          continue;
        }
        let read: Parsed | Hl7Parsed | IngestRejection;
        try {
          read = await this.readMessage(msg, source, model, systems);
        } catch (error) {
          // The service failing on one message (not the message's fault, so it is not dead-lettered at once) must
          // not hold back the others: it alone is delivered again, and dead-lettered once it has failed maxDeliver times.
          this.services.logger.error(
            { ...errorFields(error), seq: msg.seq },
            'NATS ingest failed to read a message; it will be delivered again',
          );
          msg.nak(REREAD_DELAY_MS);
          continue;
        }
        if ('code' in read) await this.deadLetter(js, msg, source, read);
        else if ('hl7' in read) runOf('hl7').hl7.push(read);
        else runOf('records').records.push(read);
      }
      // One record per (source, local id) in a transaction: repeats of one go to the next round, in order. While
      // giving way, a round is ingested as small transactions side by side: each locks only its own keys.
      for (const run of runs) {
        if (run.kind === 'hl7') {
          await this.ingestHl7(js, run.hl7);
          continue;
        }
        const small = this.givingWay() ? this.giveWayBatch : Number.POSITIVE_INFINITY;
        for (const round of rounds(run.records)) {
          if (round.length <= small) await this.ingestRound(js, round);
          else await Promise.all(chunks(round, small).map((part) => this.ingestRound(js, part)));
        }
      }
      this.counts.batches += 1;
    });
  }

  /** A message decoded and its record checked (`prepare`), or why it cannot be ingested. */
  private async readMessage(
    msg: JsMsg,
    source: string,
    model: MatchModel,
    systems: ReadonlyMap<string, string | null>,
  ): Promise<Parsed | Hl7Parsed | IngestRejection> {
    const parsed = await parseRecord(msg, source, systems);
    if ('code' in parsed || 'hl7' in parsed) return parsed;
    try {
      this.services.ingest.prepare(parsed.input as never, model, 'record');
      return parsed;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return rejectionOf(error);
    }
  }

  private async ingestRound(js: JetStreamClient, round: Parsed[]): Promise<void> {
    try {
      await this.ingestAndAudit(round);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A record the batch refused as a whole (an unknown source, say): find it by ingesting one by one.
      for (const record of round) {
        try {
          await this.ingestAndAudit([record]);
        } catch (single) {
          if (!(single instanceof DomainError)) throw single;
          await this.deadLetter(js, record.msg, record.source, rejectionOf(single));
        }
      }
      return;
    }
  }

  /** Ingests records in one transaction with one audit entry; acknowledges their messages once it committed. */
  private async ingestAndAudit(records: Parsed[]): Promise<void> {
    const requestId = randomUUID();
    const actor = `local:${this.options.actor}`;
    const shared = this.services.database.kind === 'postgres';
    let online = false;
    await this.services.ingest.ingestMany(
      records.map((r) => r.input as never),
      { actor, reason: null, requestId },
      {
        ...(shared ? { beforeIngest: markAsDrain } : {}),
        beforeCommit: async (tx, results: IngestResultData[]) => {
          if (this.giveWayBatch > 0) online = await otherIngestActivity(tx);
          await appendAuditInTransaction(tx, {
            actor,
            role: 'pipeline',
            action: 'nats:ingest',
            objectType: 'record',
            objectIds: results.map((r) => r.recordId),
            fields: PHI_FIELDS.filter((f) => records.some((r) => r.input[f] !== undefined && r.input[f] !== null)),
            outcome: 'SUCCESS',
            requestId,
            clientAddress: null,
            details: { records: results.length, identities: [...new Set(results.map((r) => r.identityId))].length },
          });
        },
      },
    );
    // Committed: acknowledge. An acknowledgement lost now only means a redelivery, which ingests as UNCHANGED, so
    // the acknowledgements go out together and one flush waits for the server to have read them all (an
    // acknowledgement confirmed one by one was a request each, with its own reply subscription and error object).
    for (const r of records) r.msg.ack();
    await this.connection?.flush().catch(() => undefined);
    this.counts.ingested += records.length;
    if (online) {
      this.givingWayUntil = Date.now() + (this.options.giveWayMs ?? GIVE_WAY_MS);
      this.counts.givingWay += 1;
    }
  }

  /** The HL7 service messages go through, and the messages it is handling by their text (where a dead letter goes). */
  private hl7: { service: Hl7Service; port: ServiceInteropPort; principal: Principal } | null = null;
  private readonly hl7Handling = new Map<string, { js: JetStreamClient; msg: JsMsg; source: string }>();

  private hl7Service(): NonNullable<NatsIngestConsumer['hl7']> {
    if (this.hl7) return this.hl7;
    const principal: Principal = { id: `local:${this.options.actor}`, name: this.options.actor, roles: ['pipeline'], kind: 'local' };
    // Called by the handler before it answers AE or AR: the message goes to the dead-letter subject, with the reason.
    const deadLetter = async (payload: string, reason: string) => {
      const handling = this.hl7Handling.get(payload)!;
      await this.deadLetter(handling.js, handling.msg, handling.source, { code: 'VALIDATION_FAILED', field: null, message: reason });
      return `nats-${handling.msg.info.stream}-${handling.msg.seq}`;
    };
    this.hl7 = {
      service: createHl7Service(this.services, principal, { deadLetter }),
      port: new ServiceInteropPort(this.services),
      principal,
    };
    return this.hl7;
  }

  /**
   * Handles HL7 v2 messages as the MLLP listener does, each in its own transaction with its own audit entry, as this
   * consumer's pipeline principal, after checking that every patient a message names belongs to the subject's
   * source. Messages about the same patient run in the order they came; messages about different patients run up to
   * `HL7_CONCURRENCY` at a time. Accepted (AA, CA): acknowledged. Not accepted: dead-lettered with the ACK's reason.
   */
  private async ingestHl7(js: JetStreamClient, messages: Hl7Parsed[]): Promise<void> {
    const { port, principal } = this.hl7Service();
    const ctx = interopContext('hl7', principal, randomUUID());
    const planned: Array<{ message: Hl7Parsed; keys: string[] }> = [];
    for (const message of messages) {
      const refs = await messageRefs(message.hl7, port, ctx);
      if (refs !== null && refs.some((ref) => ref.source !== message.source)) {
        await this.deadLetter(js, message.msg, message.source, {
          code: 'VALIDATION_FAILED',
          field: 'PID-3',
          message: 'an assigning authority names another source than the subject',
        });
        continue;
      }
      // A message that cannot be read names no patient (the handler answers it AE or AR): its own text is its key, so
      // two copies of it never run at once (the handler's dead letter finds its message by the text).
      const keys = refs === null ? [`text\u0000${message.hl7}`] : refs.map((ref) => `${ref.source}\u0000${ref.localId}`);
      planned.push({ message, keys });
    }
    for (const round of roundsByKeys(planned)) {
      for (const part of chunks(round, HL7_CONCURRENCY)) await Promise.all(part.map(({ message }) => this.ingestHl7Message(js, message)));
    }
  }

  private async ingestHl7Message(js: JetStreamClient, message: Hl7Parsed): Promise<void> {
    const { service } = this.hl7Service();
    this.hl7Handling.set(message.hl7, { js, msg: message.msg, source: message.source });
    let result: Hl7Result;
    try {
      result = await service(message.hl7);
    } finally {
      this.hl7Handling.delete(message.hl7);
    }
    if (result.code === 'AA' || result.code === 'CA') {
      message.msg.ack();
      await this.connection?.flush().catch(() => undefined);
      this.counts.ingested += 1;
    }
  }

  private async deadLetter(js: JetStreamClient, msg: JsMsg, source: string, rejection: IngestRejection): Promise<void> {
    const h = headers();
    h.set('Mpi-Error-Code', rejection.code);
    if (rejection.field) h.set('Mpi-Error-Field', rejection.field);
    h.set('Mpi-Error', rejection.message);
    h.set('Mpi-Original-Subject', msg.subject);
    h.set('Mpi-Deliveries', String(msg.info.deliveryCount));
    const id = msg.headers?.get('Nats-Msg-Id');
    // The same message dead-lettered twice (a crash between the two steps) is kept once.
    await js.publish(this.names.deadSubject(source || '_'), msg.data, {
      headers: h,
      msgID: id ? `dead-${id}` : `dead-${msg.info.stream}-${msg.seq}`,
    });
    // Acknowledged (not terminated): it has moved to the dead-letter stream, and a work queue drops only what is acknowledged.
    await msg.ackAck().catch(() => false);
    this.counts.deadLettered += 1;
    this.services.logger.warn({ code: rejection.code, field: rejection.field, seq: msg.seq }, 'NATS ingest message dead-lettered');
  }
}

/**
 * Decodes a message into an ingest input, or the reason it cannot be one: a canonical record, or a FHIR R4 Patient
 * (`resourceType: "Patient"`), whose identifier of the source's registered system is its local id
 * (`patientMessageToRecord`).
 */
async function parseRecord(
  msg: JsMsg,
  source: string,
  systems: ReadonlyMap<string, string | null>,
): Promise<Parsed | Hl7Parsed | IngestRejection> {
  if (!source)
    return { code: 'VALIDATION_FAILED', field: 'subject', message: 'the subject names no source: publish to <prefix>.ingest.<source>' };
  const text = new TextDecoder().decode(msg.data);
  const hl7 = text.replace(/^\uFEFF/, '').trimStart();
  if (hl7.startsWith('MSH')) return { msg, source, hl7 };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: 'INVALID_JSON', field: null, message: 'the message body is not JSON' };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { code: 'VALIDATION_FAILED', field: 'record', message: 'the message body must be one JSON object (a record)' };
  }
  const record = body as Record<string, unknown>;
  if (record.resourceType !== undefined) {
    if (record.resourceType !== 'Patient') {
      return { code: 'VALIDATION_FAILED', field: 'resourceType', message: 'only Patient resources (or canonical records) are ingested' };
    }
    await r4DefinitionsLoading();
    const patient = patientMessageToRecord(record, systems.get(source) ?? null);
    if (!patient.ok) return { code: 'VALIDATION_FAILED', field: patient.field, message: patient.message };
    return { msg, source, input: { ...patient.record, source, localId: patient.localId } as Parsed['input'] };
  }
  if (record.source !== undefined && record.source !== source) {
    return { code: 'VALIDATION_FAILED', field: 'record.source', message: 'differs from the source the subject names' };
  }
  return { msg, source, input: { ...record, source } as Parsed['input'] };
}

function rejectionOf(error: DomainError): IngestRejection {
  const field = error instanceof ValidationError ? (error.problems[0]?.field ?? error.field ?? null) : (error.field ?? null);
  return { code: error.code, field, message: error.message };
}

/** `items` in consecutive parts of at most `size`. */
function chunks<T>(items: T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}

/**
 * Splits items into rounds run one after the other, so that items sharing a key (a patient) keep their order:
 * each goes to the round after the last one that holds any of its keys.
 */
function roundsByKeys<T extends { keys: string[] }>(items: T[]): T[][] {
  const result: T[][] = [];
  const last = new Map<string, number>();
  for (const item of items) {
    const round = Math.max(-1, ...item.keys.map((key) => last.get(key) ?? -1)) + 1;
    (result[round] ??= []).push(item);
    for (const key of item.keys) last.set(key, round);
  }
  return result;
}

/** Splits records so that no (source, local id) repeats within one, keeping their order. */
function rounds(records: Parsed[]): Parsed[][] {
  const result: Parsed[][] = [];
  const seen: Array<Set<string>> = [];
  for (const record of records) {
    const ref = `${record.source}\u0000${String(record.input.localId).trim()}`;
    let i = 0;
    while (seen[i]?.has(ref)) i += 1;
    (result[i] ??= []).push(record);
    (seen[i] ??= new Set()).add(ref);
  }
  return result;
}

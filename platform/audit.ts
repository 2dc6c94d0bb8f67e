import { createHash, createHmac } from 'node:crypto';
import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { installedAuditKeyring, type AuditKey } from './audit-keys.ts';
import { withoutBeforeCommit } from './db/before-commit.ts';
import { queryRows, type Database, type Executor } from './db/client.ts';
import { auditLog } from './db/schema/index.ts';
import { escapeLike } from './db/like.ts';

export type AuditRow = typeof auditLog.$inferSelect;

/**
 * How a request ended. A read of patient data that found nothing is audited too: `NOT_FOUND` for a lookup of an
 * id that does not exist, `EMPTY` for a search or match without results (probing is an access attempt).
 */
export const AUDIT_OUTCOMES = ['SUCCESS', 'DENIED', 'ERROR', 'NOT_FOUND', 'EMPTY'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What one request did to patient data; written once per request as one chained entry. */
export interface AuditEntry {
  actor: string;
  role: string;
  action: string;
  objectType?: string | null;
  objectIds?: string[];
  fields?: string[];
  outcome: AuditOutcome;
  requestId?: string | null;
  clientAddress?: string | null;
  details?: Record<string, unknown>;
}

/** JSON with object keys sorted, so a jsonb round trip (which reorders keys) hashes the same. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const GENESIS_HASH = '0'.repeat(64);
/** Serialises appends so that each entry chains to exactly one predecessor. */
const AUDIT_CHAIN_LOCK = 0x6d7069_61; // "mpia"

type ChainedContent = Omit<AuditRow, 'id' | 'hash' | 'prevHash' | 'keyId'>;

function canonicalContent(prevHash: string, row: ChainedContent): unknown[] {
  return [
    prevHash,
    row.at.toISOString(),
    row.actor,
    row.role,
    row.action,
    row.objectType,
    row.objectIds,
    row.fields,
    row.outcome,
    row.requestId,
    row.clientAddress,
    row.details,
  ];
}

/**
 * The unkeyed chain hash of the entries written before the chain was keyed: SHA-256 over the previous hash and
 * the entry's canonical content. Anyone can recompute it, so it is only checked, never written any more.
 */
export function entryHash(prevHash: string, row: ChainedContent): string {
  return createHash('sha256')
    .update(stableStringify(canonicalContent(prevHash, row)))
    .digest('hex');
}

/**
 * The keyed chain hash: HMAC-SHA256 under an audit key over the key's id, the previous hash and the entry's
 * canonical content (RFC 2104). Without the key no one can compute it, so an entry edited, removed or inserted
 * with database access alone cannot be re-chained to verify.
 */
export function keyedEntryHash(key: AuditKey, prevHash: string, row: ChainedContent): string {
  return createHmac('sha256', key.secret)
    .update(stableStringify([key.id, ...canonicalContent(prevHash, row)]))
    .digest('hex');
}

/** Entries chained and inserted in one transaction at most. */
const MAX_APPEND_BATCH = 500;

interface PendingAppend {
  entry: AuditEntry;
  at: Date;
  resolve: () => void;
  reject: (error: unknown) => void;
}
interface AppendQueue {
  pending: PendingAppend[];
  draining: boolean;
}
const queues = new WeakMap<Database, AppendQueue>();

function rowOf(pending: PendingAppend): ChainedContent {
  const { entry } = pending;
  return {
    at: pending.at,
    actor: entry.actor,
    role: entry.role,
    action: entry.action,
    objectType: entry.objectType ?? null,
    objectIds: entry.objectIds ?? [],
    fields: entry.fields ?? [],
    outcome: entry.outcome,
    requestId: entry.requestId ?? null,
    clientAddress: entry.clientAddress ?? null,
    details: entry.details ?? {},
  };
}

/**
 * Chains and inserts entries inside `tx` under the chain lock: one round trip takes the lock and reads the last
 * hash (migration 0011's `audit_chain_head`), one inserts. With `onlyIfWritten`, a transaction that has written
 * nothing is left alone (no lock, no entry) and the result is false.
 */
async function chainAndInsert(tx: Executor, batch: PendingAppend[], onlyIfWritten = false): Promise<boolean> {
  // The lock is held until the transaction ends, so the entry this reads stays the last one until this commits.
  const [head] = await queryRows<{ locked: boolean; hash: string | null }>(
    tx,
    sql`select locked, hash from audit_chain_head(${AUDIT_CHAIN_LOCK}, ${onlyIfWritten})`,
  );
  if (!head?.locked) return false;
  const key = installedAuditKeyring().current;
  let prevHash = head.hash ?? GENESIS_HASH;
  const rows = batch.map((pending) => {
    const row = rowOf(pending);
    const chained = { ...row, prevHash, keyId: key.id, hash: keyedEntryHash(key, prevHash, row) };
    prevHash = chained.hash;
    return chained;
  });
  await tx.insert(auditLog).values(rows);
  return true;
}

async function appendBatch(db: Database, batch: PendingAppend[]): Promise<void> {
  await db.transaction((tx) => chainAndInsert(tx, batch));
}

/**
 * Appends an entry inside the caller's transaction, so a change and its audit entry commit together (one WAL
 * flush instead of two) or not at all. The chain lock is then held until that transaction ends: call it last.
 * With `onlyIfWritten`, nothing is appended when the transaction has written nothing (checked in the same round
 * trip as the lock); the result says whether the entry was appended.
 */
export async function appendAuditInTransaction(
  tx: Executor,
  entry: AuditEntry,
  options: { onlyIfWritten?: boolean } = {},
): Promise<boolean> {
  return chainAndInsert(tx, [{ entry, at: new Date(), resolve: () => undefined, reject: () => undefined }], options.onlyIfWritten);
}

async function drain(db: Database, queue: AppendQueue): Promise<void> {
  queue.draining = true;
  try {
    while (queue.pending.length > 0) {
      const batch = queue.pending.splice(0, MAX_APPEND_BATCH);
      try {
        await appendBatch(db, batch);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  } finally {
    queue.draining = false;
  }
}

/**
 * Appends an entry to the tamper-evident audit chain; resolves once it is committed. Appends arriving while a
 * batch is being written are chained and inserted together in the next transaction (group commit), so concurrent
 * requests do not queue one by one on the chain lock. Across processes the advisory lock keeps one chain.
 */
export function appendAudit(db: Database, entry: AuditEntry): Promise<void> {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = { pending: [], draining: false }));
  const done = new Promise<void>((resolve, reject) => queue.pending.push({ entry, at: new Date(), resolve, reject }));
  // The batch is written for many requests: it is none of theirs, so it carries no request's before-commit hook.
  if (!queue.draining) withoutBeforeCommit(() => void drain(db, queue));
  return done;
}

/** Narrows an audit listing; every condition is optional and they combine with AND. */
export interface AuditFilter {
  actor?: string | null;
  /** Exact action (`query:identity`) or a prefix ending in `*` (`mutation:*`). */
  action?: string | null;
  /** An object the entry touched, as stored (`identity:<id>`, `record:<id>`), or a bare identity or record id. */
  objectId?: string | null;
  outcome?: string | null;
  from?: Date | null;
  to?: Date | null;
}

function filterConditions(filter: AuditFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.actor) conditions.push(eq(auditLog.actor, filter.actor));
  if (filter.action?.endsWith('*')) {
    const prefix = escapeLike(filter.action.slice(0, -1));
    conditions.push(sql`${auditLog.action} like ${`${prefix}%`}`);
  } else if (filter.action) {
    conditions.push(eq(auditLog.action, filter.action));
  }
  if (filter.objectId) {
    const id = filter.objectId;
    // Both forms use the GIN index on object_ids: containment for a typed id, overlap for a bare one.
    conditions.push(
      id.includes(':')
        ? sql`${auditLog.objectIds} @> array[${id}]::text[]`
        : sql`${auditLog.objectIds} && array[${`identity:${id}`}, ${`record:${id}`}]::text[]`,
    );
  }
  if (filter.outcome) conditions.push(eq(auditLog.outcome, filter.outcome));
  if (filter.from) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to) conditions.push(lte(auditLog.at, filter.to));
  return conditions;
}

/**
 * One page of audit entries, newest first, by id keyset (`before`/`after` are entry ids), so paging stays cheap
 * however long the trail grows. `oldestFirst` reverses the order (for `last`/`before` paging).
 */
export async function listAuditEntries(
  db: Database,
  filter: AuditFilter,
  page: { before?: number | null; after?: number | null; limit: number; oldestFirst?: boolean },
): Promise<AuditRow[]> {
  const conditions = filterConditions(filter);
  // Newest first: "after" a cursor means older entries (smaller ids), "before" means newer ones.
  if (page.after != null) conditions.push(lt(auditLog.id, page.after));
  if (page.before != null) conditions.push(gt(auditLog.id, page.before));
  // With an object filter, `id + 0` keeps the planner from walking the primary key backwards through the whole
  // trail (it underestimates how selective array containment is) so it uses the GIN index and sorts the few hits.
  const order = filter.objectId ? sql`${auditLog.id} + 0` : auditLog.id;
  return db
    .select()
    .from(auditLog)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(page.oldestFirst ? asc(order) : desc(order))
    .limit(page.limit);
}

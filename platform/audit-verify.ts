import { asc, sql } from 'drizzle-orm';
import { checkCheckpointSignature, type AuditCheckpoint } from './audit-checkpoint.ts';
import { installedAuditKeyring, type AuditKeyring } from './audit-keys.ts';
import { entryHash, GENESIS_HASH, keyedEntryHash, type AuditRow } from './audit.ts';
import type { Database } from './db/client.ts';
import { auditLog } from './db/schema/index.ts';

/** Why a chain does not verify; each one names a kind of tampering (or a key that is not configured). */
export const AUDIT_CHAIN_PROBLEMS = {
  LINK_BROKEN: 'does not link to the entry before it: entries were removed or inserted before it',
  ENTRY_ALTERED: 'does not match its hash: it was edited, or re-chained without the audit key',
  UNKNOWN_KEY: 'was chained with a key that is neither MPI_AUDIT_KEY nor one of MPI_AUDIT_PREVIOUS_KEYS',
  UNKEYED_AFTER_KEYED: 'carries no key although an entry before it does: it was rewritten without the audit key',
  CHECKPOINT_UNKNOWN_KEY: 'was signed with a key that is neither MPI_AUDIT_KEY nor one of MPI_AUDIT_PREVIOUS_KEYS',
  CHECKPOINT_SIGNATURE_INVALID: 'has a signature that does not verify: it was not written by this service or was edited',
  CHECKPOINT_MISMATCH: 'names a last entry the chain no longer holds with that hash: the history was rewritten',
  TRUNCATED: 'covers entries the chain no longer ends with: entries were removed from its end',
} as const;
export type AuditChainProblem = keyof typeof AUDIT_CHAIN_PROBLEMS;

export interface ChainVerification {
  valid: boolean;
  entriesChecked: number;
  /** Id of the first entry whose hash or link does not match. */
  firstInvalidId: number | null;
  problem: AuditChainProblem | null;
  /** The problem in words, naming entry ids and the checkpoint (never entry contents). */
  message: string | null;
  /** Entries chained with an audit key (HMAC). */
  keyedEntries: number;
  /** Entries written before the chain was keyed (plain SHA-256): only those before the first keyed entry are accepted. */
  unkeyedEntries: number;
  /** The last entry checked. */
  headId: number | null;
  headHash: string;
  /** The checkpoint verified against, when one was given. */
  checkpoint: AuditCheckpoint | null;
}

interface Walk {
  prevHash: string;
  checked: number;
  keyed: number;
  unkeyed: number;
  headId: number | null;
  /** The checkpoint's entry was found with its hash. */
  anchored: boolean;
}

/** Checks one entry against the walk so far; the problem found, or null. */
function checkEntry(row: AuditRow, walk: Walk, keyring: AuditKeyring): AuditChainProblem | null {
  if (row.prevHash !== walk.prevHash) return 'LINK_BROKEN';
  if (row.keyId === null) {
    if (walk.keyed > 0) return 'UNKEYED_AFTER_KEYED';
    return entryHash(row.prevHash, row) === row.hash ? null : 'ENTRY_ALTERED';
  }
  const key = keyring.byId.get(row.keyId);
  if (!key) return 'UNKNOWN_KEY';
  return keyedEntryHash(key, row.prevHash, row) === row.hash ? null : 'ENTRY_ALTERED';
}

/**
 * Recomputes the audit chain from its first entry: an entry edited, inserted or removed breaks it, and without
 * the audit key no one can re-chain what follows. Against a signed checkpoint (taken earlier and kept outside the
 * database) it also detects entries cut off the end and a history rebuilt from scratch.
 */
export async function verifyAuditChain(
  db: Database,
  options: { checkpoint?: AuditCheckpoint | null; keyring?: AuditKeyring; batchSize?: number } = {},
): Promise<ChainVerification> {
  const keyring = options.keyring ?? installedAuditKeyring();
  const checkpoint = options.checkpoint ?? null;
  const walk: Walk = { prevHash: GENESIS_HASH, checked: 0, keyed: 0, unkeyed: 0, headId: null, anchored: checkpoint?.position === 0 };
  const result = (problem: AuditChainProblem | null, at: number | null = null): ChainVerification => ({
    valid: problem === null,
    entriesChecked: walk.checked,
    firstInvalidId: at,
    problem,
    message: problem === null ? null : describe(problem, at, checkpoint, walk.headId),
    keyedEntries: walk.keyed,
    unkeyedEntries: walk.unkeyed,
    headId: walk.headId,
    headHash: walk.prevHash,
    checkpoint,
  });
  if (checkpoint) {
    const signature = checkCheckpointSignature(checkpoint, keyring);
    if (signature === 'UNKNOWN_KEY') return result('CHECKPOINT_UNKNOWN_KEY');
    if (signature === 'INVALID') return result('CHECKPOINT_SIGNATURE_INVALID');
  }
  const batchSize = options.batchSize ?? 5000;
  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(sql`${auditLog.id} > ${walk.headId ?? 0}`)
      .orderBy(asc(auditLog.id))
      .limit(batchSize);
    for (const row of rows) {
      const problem = checkEntry(row, walk, keyring);
      if (problem) return result(problem, row.id);
      if (checkpoint && row.id === checkpoint.position) {
        if (row.hash !== checkpoint.headHash) return result('CHECKPOINT_MISMATCH', row.id);
        walk.anchored = true;
      }
      if (row.keyId === null) walk.unkeyed += 1;
      else walk.keyed += 1;
      walk.prevHash = row.hash;
      walk.checked += 1;
      walk.headId = row.id;
    }
    if (rows.length < batchSize) break;
  }
  if (checkpoint && !walk.anchored) {
    return result((walk.headId ?? 0) < checkpoint.position ? 'TRUNCATED' : 'CHECKPOINT_MISMATCH');
  }
  return result(null);
}

function describe(problem: AuditChainProblem, at: number | null, checkpoint: AuditCheckpoint | null, headId: number | null): string {
  const what = AUDIT_CHAIN_PROBLEMS[problem];
  if (at !== null) return `audit entry ${at} ${what}`;
  const of = checkpoint ? `the checkpoint of ${checkpoint.at} (up to entry ${checkpoint.position})` : 'the checkpoint';
  if (problem === 'TRUNCATED') return `${of} ${what}; the chain now ends at ${headId === null ? 'no entry' : `entry ${headId}`}`;
  return `${of} ${what}`;
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { installedAuditKeyring, type AuditKey, type AuditKeyring } from './audit-keys.ts';
import { stableStringify, GENESIS_HASH } from './audit.ts';
import type { Database, Executor } from './db/client.ts';
import { auditLog } from './db/schema/index.ts';
import { ValidationError } from './errors.ts';
import { startElectedJob, type ElectedJob } from './lease.ts';
import type { Logger } from './logger.ts';

export const AUDIT_CHECKPOINT_FORMAT = 'mpi-audit-checkpoint/1';

const HEX_64 = /^[0-9a-f]{64}$/;

const CheckpointSchema = z
  .object({
    format: z.literal(AUDIT_CHECKPOINT_FORMAT),
    /** Id of the last entry the checkpoint covers (0: the trail was empty). */
    position: z.number().int().min(0),
    /** That entry's chain hash. */
    headHash: z.string().regex(HEX_64, 'must be 64 hexadecimal digits'),
    /** When the checkpoint was taken. */
    at: z.iso.datetime(),
    /** The audit key that signed it. */
    keyId: z.string().regex(/^hk-[0-9a-f]{16}$/, 'must be an audit key id such as hk-0123456789abcdef'),
    /** HMAC-SHA256 over the fields above, under a key derived from the audit key. */
    signature: z.string().regex(HEX_64, 'must be 64 hexadecimal digits'),
  })
  .strict();

/**
 * A signed statement of how far the audit chain reached and where it ended: kept outside the database (a file,
 * write-once storage), it anchors the chain, so entries cut off its end or a history rebuilt from scratch no
 * longer match it.
 */
export type AuditCheckpoint = z.infer<typeof CheckpointSchema>;

/** The checkpoint signing key: derived from the audit key, so a checkpoint signature can never pass for an entry hash. */
function signingKey(key: AuditKey): Buffer {
  return createHmac('sha256', key.secret).update('mpi audit checkpoint signing key').digest();
}

function signatureOf(key: AuditKey, checkpoint: Omit<AuditCheckpoint, 'signature'>): string {
  const content = stableStringify([checkpoint.format, checkpoint.position, checkpoint.headHash, checkpoint.at, checkpoint.keyId]);
  return createHmac('sha256', signingKey(key)).update(content).digest('hex');
}

/** Validates a checkpoint document (parsed JSON); the error names the field and the problem. */
export function parseAuditCheckpoint(value: unknown, field = 'checkpoint'): AuditCheckpoint {
  const parsed = CheckpointSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      field: [field, ...issue.path].join('.'),
      code: 'INVALID_CHECKPOINT' as const,
      message: issue.message,
    })),
  );
}

/** Whether the checkpoint was signed by a key of the keyring (`UNKNOWN_KEY`: none of them has its id). */
export function checkCheckpointSignature(checkpoint: AuditCheckpoint, keyring: AuditKeyring): 'VALID' | 'INVALID' | 'UNKNOWN_KEY' {
  const key = keyring.byId.get(checkpoint.keyId);
  if (!key) return 'UNKNOWN_KEY';
  const expected = Buffer.from(signatureOf(key, checkpoint), 'hex');
  return timingSafeEqual(expected, Buffer.from(checkpoint.signature, 'hex')) ? 'VALID' : 'INVALID';
}

/** Signs a checkpoint of the chain as it stands: the last committed entry's id and hash, now, with the current key. */
export async function createAuditCheckpoint(db: Executor, keyring: AuditKeyring = installedAuditKeyring()): Promise<AuditCheckpoint> {
  // Appends hold the chain lock until they commit, so ids commit in order: the last visible entry is the head.
  const [head] = await db
    .select({ id: auditLog.id, hash: auditLog.hash })
    .from(auditLog)
    .orderBy(sql`${auditLog.id} desc`)
    .limit(1);
  const unsigned = {
    format: AUDIT_CHECKPOINT_FORMAT,
    position: head?.id ?? 0,
    headHash: head?.hash ?? GENESIS_HASH,
    at: new Date().toISOString(),
    keyId: keyring.current.id,
  } as const;
  return { ...unsigned, signature: signatureOf(keyring.current, unsigned) };
}

/** The file text of a checkpoint: one JSON object, fields in a fixed order. */
export function formatAuditCheckpoint(checkpoint: AuditCheckpoint): string {
  const { format, position, headHash, at, keyId, signature } = checkpoint;
  return `${JSON.stringify({ format, position, headHash, at, keyId, signature }, null, 2)}\n`;
}

const FILE_PATTERN = /^audit-checkpoint-\d{15}-[\dTZ]+\.json$/;

/** Writes a checkpoint into `dir` as `audit-checkpoint-<position>-<time>.json` (never over another file); returns its path. */
export function writeAuditCheckpoint(dir: string, checkpoint: AuditCheckpoint): string {
  mkdirSync(dir, { recursive: true });
  const stamp = checkpoint.at.replace(/[-:.]/g, '');
  const file = join(dir, `audit-checkpoint-${String(checkpoint.position).padStart(15, '0')}-${stamp}.json`);
  writeFileSync(file, formatAuditCheckpoint(checkpoint), { flag: 'wx', mode: 0o640 });
  return file;
}

/** Reads and validates a checkpoint file; the error names the file and the problem. */
export function readAuditCheckpointFile(file: string): AuditCheckpoint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw ValidationError.of('checkpoint', 'INVALID_CHECKPOINT', `${file} is not a readable JSON checkpoint (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the text around the fault: the file is named, its content is not.
    throw ValidationError.of('checkpoint', 'INVALID_CHECKPOINT', `${file} is not a readable JSON checkpoint (not valid JSON)`);
  }
  return parseAuditCheckpoint(value);
}

/** The newest checkpoint in `dir` (highest position, then latest time), or null when it holds none. */
export function latestAuditCheckpoint(dir: string): { file: string; checkpoint: AuditCheckpoint } | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => FILE_PATTERN.test(name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const newest = names.sort().at(-1);
  if (!newest) return null;
  const file = join(dir, newest);
  return { file, checkpoint: readAuditCheckpointFile(file) };
}

/** Writes a checkpoint into `dir` every `everyMs` on the one replica holding the `audit-checkpoint` lease. */
export function startAuditCheckpoints(
  db: Database,
  dir: string,
  options: { everyMs: number; holder: string; leaseMs: number; logger: Logger },
): ElectedJob {
  const { logger } = options;
  return startElectedJob(db, {
    name: 'audit-checkpoint',
    holder: options.holder,
    everyMs: options.everyMs,
    leaseMs: options.leaseMs,
    logger,
    job: async () => {
      const checkpoint = await createAuditCheckpoint(db);
      const file = writeAuditCheckpoint(dir, checkpoint);
      logger.info({ position: checkpoint.position, file }, 'audit checkpoint written');
    },
  });
}

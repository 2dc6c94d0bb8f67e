import { writeFileSync } from 'node:fs';
import { appendAudit } from '../platform/audit.ts';
import { AuditChainService } from '../platform/audit-chain-service.ts';
import { createAuditCheckpoint, formatAuditCheckpoint, readAuditCheckpointFile, writeAuditCheckpoint } from '../platform/audit-checkpoint.ts';
import { resolveAuditKeyring, useAuditKeyring, type AuditKeyring } from '../platform/audit-keys.ts';
import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { CliError } from './errors.ts';

/** Exit status of `mpi audit verify` when the chain or the checkpoint does not verify (tampering). */
export const TAMPERED_EXIT = 1;

/** Installs the configured audit key for this command; a missing one (production) is a one-line refusal. */
export function installAuditKeyring(config: AppConfig): AuditKeyring {
  let keyring: AuditKeyring;
  try {
    keyring = resolveAuditKeyring(config);
  } catch (error) {
    throw new CliError((error as Error).message, 'MPI_AUDIT_KEY');
  }
  useAuditKeyring(keyring);
  return keyring;
}

async function withAuditDatabase<T>(work: (config: AppConfig, database: DatabaseHandle, keyring: AuditKeyring) => Promise<T>): Promise<T> {
  const [{ loadConfig }, { openDatabase }] = await Promise.all([import('../platform/config.ts'), import('../platform/db/client.ts')]);
  const config = loadConfig();
  const keyring = installAuditKeyring(config);
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
  try {
    return await work(config, database, keyring);
  } finally {
    await database.close();
  }
}

/** `mpi audit checkpoint [--out FILE]`: signs a checkpoint and writes it to FILE, MPI_AUDIT_CHECKPOINT_DIR or stdout. */
export async function auditCheckpointCommand(opts: { out?: string }): Promise<void> {
  await withAuditDatabase(async (config, database, keyring) => {
    const checkpoint = await createAuditCheckpoint(database.db, keyring);
    let where: string;
    if (opts.out && opts.out !== '-') {
      writeFileSync(opts.out, formatAuditCheckpoint(checkpoint), { mode: 0o640 });
      where = opts.out;
    } else if (!opts.out && config.MPI_AUDIT_CHECKPOINT_DIR) {
      where = writeAuditCheckpoint(config.MPI_AUDIT_CHECKPOINT_DIR, checkpoint);
    } else {
      process.stdout.write(formatAuditCheckpoint(checkpoint));
      where = 'standard output (MPI_AUDIT_CHECKPOINT_DIR is not set: store it outside the database)';
    }
    await appendAudit(database.db, {
      actor: 'local:mpi-cli',
      role: 'admin',
      action: 'cli:audit-checkpoint',
      objectType: 'audit_log',
      outcome: 'SUCCESS',
      details: { position: checkpoint.position },
    });
    process.stderr.write(`audit checkpoint up to entry ${checkpoint.position} (signed by ${checkpoint.keyId}) written to ${where}\n`);
  });
}

/**
 * `mpi audit verify [--checkpoint FILE]`: exit 0 when the chain verifies (against the checkpoint: FILE, else the
 * newest in MPI_AUDIT_CHECKPOINT_DIR), 1 when it does not, 2 when it could not be checked.
 */
export async function auditVerifyCommand(opts: { checkpoint?: string }): Promise<void> {
  const given = opts.checkpoint ? readAuditCheckpointFile(opts.checkpoint) : null;
  await withAuditDatabase(async (config, database, keyring) => {
    const result = await new AuditChainService(database.db, keyring, config.MPI_AUDIT_CHECKPOINT_DIR).verify(given);
    const anchor =
      result.checkpointSource === 'none'
        ? 'no checkpoint: entries removed from the end cannot be detected (pass --checkpoint or set MPI_AUDIT_CHECKPOINT_DIR)'
        : `checked against the checkpoint ${result.checkpointFile ?? opts.checkpoint} (up to entry ${result.checkpoint!.position}, ${result.checkpoint!.at})`;
    if (!result.valid) {
      process.stdout.write(`audit chain does NOT verify (${result.problem}): ${result.message}\n`);
      process.exitCode = TAMPERED_EXIT;
      return;
    }
    const unkeyed = result.unkeyedEntries > 0 ? `, ${result.unkeyedEntries} unkeyed from before the chain was keyed` : '';
    process.stdout.write(
      `audit chain verifies: ${result.entriesChecked} entries (${result.keyedEntries} keyed${unkeyed}), last entry ${result.headId ?? 'none'}; ${anchor}\n`,
    );
  });
}

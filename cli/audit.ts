import { writeFileSync } from 'node:fs';
import { appendAudit } from '../platform/audit.ts';
import { AuditChainService } from '../platform/audit-chain-service.ts';
import {
  createAuditCheckpoint,
  formatAuditCheckpoint,
  latestAuditCheckpoint,
  parseAuditCheckpoint,
  readAuditCheckpointFile,
  writeAuditCheckpoint,
  type AuditCheckpoint,
} from '../platform/audit-checkpoint.ts';
import { resolveAuditKeyring, useAuditKeyring, type AuditKeyring } from '../platform/audit-keys.ts';
import type { AppConfig } from '../platform/config.ts';
import { graphqlCaller } from './admin.ts';
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

/** What `mpi audit verify` reports, from the database or a server. */
interface VerifyView {
  valid: boolean;
  problem: string | null;
  message: string | null;
  entriesChecked: number;
  keyedEntries: number;
  unkeyedEntries: number;
  headId: number | null;
  checkpoint: { position: number; at: string } | null;
  checkpointFile: string | null;
}

/** Where the audit commands go: a running server's API, or the database itself. */
interface AuditTarget {
  via: string;
  /** Signs a checkpoint; `storedAs` is the file the server stored it under, if it did. */
  checkpoint(): Promise<{ checkpoint: AuditCheckpoint; storedAs: string | null }>;
  /** Verifies against `checkpoint`; without one, a server uses the newest in its own checkpoint directory. */
  verify(checkpoint: AuditCheckpoint | null): Promise<VerifyView>;
  close(): Promise<void>;
}

interface ServerOptions {
  url?: string;
  key?: string;
}

function serverTarget(url: string, key: string | undefined, command: 'audit checkpoint' | 'audit verify'): AuditTarget {
  const call = graphqlCaller(url, key, command);
  return {
    via: `server ${url}`,
    async checkpoint() {
      const data = await call('mutation { exportAuditCheckpoint { file checkpoint { document } } }');
      const exported = data.exportAuditCheckpoint as { file: string | null; checkpoint: { document: string } };
      return { checkpoint: parseAuditCheckpoint(JSON.parse(exported.checkpoint.document)), storedAs: exported.file };
    },
    async verify(checkpoint) {
      const data = await call(
        `query ($checkpoint: JSON) { verifyAuditChain(checkpoint: $checkpoint) { valid problem message entriesChecked keyedEntries
          unkeyedEntries headId checkpoint { position at } checkpointFile } }`,
        { checkpoint },
      );
      return data.verifyAuditChain as VerifyView;
    },
    close: async () => undefined,
  };
}

async function databaseTarget(config: AppConfig): Promise<AuditTarget> {
  const keyring = installAuditKeyring(config);
  const { openDatabase } = await import('../platform/db/client.ts');
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.MPI_DATA_DIR });
  return {
    via: 'database',
    async checkpoint() {
      const checkpoint = await createAuditCheckpoint(database.db, keyring);
      await appendAudit(database.db, {
        actor: 'local:mpi-cli',
        role: 'admin',
        action: 'cli:audit-checkpoint',
        objectType: 'audit_log',
        outcome: 'SUCCESS',
        details: { position: checkpoint.position },
      });
      return { checkpoint, storedAs: null };
    },
    verify: (checkpoint) => new AuditChainService(database.db, keyring, undefined).verify(checkpoint),
    close: () => database.close(),
  };
}

async function withAuditTarget<T>(
  command: 'audit checkpoint' | 'audit verify',
  opts: ServerOptions,
  work: (config: AppConfig, target: AuditTarget) => Promise<T>,
): Promise<T> {
  const [{ loadConfig }, { serverFor }] = await Promise.all([import('../platform/config.ts'), import('./admin.ts')]);
  const config = loadConfig();
  const server = serverFor(config, opts);
  const target = server ? serverTarget(server.url, server.key, command) : await databaseTarget(config);
  try {
    return await work(config, target);
  } finally {
    await target.close();
  }
}

/**
 * `mpi audit checkpoint [--out FILE]`: signs a checkpoint (through the server, or on the database) and writes it
 * to FILE, else MPI_AUDIT_CHECKPOINT_DIR (unless the server stored it in its own), else stdout.
 */
export async function auditCheckpointCommand(opts: ServerOptions & { out?: string }): Promise<void> {
  await withAuditTarget('audit checkpoint', opts, async (config, target) => {
    const { checkpoint, storedAs } = await target.checkpoint();
    let where: string;
    if (opts.out && opts.out !== '-') {
      writeFileSync(opts.out, formatAuditCheckpoint(checkpoint), { mode: 0o640 });
      where = opts.out;
    } else if (!opts.out && storedAs) {
      where = `${storedAs} in the server's checkpoint directory`;
    } else if (!opts.out && config.MPI_AUDIT_CHECKPOINT_DIR) {
      where = writeAuditCheckpoint(config.MPI_AUDIT_CHECKPOINT_DIR, checkpoint);
    } else {
      process.stdout.write(formatAuditCheckpoint(checkpoint));
      where = 'standard output (no checkpoint directory is set: store it outside the database)';
    }
    process.stderr.write(`audit checkpoint up to entry ${checkpoint.position} (signed by ${checkpoint.keyId}) written to ${where}\n`);
  });
}

/**
 * `mpi audit verify [--checkpoint FILE]`: exit 0 when the chain verifies (against FILE, else the newest checkpoint
 * in MPI_AUDIT_CHECKPOINT_DIR, else the server's newest), 1 when it does not, 2 when it could not be checked.
 */
export async function auditVerifyCommand(opts: ServerOptions & { checkpoint?: string }): Promise<void> {
  await withAuditTarget('audit verify', opts, async (config, target) => {
    const local = opts.checkpoint
      ? { file: opts.checkpoint, checkpoint: readAuditCheckpointFile(opts.checkpoint) }
      : config.MPI_AUDIT_CHECKPOINT_DIR
        ? latestAuditCheckpoint(config.MPI_AUDIT_CHECKPOINT_DIR)
        : null;
    const result = await target.verify(local?.checkpoint ?? null);
    if (!result.valid) {
      process.stdout.write(`audit chain does NOT verify (${result.problem}): ${result.message}\n`);
      process.exitCode = TAMPERED_EXIT;
      return;
    }
    const anchor = result.checkpoint
      ? `checked against the checkpoint ${local?.file ?? result.checkpointFile} (up to entry ${result.checkpoint.position}, ${result.checkpoint.at})`
      : 'no checkpoint: entries removed from the end cannot be detected (pass --checkpoint or set MPI_AUDIT_CHECKPOINT_DIR)';
    const unkeyed = result.unkeyedEntries > 0 ? `, ${result.unkeyedEntries} unkeyed from before the chain was keyed` : '';
    process.stdout.write(
      `audit chain verifies: ${result.entriesChecked} entries (${result.keyedEntries} keyed${unkeyed}), last entry ${result.headId ?? 'none'}; ${anchor}\n`,
    );
  });
}

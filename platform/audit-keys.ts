import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from './config.ts';

/** One audit key: the secret and the id stored with every entry it chained (derived from the secret, not secret). */
export interface AuditKey {
  id: string;
  secret: Buffer;
}

/** The key that chains new entries and signs checkpoints, and every key older entries may carry. */
export interface AuditKeyring {
  current: AuditKey;
  byId: ReadonlyMap<string, AuditKey>;
  /** Where the current key comes from, for the start-up log (never the key itself). */
  source: 'configured' | 'generated-file' | 'ephemeral';
  /** The key file, when the key was generated into the data directory. */
  file?: string;
}

/** The file a generated key is kept in, inside MPI_DATA_DIR. */
export const AUDIT_KEY_FILE = 'audit.key';

/** The id of a key: a short HMAC of a fixed label under it, so ids name keys without revealing them. */
export function auditKeyId(secret: Buffer): string {
  return `hk-${createHmac('sha256', secret).update('mpi audit key id').digest('hex').slice(0, 16)}`;
}

function keyOf(secret: string | Buffer): AuditKey {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return { id: auditKeyId(bytes), secret: bytes };
}

/** A keyring from the current secret and the secrets used before it (rotation). */
export function auditKeyring(
  current: string | Buffer,
  previous: ReadonlyArray<string | Buffer> = [],
  source: AuditKeyring['source'] = 'configured',
): AuditKeyring {
  const key = keyOf(current);
  const byId = new Map<string, AuditKey>([[key.id, key]]);
  for (const old of previous) {
    const k = keyOf(old);
    if (!byId.has(k.id)) byId.set(k.id, k);
  }
  return { current: key, byId, source };
}

/** A random key that lives as long as this process (tests, in-memory databases). */
export function ephemeralAuditKeyring(): AuditKeyring {
  return auditKeyring(randomBytes(32).toString('base64'), [], 'ephemeral');
}

let testKeyring: AuditKeyring | null = null;

/** Reads the generated key in `dataDir`, creating it (mode 0600, never overwritten) the first time. */
function generatedKey(dataDir: string): { secret: string; file: string } {
  const file = join(dataDir, AUDIT_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds no audit key (at least 32 characters): restore it or set MPI_AUDIT_KEY`);
  return { secret, file };
}

/**
 * The audit keyring configuration asks for. MPI_AUDIT_KEY (with MPI_AUDIT_PREVIOUS_KEYS) when set. Production
 * refuses to run without it: a key generated beside the data is readable by whoever can read the data, which is
 * the person the keyed chain guards against. In development the key is generated once into
 * MPI_DATA_DIR/audit.key, so a restart keeps verifying the trail; tests and in-memory databases get a key that
 * lives as long as the process (as their data does).
 */
export function resolveAuditKeyring(
  config: Pick<AppConfig, 'NODE_ENV' | 'MPI_AUDIT_KEY' | 'MPI_AUDIT_PREVIOUS_KEYS' | 'MPI_DATA_DIR'>,
): AuditKeyring {
  if (config.MPI_AUDIT_KEY) return auditKeyring(config.MPI_AUDIT_KEY, config.MPI_AUDIT_PREVIOUS_KEYS);
  if (config.NODE_ENV === 'production') {
    throw new Error(
      'Refusing to start in production without MPI_AUDIT_KEY: the audit chain must be keyed with a secret kept ' +
        'outside the database (at least 32 characters, e.g. `openssl rand -base64 32`)',
    );
  }
  if (config.NODE_ENV === 'test' || config.MPI_DATA_DIR === 'memory://') {
    // One per process, so every service of a test process chains (and verifies) with the same key.
    testKeyring ??= ephemeralAuditKeyring();
    return config.MPI_AUDIT_PREVIOUS_KEYS.length === 0
      ? testKeyring
      : auditKeyring(testKeyring.current.secret, config.MPI_AUDIT_PREVIOUS_KEYS, 'ephemeral');
  }
  const { secret, file } = generatedKey(config.MPI_DATA_DIR);
  return { ...auditKeyring(secret, config.MPI_AUDIT_PREVIOUS_KEYS, 'generated-file'), file };
}

let installed: AuditKeyring | null = null;

/**
 * Makes `keyring` the one every audit append and verification of this process uses. Installed once at start-up
 * (`createServices`, the `mpi` commands that write or verify the trail), like the configuration it comes from.
 */
export function useAuditKeyring(keyring: AuditKeyring): void {
  installed = keyring;
}

/** The installed keyring; appending without one would write entries nothing can verify, so it throws instead. */
export function installedAuditKeyring(): AuditKeyring {
  if (!installed) throw new Error('no audit key is installed: call useAuditKeyring(resolveAuditKeyring(config)) at start-up');
  return installed;
}

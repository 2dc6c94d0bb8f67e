import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { installedAuditKeyring, resolveAuditKeyring, useAuditKeyring } from '../platform/audit-keys.ts';
import { openDatabase, type DatabaseHandle } from '../platform/db/client.ts';

/** The audit key of test services that run as in production (at least 32 characters). */
export const TEST_AUDIT_KEY = 'audit-key-for-tests-0123456789abcdef';

/** Which database the current test project runs on (set per vitest project in vitest.config.ts). */
export const TEST_DB_KIND = process.env.MPI_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/**
 * A fresh, migrated database for one test file: in-memory PGlite, or a new PostgreSQL database created on
 * the server at TEST_DATABASE_URL and dropped again on close.
 */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  installTestAuditKeyring();
  if (TEST_DB_KIND === 'pglite') return openDatabase({ dataDir: 'memory://' });
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL must be set for the postgres test project');
  const name = `mpi_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), poolSize: 10 });
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Audit appends need a key: the test process's own, unless a test installed another one (or services did). */
function installTestAuditKeyring(): void {
  try {
    installedAuditKeyring();
  } catch {
    useAuditKeyring(resolveAuditKeyring({ NODE_ENV: 'test', MPI_AUDIT_PREVIOUS_KEYS: [], MPI_DATA_DIR: 'memory://' }));
  }
}

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../api/app.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { appendAudit, listAuditEntries } from '../platform/audit.ts';
import { AUDIT_KEY_FILE, auditKeyring, resolveAuditKeyring, useAuditKeyring } from '../platform/audit-keys.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, type DatabaseHandle } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_AUDIT_KEY, TEST_DB_KIND } from './db.ts';

const CLI = fileURLToPath(new URL('../cli/mpi.js', import.meta.url));

describe(`audit checkpoints through GraphQL on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let dir: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpi-checkpoints-'));
    app = await createTestApp({ localMode: false, env: { MPI_AUDIT_CHECKPOINT_DIR: dir } });
    for (const role of ['pipeline', 'steward', 'governance', 'auditor', 'admin']) {
      keys[role] = (await createApiKey(app.services.database.db, `chain-${role}`, role)).key;
    }
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const EXPORT = 'mutation { exportAuditCheckpoint { file checkpoint { position headHash keyId signature at document } } }';
  interface Exported {
    exportAuditCheckpoint: { file: string; checkpoint: { position: number; headHash: string; keyId: string; document: string } };
  }
  const VERIFY = `query ($checkpoint: JSON) { verifyAuditChain(checkpoint: $checkpoint) {
    valid problem message firstInvalidId keyedEntries unkeyedEntries headId checkpointFile checkpoint { position } } }`;

  test.each([
    ['auditor', true],
    ['governance', true],
    ['admin', true],
    ['steward', false],
    ['pipeline', false],
  ])('%s may export a checkpoint: %s', async (role, allowed) => {
    const result = await app.gql<Exported>(EXPORT, {}, { key: keys[role] });
    if (!allowed) {
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      return;
    }
    const { file, checkpoint } = result.data!.exportAuditCheckpoint;
    expect(checkpoint.keyId).toBe(auditKeyring(TEST_AUDIT_KEY).current.id);
    // The stored file is the document returned, and names the entry it covers.
    expect(readFileSync(join(dir, file), 'utf8')).toBe(checkpoint.document);
    expect(JSON.parse(checkpoint.document)).toMatchObject({ position: checkpoint.position, headHash: checkpoint.headHash });
  });

  test('an export is itself audited, naming the caller', async () => {
    await app.gql(EXPORT, {}, { key: keys.governance });
    const [entry] = await listAuditEntries(app.services.database.db, { action: 'mutation:exportAuditCheckpoint' }, { limit: 1 });
    expect(entry).toMatchObject({ actor: 'api-key:chain-governance', role: 'governance', outcome: 'SUCCESS' });
    const [refused] = await listAuditEntries(
      app.services.database.db,
      { action: 'mutation:exportAuditCheckpoint', outcome: 'DENIED' },
      { limit: 1 },
    );
    expect(refused?.actor).toMatch(/^api-key:chain-(steward|pipeline)$/);
  });

  test('verifyAuditChain checks against the newest stored checkpoint, or the one passed in', async () => {
    const exported = (await app.gql<Exported>(EXPORT, {}, { key: keys.auditor })).data!.exportAuditCheckpoint;
    const intact = await app.gql<{ verifyAuditChain: Record<string, unknown> }>(VERIFY, {}, { key: keys.auditor });
    expect(intact.data!.verifyAuditChain).toMatchObject({
      valid: true,
      problem: null,
      unkeyedEntries: 0,
      checkpointFile: exported.file,
      checkpoint: { position: exported.checkpoint.position },
    });
    const given = await app.gql<{ verifyAuditChain: Record<string, unknown> }>(
      VERIFY,
      { checkpoint: JSON.parse(exported.checkpoint.document) },
      { key: keys.auditor },
    );
    expect(given.data!.verifyAuditChain).toMatchObject({ valid: true, checkpointFile: null });
  });

  test('a malformed checkpoint is a typed error naming the field', async () => {
    const exported = (await app.gql<Exported>(EXPORT, {}, { key: keys.auditor })).data!.exportAuditCheckpoint;
    const bad = { ...JSON.parse(exported.checkpoint.document), headHash: 'not-a-hash' };
    const result = await app.gql(VERIFY, { checkpoint: bad }, { key: keys.auditor });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'checkpoint.headHash' });
  });

  test('entries removed from the end after the last checkpoint make verifyAuditChain fail with TRUNCATED', async () => {
    const exported = (await app.gql<Exported>(EXPORT, {}, { key: keys.auditor })).data!.exportAuditCheckpoint;
    await app.services.database.db.execute(sql`delete from audit_log where id >= ${exported.checkpoint.position - 1}`);
    const result = await app.gql<{ verifyAuditChain: Record<string, unknown> }>(VERIFY, {}, { key: keys.auditor });
    expect(result.data!.verifyAuditChain).toMatchObject({ valid: false, problem: 'TRUNCATED', checkpointFile: exported.file });
    expect(result.data!.verifyAuditChain.message).toContain(`up to entry ${exported.checkpoint.position}`);
  });
});

describe(`audit keys at start-up on ${TEST_DB_KIND}`, () => {
  test('production refuses to start without MPI_AUDIT_KEY', async () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      MPI_DATA_DIR: 'memory://',
      MPI_BOOTSTRAP_ADMIN_KEY: 'bootstrap-admin-key-for-tests-0001',
    });
    await expect(createApp(config, createLogger('silent'))).rejects.toThrow(/without MPI_AUDIT_KEY/);
  });

  test('a short MPI_AUDIT_KEY is refused by the configuration, naming the variable', () => {
    expect(() => loadConfig({ MPI_AUDIT_KEY: 'too-short' })).toThrow(/MPI_AUDIT_KEY: MPI_AUDIT_KEY must be at least 32 characters/);
  });

  test('in development a key is generated once into the data directory (mode 0600) and kept across restarts', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mpi-audit-key-'));
    try {
      const config = loadConfig({ NODE_ENV: 'development', MPI_DATA_DIR: dataDir });
      const first = resolveAuditKeyring(config);
      const second = resolveAuditKeyring(config);
      expect(first).toMatchObject({ source: 'generated-file', file: join(dataDir, AUDIT_KEY_FILE) });
      expect(second.current.id).toBe(first.current.id);
      expect(statSync(join(dataDir, AUDIT_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A database the CLI can open from another process: a PostgreSQL database, or an embedded data directory. */
async function cliDatabase(): Promise<{ env: Record<string, string>; open(): Promise<DatabaseHandle>; drop(): Promise<void> }> {
  if (TEST_DB_KIND === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'mpi-audit-cli-'));
    return {
      env: { MPI_DATA_DIR: dataDir },
      open: () => openDatabase({ dataDir }),
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `mpi_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    open: () => openDatabase({ url: url.toString(), poolSize: 2 }),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'silent', ...env };
  for (const name of ['DATABASE_URL', 'MPI_DATA_DIR', 'MPI_AUDIT_KEY', 'MPI_AUDIT_CHECKPOINT_DIR'])
    if (!(name in env)) delete childEnv[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe(`mpi audit checkpoint and verify on ${TEST_DB_KIND}`, () => {
  let target: Awaited<ReturnType<typeof cliDatabase>>;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    target = await cliDatabase();
    dir = mkdtempSync(join(tmpdir(), 'mpi-audit-cli-checkpoints-'));
    env = { ...target.env, MPI_AUDIT_KEY: TEST_AUDIT_KEY, MPI_AUDIT_CHECKPOINT_DIR: dir };
    useAuditKeyring(auditKeyring(TEST_AUDIT_KEY));
    const handle = await target.open();
    for (let i = 0; i < 5; i += 1) {
      await appendAudit(handle.db, { actor: `api-key:cli-${i}`, role: 'steward', action: 'query:identity', outcome: 'SUCCESS' });
    }
    await handle.close();
  });
  afterAll(async () => {
    await target?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('checkpoint writes a signed file into MPI_AUDIT_CHECKPOINT_DIR, and verify exits 0 against it', async () => {
    const written = await cli(['audit', 'checkpoint'], env);
    expect(written.stderr).toContain('audit checkpoint up to entry 5');
    expect(written.code).toBe(0);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^audit-checkpoint-000000000000005-.*\.json$/)]);
    const verified = await cli(['audit', 'verify'], env);
    expect(verified.stdout).toContain('audit chain verifies: 6 entries (6 keyed)');
    expect(verified.stdout).toContain('up to entry 5');
    expect(verified.code).toBe(0);
  });

  test('verify exits 2 without the key, for an unreadable checkpoint, and names the problem', async () => {
    const production = await cli(['audit', 'verify'], { ...target.env, NODE_ENV: 'production' });
    expect(production.code).toBe(2);
    expect(production.stderr).toContain('MPI_AUDIT_KEY');
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"format":"mpi-audit-checkpoint/1"}');
    const broken = await cli(['audit', 'verify', '--checkpoint', file], env);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('checkpoint.position');
  });

  test('verify exits 1 once entries are cut off the end after the checkpoint, or an entry is edited', async () => {
    const out = join(dir, 'explicit.json');
    expect((await cli(['audit', 'checkpoint', '--out', out], env)).code).toBe(0);
    const handle = await target.open();
    await handle.db.execute(sql`delete from audit_log where id >= 6`);
    await handle.close();
    const truncated = await cli(['audit', 'verify', '--checkpoint', out], env);
    expect(truncated.stdout).toContain('audit chain does NOT verify (TRUNCATED)');
    expect(truncated.code).toBe(1);
    const again = await target.open();
    await again.db.execute(sql`update audit_log set actor = 'api-key:someone-else' where id = 2`);
    await again.close();
    const edited = await cli(['audit', 'verify', '--checkpoint', out], env);
    expect(edited.stdout).toContain('(ENTRY_ALTERED): audit entry 2');
    expect(edited.code).toBe(1);
  });
});

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DataDirLockedError, LOCK_FILE, lockDataDir, readDataDirLock } from '../platform/db/data-dir-lock.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** Runs `mpi` as a user would, on the given data directory; resolves with its exit code and output. */
async function mpi(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, MPI_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  for (const name of ['DATABASE_URL', 'TEST_DATABASE_URL', 'MPI_URL', 'MPI_API_KEY']) delete env[name];
  try {
    const { stdout, stderr } = await run('node', [join(ROOT, 'cli/mpi.js'), ...args], { env, cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// One process per embedded data directory: the server holds it, and `mpi` administration goes through the server.
describe('an embedded data directory held by a running server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mpi-lock-'));
  let server: ChildProcess;
  let url = '';

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MPI_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'development' };
    delete env.DATABASE_URL;
    server = spawn('node', ['--import', 'tsx', 'api/server.ts'], { cwd: ROOT, env, stdio: 'ignore' });
    for (let waited = 0; waited < 170_000; waited += 200) {
      const holder = readDataDirLock(dataDir);
      if (holder?.holder === 'server' && holder.url) {
        url = holder.url;
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the server did not start');
  }, 180_000);
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const whoAmI = async (key: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ me { name roles } }' }),
    });
    return (await response.json()) as { data?: { me: { name: string } }; errors?: Array<{ extensions: { code: string } }> };
  };

  test('a second process that opens the directory is refused, naming the server', async () => {
    expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError);
    expect(() => lockDataDir(dataDir)).toThrow(`in use by the MPI server (pid ${server.pid}, ${url})`);
    const migrate = await mpi(dataDir, 'migrate');
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain(`error: The embedded database in ${dataDir} is in use by the MPI server (pid ${server.pid}`);
    expect(migrate.stderr).not.toMatch(/RuntimeError|Aborted|at .*\.ts:/);
  });

  test('keys created and revoked with the CLI act on the running server at once', async () => {
    const created = await mpi(dataDir, 'keys', 'create', '--role', 'pipeline', '--name', 'lab-feed');
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`via the server ${url}/graphql`);
    const key = created.stdout.trim();
    expect((await whoAmI(key)).data?.me.name).toBe('lab-feed');

    const listed = await mpi(dataDir, 'keys', 'list');
    expect(listed.stdout).toMatch(/\tpipeline\tlab-feed\tmpi_.{4}…\tactive\n/);

    const revoked = await mpi(dataDir, 'keys', 'revoke', 'lab-feed');
    expect(revoked.code).toBe(0);
    expect((await whoAmI(key)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  }, 90_000);

  test('after the server stops, the directory is free and the keys it stored are still there', async () => {
    server.kill('SIGTERM');
    for (let waited = 0; existsSync(join(dataDir, LOCK_FILE)) && waited < 30_000; waited += 200)
      await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const listed = await mpi(dataDir, 'keys', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\tpipeline\tlab-feed\tmpi_.{4}…\trevoked\n/);
  }, 90_000);
});

describe('the data directory lock', () => {
  test('waits for a lock file another process has created but not yet written, then names that process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-lock-'));
    const path = join(dir, LOCK_FILE);
    writeFileSync(path, '');
    // The other process writes its pid into the file a moment after creating it, and stays alive meanwhile.
    const script = `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(path)}, JSON.stringify({ pid: process.pid, holder: 'cli', startedAt: '' })), 300); setTimeout(() => {}, 10000);`;
    const other = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    try {
      expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
      expect(readDataDirLock(dir)?.pid).toBe(other.pid);
    } finally {
      other.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('takes over a lock file left unwritten long ago', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-lock-'));
    try {
      writeFileSync(join(dir, LOCK_FILE), '');
      const past = new Date(Date.now() - 60_000);
      utimesSync(join(dir, LOCK_FILE), past, past);
      const lock = lockDataDir(dir);
      expect(readDataDirLock(dir)?.pid).toBe(process.pid);
      lock.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('takes over a lock whose process is gone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-lock-'));
    try {
      // A lock left by a crashed server: its pid no longer runs.
      const deadPid = spawnSync('true').pid;
      writeFileSync(
        join(dir, LOCK_FILE),
        JSON.stringify({ pid: deadPid, holder: 'server', startedAt: new Date().toISOString(), url: 'http://127.0.0.1:1' }),
      );
      expect(readDataDirLock(dir)).toBeNull();
      const second = lockDataDir(dir);
      expect(readDataDirLock(dir)?.pid).toBe(process.pid);
      second.release();
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

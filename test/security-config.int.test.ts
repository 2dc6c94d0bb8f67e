import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createApp } from '../api/app.ts';
import { revokeApiKey } from '../platform/api-keys.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { TEST_AUDIT_KEY, TEST_DB_KIND } from './db.ts';

const KEY = 'bootstrap-admin-key-for-revocation-0001';
const ME = JSON.stringify({ query: '{ me { name } }' });

// Configuration-level hardening; it runs on an embedded data directory (restarts keep it), whatever the project.
describe.runIf(TEST_DB_KIND === 'pglite')('security configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpi-security-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const start = (env: Record<string, string> = {}) =>
    createApp(
      loadConfig({
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        MPI_DATA_DIR: dir,
        MPI_AUDIT_KEY: TEST_AUDIT_KEY,
        MPI_BOOTSTRAP_ADMIN_KEY: KEY,
        ...env,
      }),
      createLogger('silent'),
    );
  const me = (app: Awaited<ReturnType<typeof start>>, key: string, origin?: string) =>
    app.http(
      new Request('http://localhost/graphql', {
        method: 'POST',
        body: ME,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(origin ? { origin } : {}) },
      }),
      { clientAddress: '127.0.0.1' },
    );

  test('a revoked bootstrap admin key stays revoked after a restart; a new configured key replaces it', async () => {
    const first = await start();
    expect((await me(first, KEY)).status).toBe(200);
    await revokeApiKey(first.services.database.db, 'bootstrap-admin');
    await first.close();
    const second = await start({ MPI_BOOTSTRAP_ADMIN_KEY: 'rotated-bootstrap-admin-key-0002' });
    expect((await me(second, KEY)).status).toBe(401);
    expect((await me(second, 'rotated-bootstrap-admin-key-0002')).status).toBe(200);
    await second.close();
    const third = await start(); // the old secret configured again does not bring it back
    expect((await me(third, KEY)).status).toBe(401);
    await third.close();
  }, 180_000);

  test('CORS is off unless origins are configured, and then allows only those', async () => {
    const closed = await start({ MPI_BOOTSTRAP_ADMIN_KEY: 'rotated-bootstrap-admin-key-0002' });
    const reflected = await me(closed, 'rotated-bootstrap-admin-key-0002', 'https://evil.example');
    expect(reflected.headers.get('access-control-allow-origin')).toBeNull();
    await closed.close();
    const open = await start({
      MPI_BOOTSTRAP_ADMIN_KEY: 'rotated-bootstrap-admin-key-0002',
      MPI_CORS_ORIGINS: 'https://console.example.org',
    });
    expect(
      (await me(open, 'rotated-bootstrap-admin-key-0002', 'https://console.example.org')).headers.get('access-control-allow-origin'),
    ).toBe('https://console.example.org');
    expect(
      (await me(open, 'rotated-bootstrap-admin-key-0002', 'https://evil.example')).headers.get('access-control-allow-origin'),
    ).not.toBe('https://evil.example');
    await open.close();
  }, 120_000);
});

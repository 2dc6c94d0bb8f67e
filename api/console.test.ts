import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONSOLE_CSP, createConsoleHandler, isConsoleRequest, type ConsoleOptions } from './console.ts';

describe('console route', () => {
  let dist: string;
  let options: ConsoleOptions;
  const serve = (path: string, headers: Record<string, string> = {}, production = false) => {
    const request = new Request(`http://localhost${path}`, { headers });
    const url = new URL(request.url);
    const opts = { ...options, graphiql: !production };
    return isConsoleRequest(request, url, opts) ? createConsoleHandler(opts)(request, url) : null;
  };

  beforeAll(() => {
    dist = mkdtempSync(join(tmpdir(), 'mpi-console-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dist, 'graphiql.html'), '<!doctype html><title>graphiql</title>');
    writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'export {};');
    writeFileSync(join(dist, 'secret.txt'), 'outside assets');
    options = { distDir: dist, graphiql: true };
  });
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  test('serves the single page for any screen path, with a CSP that allows no other origin', async () => {
    const response = await serve('/identities/01a2');
    expect(response?.status).toBe(200);
    expect(await response?.text()).toContain('<title>console</title>');
    const csp = response?.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).not.toMatch(/https?:|\*/);
    expect(csp).toContain("script-src 'self'");
    expect(response?.headers.get('cache-control')).toBe('no-cache');
  });

  test('serves hashed assets for good and refuses paths outside them', async () => {
    const asset = await serve('/assets/app-abc123.js');
    expect(asset?.headers.get('content-type')).toMatch(/javascript/);
    expect(asset?.headers.get('cache-control')).toContain('immutable');
    expect((await serve('/assets/..%2Fsecret.txt'))?.status).toBe(404);
    expect((await serve('/secret.txt'))?.status).toBe(404);
    expect((await serve('/assets/missing.js'))?.status).toBe(404);
    // A malformed escape names no file: 404, not an exception out of the handler.
    expect((await serve('/assets/%ZZ'))?.status).toBe(404);
    expect((await serve('/assets/app-abc123.js%E0%A4%A'))?.status).toBe(404);
  });

  test('leaves the API paths to the API', () => {
    for (const path of ['/graphql', '/fhir/metadata', '/healthz', '/readyz']) expect(serve(path)).toBeNull();
    const post = new Request('http://localhost/review', { method: 'POST' });
    expect(isConsoleRequest(post, new URL(post.url), options)).toBe(false);
  });

  test('serves the offline GraphiQL page at /graphql to browsers, outside production only', async () => {
    const page = await serve('/graphql', { accept: 'text/html' });
    expect(await page?.text()).toContain('<title>graphiql</title>');
    expect(serve('/graphql', { accept: 'text/html' }, true)).toBeNull();
  });

  test('says how to build the console when it is not built, and links the API endpoints', async () => {
    const request = new Request('http://localhost/');
    const response = await createConsoleHandler({ distDir: join(dist, 'none'), graphiql: true })(request, new URL(request.url));
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).toMatch(/npm run build:web/);
    for (const path of ['/graphql', '/fhir/metadata', '/healthz', '/readyz']) expect(body).toContain(path);
  });
});

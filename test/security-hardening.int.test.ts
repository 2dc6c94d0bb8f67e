import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AUTH_FAILURES_PER_MINUTE, createRequestGuard, guardHandler } from '../api/hardening.ts';
import { buildYoga } from '../api/yoga.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
const ME = JSON.stringify({ query: '{ me { name } }' });

describe(`HTTP hardening on ${TEST_DB_KIND}`, () => {
  let dev: TestApp;
  let limited: TestApp;
  let prod: TestApp;
  let prodKey: string;
  beforeAll(async () => {
    dev = await createTestApp();
    limited = await createTestApp({ localMode: false, env: { MPI_RATE_LIMIT_PER_MINUTE: '5' } });
    prod = await createTestApp({ localMode: false, env: { NODE_ENV: 'production' } });
    prodKey = (await createApiKey(prod.services.database.db, 'hardening-admin', 'admin')).key;
  });
  afterAll(async () => {
    await dev?.close();
    await limited?.close();
    await prod?.close();
  });

  test.each(['/graphql', '/healthz'])('sends security headers on %s', async (path) => {
    const response = await prod.yoga.fetch(
      `http://localhost${path}`,
      path === '/graphql' ? { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${prodKey}` }, body: ME } : {},
    );
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'strict-transport-security': expect.stringContaining('max-age=') as unknown,
    });
  });

  test.each<{ label: string; init: RequestInit; query: string; status: number }>([
    { label: 'a GET without the CSRF header', init: { method: 'GET' }, query: '?query=%7B%20__typename%20%7D', status: 403 },
    {
      label: 'a text/plain form post',
      init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: ME },
      query: '',
      status: 403,
    },
    {
      label: 'a GET with the CSRF header',
      init: { method: 'GET', headers: { 'x-mpi-csrf': '1' } },
      query: '?query=%7B%20__typename%20%7D',
      status: 200,
    },
    { label: 'a JSON post', init: { method: 'POST', headers: JSON_HEADERS, body: ME }, query: '', status: 200 },
  ])('answers $label with $status', async ({ init, query, status }) => {
    const response = await dev.yoga.fetch(`http://localhost/graphql${query}`, init);
    expect(response.status).toBe(status);
  });

  test('rate-limits each key on its own, answering 429 with Retry-After', async () => {
    const { key: other } = await createApiKey(limited.services.database.db, 'rate-other', 'pipeline');
    const { key } = await createApiKey(limited.services.database.db, 'rate-main', 'pipeline');
    const send = (k: string) =>
      limited.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { ...JSON_HEADERS, authorization: `Bearer ${k}` },
        body: ME,
      });
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await send(key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await send(key);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('RATE_LIMITED');
    expect((await send(other)).status).toBe(200);
  });

  test("refills a key's allowance over the minute", async () => {
    let now = 0;
    const guard = createRequestGuard({ perMinute: 60, maxBodyBytes: 1024, now: () => now });
    const admitted = async () =>
      !((await guard.admit(new Request('http://localhost/graphql', { headers: { authorization: 'Bearer k' } }))) instanceof Response);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 61; i += 1) outcomes.push(await admitted());
    expect(outcomes.filter(Boolean)).toHaveLength(60);
    now += 1000; // one token per second at 60 a minute
    expect([await admitted(), await admitted()]).toEqual([true, false]);
  });

  test('counts a request once when the HTTP handler and GraphQL share a guard', async () => {
    const guard = createRequestGuard({ perMinute: 3, maxBodyBytes: 4096 });
    const yoga = buildYoga(limited.services, { localMode: true, guard });
    const http = guardHandler(async (request: Request) => yoga.fetch(request), guard, false);
    const statuses = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push(
        (
          await http(
            new Request('http://localhost/graphql', {
              method: 'POST',
              headers: { ...JSON_HEADERS, authorization: 'Bearer shared' },
              body: ME,
            }),
          )
        ).status,
      );
    }
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
  });

  test('limits refused credentials by client address, so guessing keys cannot dodge the per-key limit', async () => {
    const guess = (address: string) =>
      limited.yoga.fetch(
        'http://localhost/graphql',
        {
          method: 'POST',
          headers: { ...JSON_HEADERS, authorization: `Bearer mpi_guess_${Math.random().toString(36).slice(2)}` },
          body: ME,
        },
        { clientAddress: address },
      );
    const statuses = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 1; i += 1) statuses.push((await guess('203.0.113.7')).status);
    expect(statuses.slice(0, AUTH_FAILURES_PER_MINUTE).every((s) => s === 401)).toBe(true);
    expect(statuses[AUTH_FAILURES_PER_MINUTE]).toBe(429);
    expect((await guess('203.0.113.8')).status).toBe(401);
  });

  test('turns introspection and GraphiQL off in production', async () => {
    const introspect = await prod.gql('{ __schema { queryType { name } } }', {}, { key: prodKey });
    expect(introspect.data).toBeNull();
    expect(introspect.errors?.[0]?.message).toMatch(/introspection/i);
    // The whole HTTP handler, console included: in production /graphql serves no page (development: api/console.test.ts).
    const page = await prod.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
  });

  test("keeps a caller's request id only when it is a plain token", async () => {
    const send = (requestId: string) =>
      dev.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': requestId },
        body: JSON.stringify({ query: '{ auditLog(first: 1) { edges { node { requestId } } } }' }),
      });
    await send('trace-1234');
    const hostile = 'Jane Doe 1980-01-01 <script>';
    await send(hostile);
    const latest = await dev.gql<{ auditLog: { edges: Array<{ node: { requestId: string } }> } }>(
      '{ auditLog(first: 3) { edges { node { requestId } } } }',
    );
    const ids = latest.data!.auditLog.edges.map((e) => e.node.requestId);
    expect(ids).toContain('trace-1234');
    expect(ids).not.toContain(hostile);
  });
});

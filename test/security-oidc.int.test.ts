import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../api/app.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_AUDIT_KEY, TEST_DB_KIND } from './db.ts';

const AUDIENCE = 'mpi-api';

/** A local OpenID provider: a key pair and its JWKS served on loopback, like an issuer's jwks.json. */
async function startIssuer(): Promise<{
  issuer: string;
  sign(claims: JWTPayload, options?: { expiresIn?: string; audience?: string; key?: CryptoKey }): Promise<string>;
  close(): Promise<void>;
}> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setIssuer(issuer)
        .setAudience(options.audience ?? AUDIENCE)
        .setSubject('user-7f3a')
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(options.key ?? privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe(`OIDC tokens and start-up modes on ${TEST_DB_KIND}`, () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let app: TestApp;
  beforeAll(async () => {
    issuer = await startIssuer();
    app = await createTestApp({
      localMode: false,
      env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUDIENCE, OIDC_ROLES_CLAIM: 'realm_access.roles' },
    });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  test('accepts a token from the issuer and takes the roles from the configured claim', async () => {
    const token = await issuer.sign({ realm_access: { roles: ['steward', 'unrelated-role'] } });
    const me = await app.gql<{ me: { name: string; kind: string; roles: string[] } }>('{ me { name kind roles } }', {}, { key: token });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toEqual({ name: 'user-7f3a', kind: 'jwt', roles: ['steward'] });
  });

  test('lets a token without a known role in, but forbids it everything role-bound', async () => {
    const token = await issuer.sign({ realm_access: { roles: ['viewer'] } });
    const result = await app.gql('{ reviewQueue { edges { cursor } } }', {}, { key: token });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test.each([
    ['an expired token', async () => issuer.sign({ realm_access: { roles: ['admin'] } }, { expiresIn: '-10m' })],
    ['a token for another audience', async () => issuer.sign({ realm_access: { roles: ['admin'] } }, { audience: 'someone-else' })],
    [
      'a token signed by an unknown key',
      async () => issuer.sign({ realm_access: { roles: ['admin'] } }, { key: (await generateKeyPair('RS256')).privateKey }),
    ],
    [
      'an unsigned token',
      async () => {
        const encode = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: issuer.issuer, aud: AUDIENCE, sub: 'x', exp: 9_999_999_999, realm_access: { roles: ['admin'] } })}.`;
      },
    ],
  ])('refuses %s with UNAUTHENTICATED', async (_label, makeToken) => {
    const result = await app.gql('{ me { name } }', {}, { key: await makeToken() });
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  const configFor = (env: Record<string, string>) =>
    loadConfig({ MPI_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', MPI_AUDIT_KEY: TEST_AUDIT_KEY, ...env });

  test('refuses to start in production without API keys or an issuer', async () => {
    await expect(createApp(configFor({ NODE_ENV: 'production' }), createLogger('silent'))).rejects.toThrow(
      /Refusing to start in production without API keys/,
    );
  });

  test.each<{ label: string; env: Record<string, string>; local: boolean }>([
    { label: 'development without credentials', env: { NODE_ENV: 'development' }, local: true },
    {
      label: 'development with an issuer',
      env: { NODE_ENV: 'development', OIDC_ISSUER: 'http://127.0.0.1:9/', OIDC_AUDIENCE: AUDIENCE },
      local: false,
    },
    {
      label: 'production with a bootstrap key',
      env: { NODE_ENV: 'production', MPI_BOOTSTRAP_ADMIN_KEY: 'bootstrap-admin-key-for-tests-0001' },
      local: false,
    },
  ])('runs $label with local mode $local', async ({ env, local }) => {
    const started = await createApp(configFor(env), createLogger('silent'));
    try {
      expect(started.localMode).toBe(local);
      const anonymous = await started.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ me { name } }' }),
      });
      const body = (await anonymous.json()) as { data?: { me?: { name: string } }; errors?: Array<{ extensions: { code: string } }> };
      if (local) expect(body.data?.me?.name).toBe('local-admin');
      else expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      await started.close();
    }
  });

  test('rejects an issuer without an audience at configuration time', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://login.example.org/' })).toThrow(/OIDC_AUDIENCE/);
  });
});

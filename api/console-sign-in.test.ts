import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../platform/config.ts';
import { startMockIssuer, type MockIssuer } from '../test/mock-issuer.ts';
import { createOidcSignIn } from './console-sign-in.ts';

const CLIENT_ID = 'mpi-console';
const AUDIENCE = 'mpi-api';
const REDIRECT = 'http://console.test/oidc-callback';

let issuer: MockIssuer;
beforeAll(async () => {
  issuer = await startMockIssuer({ clientId: CLIENT_ID, audience: AUDIENCE });
});
afterAll(() => issuer.close());

function handlerFor(env: Record<string, string> = {}) {
  const config = loadConfig({
    NODE_ENV: 'test',
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_CONSOLE_CLIENT_ID: CLIENT_ID,
    ...env,
  });
  const handle = createOidcSignIn(config);
  return (path: string, init?: RequestInit) => {
    const request = new Request(`http://console.test${path}`, init);
    return handle(request, new URL(request.url));
  };
}

/** Walks the issuer's authorization endpoint as the browser would, returning the code it hands back. */
async function authorize(challenge: string): Promise<string> {
  const url = new URL(`${issuer.issuer}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(k, v);
  const response = await fetch(url, { redirect: 'manual' });
  return new URL(response.headers.get('location')!).searchParams.get('code')!;
}

const redeem = (code: string, codeVerifier: string, redirectUri = REDIRECT) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ code, codeVerifier, redirectUri }),
});

describe('console sign-in with the OIDC issuer', () => {
  test('answers nothing outside its two paths', () => {
    expect(handlerFor()('/graphql')).toBeNull();
    expect(handlerFor()('/review')).toBeNull();
  });

  test('says there is no OIDC sign-in when the console has no client id', async () => {
    const config = loadConfig({ NODE_ENV: 'test', OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: AUDIENCE });
    const request = new Request('http://console.test/auth/oidc');
    const response = await createOidcSignIn(config)(request, new URL(request.url));
    expect(response?.status).toBe(404);
  });

  test("gives the console the issuer's authorization endpoint, read from its discovery document", async () => {
    const response = await handlerFor()('/auth/oidc')!;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      issuer: issuer.issuer,
      clientId: CLIENT_ID,
      scope: 'openid profile',
      authorizationEndpoint: `${issuer.issuer}/authorize`,
    });
  });

  test('refuses an issuer whose discovery document names another issuer', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      OIDC_ISSUER: `${issuer.issuer}/`,
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_CONSOLE_CLIENT_ID: CLIENT_ID,
    });
    const request = new Request('http://console.test/auth/oidc');
    const response = await createOidcSignIn(config)(request, new URL(request.url))!;
    expect(response.status).toBe(502);
    expect(((await response.json()) as { message: string }).message).toContain('names another issuer');
  });

  test('redeems a code with its PKCE verifier for an access token the API accepts', async () => {
    issuer.nextUser = { sub: 'oidc-steward', roles: ['steward'] };
    const verifier = randomBytes(32).toString('base64url');
    const code = await authorize(createHash('sha256').update(verifier).digest('base64url'));
    const response = await handlerFor()('/auth/oidc/token', redeem(code, verifier))!;
    expect(response.status).toBe(200);
    const { accessToken } = (await response.json()) as { accessToken: string };
    expect(decodeJwt(accessToken)).toMatchObject({ iss: issuer.issuer, aud: AUDIENCE, sub: 'oidc-steward', roles: ['steward'] });
  });

  test('passes on the issuer refusing a wrong verifier, and a code used twice', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await authorize(createHash('sha256').update(verifier).digest('base64url'));
    const handle = handlerFor();
    const wrong = await handle('/auth/oidc/token', redeem(code, randomBytes(32).toString('base64url')))!;
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'invalid_grant', message: 'The identity provider refused the sign-in.' });
    const again = await handle('/auth/oidc/token', redeem(code, verifier))!;
    expect(again.status).toBe(400);
    expect(issuer.refusals.slice(-2)).toEqual(['PKCE verifier', 'unknown or used code']);
  });

  test.each([
    ['a verifier too short for PKCE', { code: 'c', codeVerifier: 'short', redirectUri: REDIRECT }, 'codeVerifier'],
    ['no code', { codeVerifier: 'a'.repeat(43), redirectUri: REDIRECT }, 'code'],
    ['a redirect URI that is not a URL', { code: 'c', codeVerifier: 'a'.repeat(43), redirectUri: 'nowhere' }, 'redirectUri'],
  ])('refuses %s, naming the field', async (_name, body, field) => {
    const response = await handlerFor()('/auth/oidc/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })!;
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message.startsWith(`${field}:`)).toBe(true);
  });

  test('takes the code only as JSON, so a cross-site form cannot post it', async () => {
    const response = await handlerFor()('/auth/oidc/token', { method: 'POST', body: new URLSearchParams({ code: 'c' }) })!;
    expect(response.status).toBe(415);
  });
});

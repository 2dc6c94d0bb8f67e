import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/**
 * A stand-in OpenID Connect issuer for the browser tests: discovery, keys, an authorization endpoint that signs
 * the next user in at once (no login form) and a token endpoint that checks the code, client, redirect URI and
 * PKCE verifier the way a real issuer must, then issues an RS256 access token with the user's roles.
 */
export interface MockIssuer {
  issuer: string;
  /** Who the next authorization request signs in as. */
  nextUser: { sub: string; roles: string[] };
  /** Token requests refused so far, by reason. */
  refusals: string[];
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  user: { sub: string; roles: string[] };
}

async function body(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function startMockIssuer(options: { clientId: string; audience: string }): Promise<MockIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  let issuer = '';
  const mock: MockIssuer = {
    issuer: '',
    nextUser: { sub: 'oidc-user', roles: ['steward'] },
    refusals: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const send = (response: ServerResponse, status: number, json: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(json));
  };
  const refuse = (response: ServerResponse, reason: string) => {
    mock.refusals.push(reason);
    send(response, 400, { error: 'invalid_grant', error_description: reason });
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', issuer);
      if (url.pathname === '/.well-known/openid-configuration') {
        return send(response, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/.well-known/jwks.json') return send(response, 200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const q = url.searchParams;
        if (q.get('response_type') !== 'code' || q.get('client_id') !== options.clientId || q.get('code_challenge_method') !== 'S256') {
          return send(response, 400, { error: 'invalid_request' });
        }
        const code = randomBytes(16).toString('base64url');
        grants.set(code, {
          clientId: q.get('client_id')!,
          redirectUri: q.get('redirect_uri')!,
          challenge: q.get('code_challenge')!,
          user: mock.nextUser,
        });
        const back = new URL(q.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        back.searchParams.set('iss', issuer);
        response.writeHead(302, { location: back.toString() });
        return response.end();
      }
      if (url.pathname === '/token' && request.method === 'POST') {
        const form = await body(request);
        const grant = grants.get(form.get('code') ?? '');
        grants.delete(form.get('code') ?? '');
        if (!grant) return refuse(response, 'unknown or used code');
        if (form.get('grant_type') !== 'authorization_code') return refuse(response, 'grant type');
        if (form.get('client_id') !== grant.clientId) return refuse(response, 'client');
        if (form.get('redirect_uri') !== grant.redirectUri) return refuse(response, 'redirect uri');
        if (s256(form.get('code_verifier') ?? '') !== grant.challenge) return refuse(response, 'PKCE verifier');
        const token = await accessToken(privateKey, issuer, options.audience, grant.user);
        return send(response, 200, { access_token: token, token_type: 'Bearer', expires_in: 300 });
      }
      send(response, 404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mock.issuer = issuer;
  return mock;
}

function accessToken(key: CryptoKey, issuer: string, audience: string, user: { sub: string; roles: string[] }): Promise<string> {
  return new SignJWT({ roles: user.roles })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(user.sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

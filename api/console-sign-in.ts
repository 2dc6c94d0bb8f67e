import { z } from 'zod';
import type { AppConfig } from '../platform/config.ts';
import { securityHeaders } from './hardening.ts';

/**
 * The console's sign-in with the configured OpenID Connect issuer: the authorization code flow with PKCE
 * (RFC 7636) for a public client. The browser builds the authorization request and checks the answer's `state`;
 * this server tells it where the issuer's authorization endpoint is (from the issuer's discovery document) and
 * redeems the code at the token endpoint for it, so the console's Content-Security-Policy still connects to no
 * origin but its own and the issuer needs no CORS set-up. The access token goes back to the tab, which sends it
 * as `Authorization: Bearer` like an API key; the API verifies it on every request (api/auth.ts).
 */
export const OIDC_SIGN_IN_PATH = '/auth/oidc';
const TOKEN_PATH = `${OIDC_SIGN_IN_PATH}/token`;

/** The parts of the issuer's discovery document (OpenID Connect Discovery 1.0, §3) the sign-in uses. */
const Discovery = z.object({
  issuer: z.string().url(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

/** What the console sends to redeem a code: the code, its PKCE verifier and the redirect URI it asked with. */
const Redemption = z.object({
  code: z.string().min(1).max(4096),
  codeVerifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, 'a PKCE code verifier (RFC 7636 §4.1)'),
  redirectUri: z.string().url().max(2048),
});

const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
});

/** How long the issuer's discovery document is reused before it is read again. */
const DISCOVERY_TTL_MS = 10 * 60_000;
/** How long the issuer may take to answer. */
const ISSUER_TIMEOUT_MS = 10_000;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...securityHeaders(false, false) },
  });
}

/** A refusal the console shows as it is: it names the problem, never the code or a token. */
function refused(status: number, error: string, message: string): Response {
  return json(status, { error, message });
}

/**
 * The handler of `/auth/oidc` (GET: the sign-in settings, 404 when the console has no OIDC client) and
 * `/auth/oidc/token` (POST: redeem a code), or null when a request is for neither.
 */
export function createOidcSignIn(
  config: AppConfig,
  fetchIssuer: typeof fetch = fetch,
): (request: Request, url: URL) => Promise<Response> | null {
  const issuer = config.OIDC_ISSUER;
  const clientId = config.OIDC_CONSOLE_CLIENT_ID;
  let discovery: { value: Promise<z.infer<typeof Discovery>>; at: number } | null = null;

  const discover = () => {
    if (!discovery || Date.now() - discovery.at > DISCOVERY_TTL_MS) {
      const value = readDiscovery(issuer!, fetchIssuer);
      discovery = { value, at: Date.now() };
      value.catch(() => (discovery = null));
    }
    return discovery.value;
  };

  return (request, url) => {
    if (url.pathname !== OIDC_SIGN_IN_PATH && url.pathname !== TOKEN_PATH) return null;
    if (!issuer || !clientId) return Promise.resolve(refused(404, 'not_configured', 'This service has no OpenID Connect sign-in.'));
    if (url.pathname === OIDC_SIGN_IN_PATH) {
      if (request.method !== 'GET') return Promise.resolve(refused(405, 'method_not_allowed', 'Use GET.'));
      return settings();
    }
    if (request.method !== 'POST') return Promise.resolve(refused(405, 'method_not_allowed', 'Use POST.'));
    return redeem(request);
  };

  async function settings(): Promise<Response> {
    try {
      const found = await discover();
      return json(200, { issuer, clientId, scope: config.OIDC_CONSOLE_SCOPE, authorizationEndpoint: found.authorization_endpoint });
    } catch (error) {
      return refused(502, 'issuer_unavailable', (error as Error).message);
    }
  }

  async function redeem(request: Request): Promise<Response> {
    // A JSON body only: a cross-site form cannot send one without the browser asking this server first.
    if (!(request.headers.get('content-type') ?? '').startsWith('application/json')) {
      return refused(415, 'unsupported_media_type', 'Send the code as application/json.');
    }
    const parsed = Redemption.safeParse(await request.json().catch(() => null));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return refused(400, 'invalid_request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const { code, codeVerifier, redirectUri } = parsed.data;
    let endpoint: string;
    try {
      endpoint = (await discover()).token_endpoint;
    } catch (error) {
      return refused(502, 'issuer_unavailable', (error as Error).message);
    }
    let answer: Response;
    try {
      answer = await fetchIssuer(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: codeVerifier,
          redirect_uri: redirectUri,
          client_id: clientId!,
        }),
        signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS),
      });
    } catch {
      return refused(502, 'issuer_unavailable', 'The identity provider did not answer.');
    }
    const body: unknown = await answer.json().catch(() => null);
    if (!answer.ok) {
      // RFC 6749 §5.2: the issuer's error code (e.g. invalid_grant for a used or expired code) is safe to show.
      const error = z.object({ error: z.string().regex(/^[\w.-]{1,64}$/) }).safeParse(body);
      return refused(400, error.success ? error.data.error : 'token_refused', 'The identity provider refused the sign-in.');
    }
    const tokens = TokenResponse.safeParse(body);
    if (!tokens.success || (tokens.data.token_type && tokens.data.token_type.toLowerCase() !== 'bearer')) {
      return refused(502, 'invalid_token_response', 'The identity provider answered without a bearer access token.');
    }
    return json(200, { accessToken: tokens.data.access_token, expiresIn: tokens.data.expires_in ?? null });
  }
}

/** Reads and checks the issuer's discovery document: its `issuer` must be the configured one (Discovery §4.3). */
async function readDiscovery(issuer: string, fetchIssuer: typeof fetch): Promise<z.infer<typeof Discovery>> {
  const where = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let body: unknown;
  try {
    const response = await fetchIssuer(where, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`status ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new Error(`The identity provider's discovery document could not be read (${(error as Error).message}).`, { cause: error });
  }
  const parsed = Discovery.safeParse(body);
  if (!parsed.success) throw new Error("The identity provider's discovery document lacks its endpoints.");
  if (parsed.data.issuer !== issuer) throw new Error("The identity provider's discovery document names another issuer.");
  const methods = parsed.data.code_challenge_methods_supported;
  if (methods && !methods.includes('S256')) throw new Error('The identity provider does not support PKCE with S256.');
  return parsed.data;
}

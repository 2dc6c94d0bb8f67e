import { storeApiKey } from './session.ts';

/**
 * Sign-in with the service's OpenID Connect issuer: the authorization code flow with PKCE (RFC 7636, S256) for a
 * public client. The tab keeps the request's `state` and code verifier in session storage, goes to the issuer,
 * and on its way back (`/oidc-callback`) checks the state, has the server redeem the code and keeps the access
 * token like a pasted key. Nothing of the exchange is logged; the code leaves the address bar at once.
 */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  scope: string;
  authorizationEndpoint: string;
}

const SETTINGS_PATH = '/auth/oidc';
const CALLBACK_PATH = '/oidc-callback';
const PENDING_KEY = 'mpi.console.oidcRequest';

/** Why the last return from the issuer did not sign in, for the sign-in form to say; null when it did. */
let lastFailure: string | null = null;

interface PendingRequest {
  state: string;
  verifier: string;
  issuer: string;
  redirectUri: string;
  returnTo: string;
}

/** The service's OIDC sign-in settings, or null when it has none (or cannot reach its issuer just now). */
export async function fetchOidcSettings(): Promise<OidcSettings | null> {
  try {
    const response = await fetch(SETTINGS_PATH, { headers: { accept: 'application/json' } });
    return response.ok ? ((await response.json()) as OidcSettings) : null;
  } catch {
    return null;
  }
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

const randomText = (bytes: number) => base64Url(crypto.getRandomValues(new Uint8Array(bytes)));

/** Goes to the issuer's sign-in; the browser comes back to `/oidc-callback` with a code, then to this page. */
export async function startOidcSignIn(settings: OidcSettings): Promise<void> {
  forgetOidcSignInFailure();
  const verifier = randomText(32);
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const pending: PendingRequest = {
    state: randomText(16),
    verifier,
    issuer: settings.issuer,
    redirectUri: `${location.origin}${CALLBACK_PATH}`,
    returnTo: `${location.pathname}${location.search}`,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const target = new URL(settings.authorizationEndpoint);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: pending.redirectUri,
    scope: settings.scope,
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })) {
    target.searchParams.set(name, value);
  }
  location.assign(target.toString());
}

/** Why the last return from the issuer did not sign in, until the next attempt. */
export function oidcSignInFailure(): string | null {
  return lastFailure;
}

/** Forgets that failure once another sign-in is tried. */
export function forgetOidcSignInFailure(): void {
  lastFailure = null;
}

/** A same-origin path to go back to (never another site). */
const safeReturn = (path: string | undefined) => (path && path.startsWith('/') && !path.startsWith('//') ? path : '/');

/**
 * On `/oidc-callback`: finishes the sign-in (or records why it failed) and leaves the address, so the code is
 * neither kept in history nor shown; elsewhere does nothing. Resolves when the console may start.
 */
export async function completeOidcSignIn(): Promise<void> {
  if (location.pathname !== CALLBACK_PATH) return;
  const answer = new URLSearchParams(location.search);
  let pending: PendingRequest | null = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as PendingRequest | null;
  } catch {
    pending = null;
  }
  // One answer per request: a second visit to the same callback address finds nothing to finish.
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', safeReturn(pending?.returnTo));
  lastFailure = await redeem(answer, pending);
}

async function redeem(answer: URLSearchParams, pending: PendingRequest | null): Promise<string | null> {
  const code = answer.get('code');
  if (answer.get('error')) return `The identity provider did not sign you in (${answer.get('error')}).`;
  if (!pending || !code || answer.get('state') !== pending.state) {
    return 'That answer from the identity provider does not belong to a sign-in started in this tab. Sign in again.';
  }
  // RFC 9207: an issuer that names itself must be the one this tab asked.
  const issuer = answer.get('iss');
  if (issuer !== null && issuer !== pending.issuer) return 'The answer came from another identity provider than the one asked.';
  try {
    const response = await fetch(`${SETTINGS_PATH}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ code, codeVerifier: pending.verifier, redirectUri: pending.redirectUri }),
    });
    const body = (await response.json().catch(() => null)) as { accessToken?: string; message?: string; error?: string } | null;
    if (!response.ok || !body?.accessToken) {
      return `The identity provider refused the sign-in${body?.error ? ` (${body.error})` : ''}. Sign in again.`;
    }
    storeApiKey(body.accessToken);
    return null;
  } catch {
    return 'The service could not be reached to finish the sign-in. Sign in again.';
  }
}

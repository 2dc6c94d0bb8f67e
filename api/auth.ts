import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AppConfig } from '../platform/config.ts';
import { UnauthenticatedError } from '../platform/errors.ts';
import { instruments } from '../platform/telemetry.ts';
import { isRole } from '../platform/roles.ts';
import type { Principal, Role } from './context.ts';
import type { Services } from './services.ts';

/** The principal used when the server runs unsecured on loopback for local development. */
export const LOCAL_ADMIN: Principal = { id: 'local', name: 'local-admin', roles: ['admin'], kind: 'local' };

/** The principal of `mpi` commands run beside the server on its embedded data directory (they hold its per-run token). */
export const LOCAL_CLI_ADMIN: Principal = { id: 'local-cli', name: 'local-cli', roles: ['admin'], kind: 'local' };

/** Only asymmetric signatures: the service holds no shared secret with the issuer, and `none` is never valid. */
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Tolerated clock skew between the issuer and this service. */
const JWT_CLOCK_TOLERANCE_SECONDS = 30;
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export { isRole };

/** Why a request could not be authenticated; a metric label, never a credential. */
export type AuthFailureReason = 'malformed_header' | 'unknown_key' | 'invalid_token';

/** An authentication failure that remembers why, for metrics and the audit trail. */
export class AuthenticationFailure extends UnauthenticatedError {
  readonly reason: AuthFailureReason;

  constructor(reason: AuthFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Identifies the caller of a request, or null when it sent no credentials (and is not local). */
export type Authenticate = (request: Request) => Promise<Principal | null>;

/** Reads roles from a claim: an array or a space/comma-separated string; dots walk into nested objects. */
export function rolesFromClaims(payload: JWTPayload, claim: string): Role[] {
  let value: unknown = payload;
  for (const part of claim.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return [
    ...new Set(
      raw
        .filter((r): r is string => typeof r === 'string')
        .map((r) => r.toLowerCase())
        .filter(isRole),
    ),
  ];
}

/** Verifies JWTs from the configured OpenID Connect issuer against its published keys (cached by jose). */
function createJwtVerifier(config: AppConfig): ((token: string) => Promise<Principal>) | null {
  const issuer = config.OIDC_ISSUER;
  if (!issuer) return null;
  const jwksUrl = config.OIDC_JWKS_URL ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience: config.OIDC_AUDIENCE,
        algorithms: JWT_ALGORITHMS,
        clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch {
      throw new AuthenticationFailure('invalid_token', 'Invalid, expired or untrusted token');
    }
    const subject = payload.sub!;
    return { id: subject, name: subject, roles: rolesFromClaims(payload, config.OIDC_ROLES_CLAIM), kind: 'jwt' };
  };
}

async function principalForApiKey(services: Services, key: string): Promise<Principal> {
  const row = await services.apiKeys.findActive(key);
  if (!row || !isRole(row.role)) throw new AuthenticationFailure('unknown_key', 'Unknown or revoked API key');
  return { id: row.id, name: row.name, roles: [row.role], kind: 'api-key' };
}

/**
 * Builds the authenticator for `Authorization: Bearer <credential>`: an API key, or a JWT when an OIDC issuer is
 * configured. Without a header the caller is anonymous, unless the service runs in local development mode
 * (no keys, no issuer), where it is the local admin. Every failure is counted by reason.
 */
export function createAuthenticator(
  services: Services,
  options: { localMode: boolean; localAdminToken?: () => string | undefined },
): Authenticate {
  const verifyJwt = createJwtVerifier(services.config);
  const isLocalAdminToken = (credential: string) => {
    const token = options.localAdminToken?.();
    return token !== undefined && token.length === credential.length && timingSafeEqual(Buffer.from(token), Buffer.from(credential));
  };
  return async (request) => {
    try {
      const header = request.headers.get('authorization');
      if (!header) return options.localMode ? LOCAL_ADMIN : null;
      const credential = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      if (!credential) throw new AuthenticationFailure('malformed_header', 'Authorization header must be "Bearer <key>"');
      if (isLocalAdminToken(credential)) return LOCAL_CLI_ADMIN;
      if (verifyJwt && JWT_SHAPE.test(credential)) return await verifyJwt(credential);
      return await principalForApiKey(services, credential);
    } catch (error) {
      if (error instanceof AuthenticationFailure) instruments().authFailures.add(1, { 'mpi.reason': error.reason });
      throw error;
    }
  };
}

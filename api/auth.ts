import { and, eq, isNull } from 'drizzle-orm';
import { hashApiKey } from '../platform/api-keys.ts';
import { apiKeys } from '../platform/db/schema/index.ts';
import { UnauthenticatedError } from '../platform/errors.ts';
import { ROLES, type Principal, type Role } from './context.ts';
import type { Services } from './services.ts';

/** The principal used when the server runs unsecured on loopback for local development. */
export const LOCAL_ADMIN: Principal = { id: 'local', name: 'local-admin', roles: ['admin'], kind: 'local' };

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * Identifies the caller from `Authorization: Bearer <key>`. Without a header, the caller is anonymous,
 * unless the service runs in local development mode (no keys configured), where it is the local admin.
 */
export async function authenticate(request: Request, services: Services, localMode: boolean): Promise<Principal | null> {
  const header = request.headers.get('authorization');
  if (!header) return localMode ? LOCAL_ADMIN : null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw new UnauthenticatedError('Authorization header must be "Bearer <key>"');
  const [row] = await services.database.db
    .select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashApiKey(match[1])), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row || !isRole(row.role)) throw new UnauthenticatedError('Unknown or revoked API key');
  return { id: row.id, name: row.name, roles: [row.role], kind: 'api-key' };
}

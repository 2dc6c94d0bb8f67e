import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Database } from './db/client.ts';
import { apiKeys } from './db/schema/index.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import { ROLES } from './roles.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
/** The roles a key can carry: every role (`roles.ts`). */
export const KEY_ROLES = ROLES;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key; the secret is returned once and only its hash is stored. */
export async function createApiKey(db: Database, name: string, role: string, secret?: string): Promise<{ key: string; row: ApiKeyRow }> {
  if (!(KEY_ROLES as readonly string[]).includes(role)) {
    throw ValidationError.of('role', 'UNKNOWN_ROLE', `must be one of ${KEY_ROLES.join(', ')}`);
  }
  if (!name.trim()) throw ValidationError.of('name', 'REQUIRED', 'must not be empty');
  const key = secret ?? `mpi_${randomBytes(24).toString('base64url')}`;
  // A transaction of its own, so the request's audit entry commits with the key (platform/db/before-commit.ts).
  const [row] = await db.transaction((tx) =>
    tx
      .insert(apiKeys)
      .values({ name: name.trim(), role, prefix: key.slice(0, 8), keyHash: hashApiKey(key) })
      .onConflictDoUpdate({ target: apiKeys.keyHash, set: { revokedAt: null, role, name: name.trim() } })
      .returning(),
  );
  return { key, row: row! };
}

/**
 * Seeds the configured bootstrap key once: a key already stored under this secret (revoked or not) is left as
 * it is, so revoking it sticks across restarts. Rotate it by configuring a new secret.
 */
export async function ensureBootstrapKey(db: Database, name: string, secret: string): Promise<void> {
  await db
    .insert(apiKeys)
    .values({ name, role: 'admin', prefix: secret.slice(0, 8), keyHash: hashApiKey(secret) })
    .onConflictDoNothing({ target: apiKeys.keyHash });
}

/** Revokes a key by id or by name; revoked keys stop working at once. */
export async function revokeApiKey(db: Database, idOrName: string): Promise<ApiKeyRow> {
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrName);
  const [row] = await db.transaction(async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(isUuid ? eq(apiKeys.id, idOrName) : eq(apiKeys.name, idOrName), isNull(apiKeys.revokedAt)))
      .returning();
    // Nothing revoked: nothing to audit as done (the request's entry records the failure).
    if (rows.length === 0) throw new NotFoundError('Active API key', 'id');
    return rows;
  });
  if (!row) throw new NotFoundError('Active API key', 'id');
  return row;
}

export async function listApiKeys(db: Database): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
}

export async function countActiveApiKeys(db: Database): Promise<number> {
  const rows = await db.select({ id: apiKeys.id }).from(apiKeys).where(isNull(apiKeys.revokedAt)).limit(1);
  return rows.length;
}

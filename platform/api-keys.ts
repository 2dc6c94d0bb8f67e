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

/** Every key, newest first. */
export async function listApiKeys(db: Database): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
}

/** 1 when at least one key is active, else 0: whether the server has credentials configured. */
export async function countActiveApiKeys(db: Database): Promise<number> {
  const rows = await db.select({ id: apiKeys.id }).from(apiKeys).where(isNull(apiKeys.revokedAt)).limit(1);
  return rows.length;
}

/** The active (not revoked) key whose secret this is, or null. */
export async function findActiveApiKey(db: Database, secret: string): Promise<ApiKeyRow | null> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashApiKey(secret)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row ?? null;
}

/**
 * API keys bound to one database: what the API (authentication, the key operations, start-up) uses, so it never
 * holds the database handle itself. The functions above stay for the CLI on an embedded data directory and tests.
 */
export class ApiKeyService {
  constructor(private readonly db: Database) {}

  /** Creates a key; the secret is returned once and only its hash is stored. */
  create(name: string, role: string, secret?: string): Promise<{ key: string; row: ApiKeyRow }> {
    return createApiKey(this.db, name, role, secret);
  }

  /** Seeds the configured bootstrap admin key once (see `ensureBootstrapKey`). */
  ensureBootstrapKey(name: string, secret: string): Promise<void> {
    return ensureBootstrapKey(this.db, name, secret);
  }

  /** Revokes a key by id or by name. */
  revoke(idOrName: string): Promise<ApiKeyRow> {
    return revokeApiKey(this.db, idOrName);
  }

  /** Every key, newest first. */
  list(): Promise<ApiKeyRow[]> {
    return listApiKeys(this.db);
  }

  /** Whether any key is active. */
  async anyActive(): Promise<boolean> {
    return (await countActiveApiKeys(this.db)) > 0;
  }

  /** The active key whose secret this is, or null. */
  findActive(secret: string): Promise<ApiKeyRow | null> {
    return findActiveApiKey(this.db, secret);
  }
}

import { desc, eq, max, sql } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { survivorshipPolicies } from '../platform/db/schema/index.ts';
import type { SurvivorshipPolicyRow } from './store.ts';
import type { PolicyRules } from './survivorship.ts';

/** Every stored policy version, newest first. */
export function policyRows(db: Executor): Promise<SurvivorshipPolicyRow[]> {
  return db.select().from(survivorshipPolicies).orderBy(desc(survivorshipPolicies.version));
}

/** Serialises policy changes for the rest of the transaction, so two changes cannot take the same version. */
export async function lockPolicyChanges(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('survivorship-policy', 0))`);
}

/** The highest stored policy version, or 0 when none was ever stored. */
export async function maxPolicyVersion(tx: Executor): Promise<number> {
  const [row] = await tx.select({ max: max(survivorshipPolicies.version) }).from(survivorshipPolicies);
  return Number(row?.max ?? 0);
}

/** Stores a policy version as the only active one (in the caller's transaction). */
export async function insertActivePolicy(
  tx: Executor,
  policy: { version: number; rules: PolicyRules; createdBy: string },
): Promise<SurvivorshipPolicyRow> {
  await tx.update(survivorshipPolicies).set({ active: false }).where(eq(survivorshipPolicies.active, true));
  const [row] = await tx
    .insert(survivorshipPolicies)
    .values({ ...policy, active: true })
    .returning();
  return row!;
}

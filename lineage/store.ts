import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { fieldProvenance, identities, links, sourceRecords, sources, survivorshipPolicies } from '../platform/db/schema/index.ts';
import {
  buildGolden, DEFAULT_POLICY, GOLDEN_FIELDS, type Contributor, type FieldDecision, type GoldenRecord,
  type PolicyRules, type SurvivorshipPolicy,
} from './survivorship.ts';

/** The active survivorship policy, or the built-in default (version 1) when none was ever set. */
export async function loadActivePolicy(db: Executor): Promise<SurvivorshipPolicy> {
  const [row] = await db.select().from(survivorshipPolicies).where(eq(survivorshipPolicies.active, true)).limit(1);
  return row ? { version: row.version, rules: row.rules as PolicyRules } : DEFAULT_POLICY;
}

/** The active (not deleted) source records linked to an identity, with their source's trust. */
export async function loadContributors(db: Executor, identityId: string): Promise<Contributor[]> {
  const rows = await db
    .select({ record: sourceRecords, trustRank: sources.trustRank })
    .from(links)
    .innerJoin(sourceRecords, eq(sourceRecords.id, links.recordId))
    .innerJoin(sources, eq(sources.id, sourceRecords.sourceId))
    .where(and(eq(links.identityId, identityId), isNull(sourceRecords.deletedAt)));
  return rows.map(({ record, trustRank }) => ({
    recordId: record.id,
    sourceId: record.sourceId,
    trustRank,
    updatedAt: record.updatedAt,
    values: Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, record[f]])),
  }));
}

function sameDecision(open: typeof fieldProvenance.$inferSelect, d: FieldDecision, policyVersion: number): boolean {
  return open.value === d.value && open.recordId === d.recordId && open.rule === d.rule && open.policyVersion === policyVersion
    && JSON.stringify(open.competitors) === JSON.stringify(d.competitors);
}

export interface GoldenChange {
  golden: GoldenRecord;
  /** Fields whose value changed. */
  changedFields: string[];
  /** Fields whose provenance row was closed and reopened (value, winner, rule or competitors changed). */
  reprovenanced: string[];
}

/**
 * Recomputes an identity's golden record from its linked records and the policy. Provenance is temporal:
 * a field whose decision changed gets its open row closed and a new one opened; nothing is overwritten.
 */
export async function rebuildGolden(
  tx: Executor,
  identityId: string,
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null; at?: Date },
): Promise<GoldenChange> {
  const at = options.at ?? new Date();
  const contributors = await loadContributors(tx, identityId);
  const { golden, decisions } = buildGolden(contributors, options.policy);
  const openRows = await tx.select().from(fieldProvenance)
    .where(and(eq(fieldProvenance.identityId, identityId), isNull(fieldProvenance.validTo)));
  const openByField = new Map(openRows.map((r) => [r.field, r]));
  const toClose: number[] = [];
  const toOpen: Array<typeof fieldProvenance.$inferInsert> = [];
  const changedFields: string[] = [];
  const reprovenanced: string[] = [];
  for (const d of decisions) {
    const open = openByField.get(d.field);
    if (open && sameDecision(open, d, options.policy.version)) continue;
    if (!open && d.value === null) continue;
    if ((open?.value ?? null) !== d.value) changedFields.push(d.field);
    reprovenanced.push(d.field);
    if (open) toClose.push(open.id);
    if (d.value !== null || open) {
      toOpen.push({
        identityId, field: d.field, value: d.value, recordId: d.recordId, sourceId: d.sourceId, rule: d.rule,
        policyVersion: options.policy.version, competitors: d.competitors, ingestRunId: options.ingestRunId ?? null, validFrom: at,
      });
    }
  }
  if (toClose.length > 0) await tx.update(fieldProvenance).set({ validTo: at }).where(inArray(fieldProvenance.id, toClose));
  if (toOpen.length > 0) await tx.insert(fieldProvenance).values(toOpen);
  if (changedFields.length > 0) {
    await tx.update(identities)
      .set({ golden, updatedAt: at, version: sql`${identities.version} + 1` })
      .where(eq(identities.id, identityId));
  }
  return { golden, changedFields, reprovenanced };
}

/** The provenance history of one golden field, newest first. */
export async function fieldHistory(db: Executor, identityId: string, field?: string) {
  const where = field
    ? and(eq(fieldProvenance.identityId, identityId), eq(fieldProvenance.field, field))
    : eq(fieldProvenance.identityId, identityId);
  return db.select().from(fieldProvenance).where(where).orderBy(desc(fieldProvenance.validFrom), desc(fieldProvenance.id));
}

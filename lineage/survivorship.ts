import { z } from 'zod';
import { CANONICAL_FIELD_DEFINITIONS, CANONICAL_FIELDS, type CanonicalField } from '../matching/index.ts';

/** Golden fields built by survivorship, in display order: the canonical fields (`matching/fields.ts`). */
export const GOLDEN_FIELDS = CANONICAL_FIELDS;
export type GoldenField = CanonicalField;
export type GoldenRecord = Record<GoldenField, string | null>;

export const SURVIVORSHIP_RULES = ['SOURCE_PRIORITY', 'MOST_RECENT', 'MOST_FREQUENT', 'MOST_COMPLETE', 'STEWARD_OVERRIDE'] as const;
export type SurvivorshipRule = (typeof SURVIVORSHIP_RULES)[number];

const FieldRuleSchema = z.object({
  rule: z.enum(SURVIVORSHIP_RULES),
  /** Only for STEWARD_OVERRIDE: the value a steward set, and the rule used when it is cleared. */
  value: z.string().nullable().optional(),
  fallback: z.enum(['SOURCE_PRIORITY', 'MOST_RECENT', 'MOST_FREQUENT', 'MOST_COMPLETE']).optional(),
});
export type FieldRule = z.infer<typeof FieldRuleSchema>;

export const PolicyRulesSchema = z.record(z.enum(GOLDEN_FIELDS), FieldRuleSchema);
export type PolicyRules = Partial<Record<GoldenField, FieldRule>>;

export interface SurvivorshipPolicy {
  version: number;
  rules: PolicyRules;
}

/** The default policy: each canonical field's default rule (`matching/fields.ts` says why each). */
export const DEFAULT_POLICY: SurvivorshipPolicy = {
  version: 1,
  rules: Object.fromEntries(CANONICAL_FIELD_DEFINITIONS.map((f) => [f.name, { rule: f.survivorship }])),
};

/** One linked source record as survivorship sees it. */
export interface Contributor {
  recordId: string;
  sourceId: string;
  /** Higher is more trusted. */
  trustRank: number;
  /** When the source last updated the record (ISO or Date). */
  updatedAt: Date;
  values: Partial<Record<GoldenField, string | null>>;
}

export interface Competitor {
  value: string;
  recordId: string;
  sourceId: string;
}

/** The winning value of one golden field and why it won. */
export interface FieldDecision {
  field: GoldenField;
  value: string | null;
  recordId: string | null;
  sourceId: string | null;
  rule: SurvivorshipRule;
  competitors: Competitor[];
}

type Candidate = { value: string; key: string; c: Contributor };

/** Values compare case- and space-insensitively, so "SMITH" and "Smith " count as one. */
function comparable(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

function byRecordId(a: Candidate, b: Candidate): number {
  return a.c.recordId < b.c.recordId ? -1 : a.c.recordId > b.c.recordId ? 1 : 0;
}

/**
 * Ties are broken by trust, then recency, then the later record id (ids count up as records are stored, so this is
 * recency finer than the update time: records stored together, in one batch or load chunk, share that), so the
 * result never depends on input order, and records stored together resolve as if stored one after another.
 */
function byTrustThenRecency(a: Candidate, b: Candidate): number {
  return b.c.trustRank - a.c.trustRank || b.c.updatedAt.getTime() - a.c.updatedAt.getTime() || byRecordId(b, a);
}

/** Length in characters (code points), as PostgreSQL's char_length counts, so the set-based recompute agrees. */
function characters(value: string): number {
  return Array.from(value).length;
}

function byRecency(a: Candidate, b: Candidate): number {
  return b.c.updatedAt.getTime() - a.c.updatedAt.getTime() || byTrustThenRecency(a, b);
}

function pick(rule: SelectionRule, candidates: Candidate[]): Candidate {
  switch (rule) {
    case 'SOURCE_PRIORITY':
      return [...candidates].sort(byTrustThenRecency)[0]!;
    case 'MOST_RECENT':
      return [...candidates].sort(byRecency)[0]!;
    case 'MOST_COMPLETE':
      return [...candidates].sort((a, b) => characters(b.value) - characters(a.value) || byTrustThenRecency(a, b))[0]!;
    case 'MOST_FREQUENT': {
      const counts = new Map<string, number>();
      for (const x of candidates) counts.set(x.key, (counts.get(x.key) ?? 0) + 1);
      return [...candidates].sort((a, b) => counts.get(b.key)! - counts.get(a.key)! || byTrustThenRecency(a, b))[0]!;
    }
  }
}

/** Decides one golden field from the contributors' values under its rule. */
export function decideField(field: GoldenField, rule: FieldRule, contributors: Contributor[]): FieldDecision {
  const candidates: Candidate[] = contributors.flatMap((c) => {
    const v = c.values[field];
    return v && v.trim() ? [{ value: v.trim(), key: comparable(v), c }] : [];
  });
  const beaten = (winner: Candidate | null): Competitor[] =>
    candidates
      .filter((x) => x !== winner)
      .sort((a, b) => byRecordId(a, b))
      .map((x) => ({ value: x.value, recordId: x.c.recordId, sourceId: x.c.sourceId }));
  if (rule.rule === 'STEWARD_OVERRIDE' && rule.value !== undefined && rule.value !== null) {
    return { field, value: rule.value, recordId: null, sourceId: null, rule: 'STEWARD_OVERRIDE', competitors: beaten(null) };
  }
  const effective = selectionRule(rule);
  if (candidates.length === 0) return { field, value: null, recordId: null, sourceId: null, rule: effective, competitors: [] };
  const winner = pick(effective, candidates);
  return {
    field,
    value: winner.value,
    recordId: winner.c.recordId,
    sourceId: winner.c.sourceId,
    rule: effective,
    competitors: beaten(winner),
  };
}

type SelectionRule = Exclude<SurvivorshipRule, 'STEWARD_OVERRIDE'>;

/** The rule that picks among source values: a steward override's fallback, for when it holds no value. */
function selectionRule(rule: FieldRule): SelectionRule {
  return rule.rule === 'STEWARD_OVERRIDE' ? (rule.fallback ?? 'SOURCE_PRIORITY') : rule.rule;
}

/** The rule a field is actually decided by: a steward override without a value falls back to its fallback rule. */
export function effectiveRule(rule: FieldRule): SurvivorshipRule {
  return rule.rule === 'STEWARD_OVERRIDE' && rule.value !== undefined && rule.value !== null ? 'STEWARD_OVERRIDE' : selectionRule(rule);
}

/** The policy's rule for every golden field; fields it leaves out follow the default policy. */
export function completeRules(rules: PolicyRules): Record<GoldenField, FieldRule> {
  return Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, rules[f] ?? DEFAULT_POLICY.rules[f]!])) as Record<GoldenField, FieldRule>;
}

/** What an open provenance row records about a decision. */
export interface RecordedDecision {
  value: string | null;
  recordId: string | null;
  rule: string;
  competitors: unknown;
}

/**
 * Whether a stored decision still stands. A field with no value either way stays as it is. The policy version
 * is deliberately not compared: a new policy that decides a field the same way leaves its history untouched,
 * and the row keeps the version that first decided it.
 */
export function decisionStands(open: RecordedDecision, next: FieldDecision): boolean {
  if (open.value === null && next.value === null) return true;
  if (open.value !== next.value || open.recordId !== next.recordId || open.rule !== next.rule) return false;
  const stored = Array.isArray(open.competitors) ? (open.competitors as Competitor[]) : [];
  return (
    stored.length === next.competitors.length &&
    stored.every((c, i) => {
      const n = next.competitors[i]!;
      return c.value === n.value && c.recordId === n.recordId && c.sourceId === n.sourceId;
    })
  );
}

/** Builds the whole golden record and the provenance of every field. */
export function buildGolden(contributors: Contributor[], policy: SurvivorshipPolicy): { golden: GoldenRecord; decisions: FieldDecision[] } {
  const rules = completeRules(policy.rules);
  const decisions = GOLDEN_FIELDS.map((field) => decideField(field, rules[field], contributors));
  const golden = Object.fromEntries(decisions.map((d) => [d.field, d.value])) as GoldenRecord;
  return { golden, decisions };
}

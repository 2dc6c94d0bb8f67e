import { z } from 'zod';
import { useWorkMem, type Executor } from '../platform/db/client.ts';
import { ValidationError } from '../platform/errors.ts';
import { schemaRuleCode } from '../platform/error-codes.ts';
import { insertActivePolicy, lockPolicyChanges, maxPolicyVersion, policyRows } from './policy-store.ts';
import { activeIdentityIds, changedDecisions } from './recompute-store.ts';
import { recomputeGolden, type ProgressLogger, type RecomputeOptions, type RecomputeResult } from './recompute.ts';
import { RECOMPUTE_JOBS, startIngestRun, type IngestRunRow } from './run-store.ts';
import { activePolicyRow, loadActivePolicy } from './store.ts';
import {
  completeRules,
  DEFAULT_POLICY,
  GOLDEN_FIELDS,
  SURVIVORSHIP_RULES,
  type FieldRule,
  type GoldenField,
  type PolicyRules,
  type SurvivorshipPolicy,
} from './survivorship.ts';

/** A stored policy version; the built-in default is version 1 and has no row until a newer one replaces it. */
export interface PolicyVersion extends SurvivorshipPolicy {
  active: boolean;
  createdBy: string | null;
  createdAt: Date | null;
}

const SELECTION_RULES = SURVIVORSHIP_RULES.filter((r) => r !== 'STEWARD_OVERRIDE') as [string, ...string[]];

/** One field's rule as an API caller sends it. */
const FieldRuleInput = z
  .object({
    field: z.enum(GOLDEN_FIELDS),
    rule: z.enum(SURVIVORSHIP_RULES),
    value: z.string().trim().min(1, 'must not be blank').max(500).nullish(),
    fallback: z.enum(SELECTION_RULES).nullish(),
  })
  .refine((r) => r.rule === 'STEWARD_OVERRIDE' || (r.value == null && r.fallback == null), {
    message: 'value and fallback apply only to STEWARD_OVERRIDE',
    path: ['rule'],
  });
export type FieldRuleInput = z.input<typeof FieldRuleInput>;

/** Validates rule changes; problems name the position and field of the rule, never a value. */
export function parseRuleChanges(input: FieldRuleInput[]): PolicyRules {
  if (input.length === 0) throw ValidationError.of('rules', 'REQUIRED', 'give at least one field rule');
  const problems = input.flatMap((item, i) => {
    const parsed = FieldRuleInput.safeParse(item);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({
          field: ['rules', i, ...issue.path].join('.'),
          code: schemaRuleCode(issue.code),
          message: issue.message,
        }));
  });
  const seen = new Set<string>();
  input.forEach((item, i) => {
    if (seen.has(item.field)) problems.push({ field: `rules.${i}.field`, code: 'DUPLICATE_FIELD', message: 'each field may appear once' });
    seen.add(item.field);
  });
  if (problems.length > 0) throw new ValidationError(problems);
  const rules: PolicyRules = {};
  for (const item of input) {
    const rule: FieldRule = { rule: item.rule };
    if (item.value != null) rule.value = item.value.trim();
    if (item.fallback != null) rule.fallback = item.fallback as FieldRule['fallback'];
    rules[item.field as GoldenField] = rule;
  }
  return rules;
}

/** The active policy's rules with the given fields' rules replaced: what a change would make active. */
export async function proposedRules(db: Executor, changes: PolicyRules): Promise<PolicyRules> {
  const active = await loadActivePolicy(db);
  return { ...completeRules(active.rules), ...changes };
}

function sameRules(a: PolicyRules, b: PolicyRules): boolean {
  const x = completeRules(a);
  const y = completeRules(b);
  return GOLDEN_FIELDS.every(
    (f) => x[f].rule === y[f].rule && (x[f].value ?? null) === (y[f].value ?? null) && (x[f].fallback ?? null) === (y[f].fallback ?? null),
  );
}

/** The active policy with its metadata. */
export async function activePolicy(db: Executor): Promise<PolicyVersion> {
  const row = await activePolicyRow(db);
  if (!row) return { ...DEFAULT_POLICY, rules: completeRules(DEFAULT_POLICY.rules), active: true, createdBy: null, createdAt: null };
  return {
    version: row.version,
    rules: completeRules(row.rules as PolicyRules),
    active: true,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
  };
}

/** Every stored policy version, newest first (the built-in version 1 last, when it was ever replaced). */
export async function listPolicies(db: Executor): Promise<PolicyVersion[]> {
  const rows = await policyRows(db);
  const versions: PolicyVersion[] = rows.map((r) => ({
    version: r.version,
    rules: completeRules(r.rules as PolicyRules),
    active: r.active,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
  }));
  if (!versions.some((v) => v.version === DEFAULT_POLICY.version)) {
    versions.push({
      ...DEFAULT_POLICY,
      rules: completeRules(DEFAULT_POLICY.rules),
      active: versions.length === 0 || !versions.some((v) => v.active),
      createdBy: null,
      createdAt: null,
    });
  }
  return versions;
}

/**
 * Stores a new policy version made of the active rules with `changes` applied, and activates it. Serialised
 * by an advisory lock so two changes cannot take the same version. Golden records are not touched here.
 */
export async function storePolicyVersion(db: Executor, changes: PolicyRules, actor: string): Promise<PolicyVersion> {
  return db.transaction(async (tx) => {
    await lockPolicyChanges(tx);
    const active = await loadActivePolicy(tx);
    const rules = { ...completeRules(active.rules), ...changes };
    if (sameRules(rules, active.rules)) throw ValidationError.of('rules', 'UNCHANGED', 'the active policy already has these rules');
    const version = Math.max(await maxPolicyVersion(tx), DEFAULT_POLICY.version) + 1;
    const row = await insertActivePolicy(tx, { version, rules, createdBy: actor });
    return { version, rules, active: true, createdBy: row.createdBy, createdAt: row.createdAt };
  });
}

export interface PolicyChange {
  policy: PolicyVersion;
  /** The recompute run (job `survivorship.policy-change`); RUNNING when the caller did not wait. */
  run: IngestRunRow;
  /** The finished recompute, when the caller waited for it. */
  result: RecomputeResult | null;
}

/**
 * Activates a new policy version and recomputes every active identity's golden record under it, set-based.
 * With `wait: false` it returns as soon as the run has started; the run's counts show progress.
 */
export async function changeSurvivorshipPolicy(
  db: Executor,
  changes: PolicyRules,
  actor: string,
  options: { wait?: boolean; logger?: ProgressLogger; batchSize?: number; onProgress?: RecomputeOptions['onProgress'] } = {},
): Promise<PolicyChange> {
  const policy = await storePolicyVersion(db, changes, actor);
  const run = await startIngestRun(db, { sourceId: null, job: RECOMPUTE_JOBS.policy, facets: { policyVersion: policy.version, actor } });
  const work = recomputeGolden(
    db,
    { kind: 'all' },
    {
      runId: run.id,
      policyVersion: policy.version,
      logger: options.logger,
      batchSize: options.batchSize,
      onProgress: options.onProgress,
    },
  );
  if (options.wait === false) {
    work.catch(() => undefined); // recorded on the run and in the log
    return { policy, run, result: null };
  }
  const result = await work;
  return { policy, run, result };
}

export interface PreviewChange {
  identityId: string;
  field: GoldenField;
  currentValue: string | null;
  proposedValue: string | null;
  currentRule: string | null;
  proposedRule: string;
}

export interface PolicyPreview {
  identitiesScanned: number;
  identitiesAffected: number;
  fieldsReprovenanced: number;
  valuesChanged: number;
  byField: Array<{ field: GoldenField; reprovenanced: number; valuesChanged: number }>;
  /** The first changes, by identity id, up to the requested limit. */
  changes: PreviewChange[];
}

/**
 * Which identities and fields a policy change would change, decided set-based exactly as the recompute would,
 * without writing anything.
 */
export async function previewPolicy(
  db: Executor,
  changes: PolicyRules,
  options: { limit?: number; batchSize?: number } = {},
): Promise<PolicyPreview> {
  const rules = await proposedRules(db, changes);
  const limit = Math.max(0, options.limit ?? 100);
  const batchSize = options.batchSize ?? 2000;
  const byField = new Map<GoldenField, { reprovenanced: number; valuesChanged: number }>(
    GOLDEN_FIELDS.map((f) => [f, { reprovenanced: 0, valuesChanged: 0 }]),
  );
  const affected = new Set<string>();
  const sample: PreviewChange[] = [];
  let scanned = 0;
  let cursor: string | null = null;
  for (;;) {
    const ids = await activeIdentityIds(db, cursor, batchSize);
    if (ids.length === 0) break;
    scanned += ids.length;
    cursor = ids.at(-1)!;
    const rows = await db.transaction(async (tx) => {
      await useWorkMem(tx, '64MB');
      return changedDecisions(tx, ids, rules);
    });
    for (const r of rows) {
      affected.add(r.identity_id);
      const counts = byField.get(r.field)!;
      counts.reprovenanced += 1;
      if (r.value_changed) counts.valuesChanged += 1;
      if (sample.length < limit) {
        sample.push({
          identityId: r.identity_id,
          field: r.field,
          currentValue: r.open_value,
          proposedValue: r.value,
          currentRule: r.open_rule,
          proposedRule: r.rule,
        });
      }
    }
  }
  const fields = [...byField.entries()].filter(([, c]) => c.reprovenanced > 0).map(([field, c]) => ({ field, ...c }));
  return {
    identitiesScanned: scanned,
    identitiesAffected: affected.size,
    fieldsReprovenanced: fields.reduce((n, f) => n + f.reprovenanced, 0),
    valuesChanged: fields.reduce((n, f) => n + f.valuesChanged, 0),
    byField: fields,
    changes: sample,
  };
}

import { z } from 'zod';
import { KEY_PARTS } from './key-parts.ts';
import { COMPARISONS, COMPARISON_INDEX } from './comparisons.ts';
import { CONFLICT_RULES } from './conflicts.ts';
import { CalibrationSchema } from './calibration.ts';

export const MODEL_FORMAT = 'mpi-match-model/1';

/** Largest term-frequency table kept per comparison: the common values are the ones that need down-weighting. */
export const MAX_TF_ENTRIES = 5000;

const probability = z.number().gt(0).lte(1);

const LevelSchema = z.object({ id: z.string(), m: probability, u: probability });

const TfTableSchema = z.object({
  /** Share of records holding each of the most common values. */
  frequencies: z
    .record(z.string(), probability)
    .refine((t) => Object.keys(t).length <= MAX_TF_ENTRIES, `at most ${MAX_TF_ENTRIES} entries`),
  /** Frequency assumed for a value outside the table (no higher than the rarest value listed). */
  minFrequency: probability,
});

/**
 * u of this comparison's levels among non-matches that agree on another comparison (e.g. family names among
 * people at the same address): the two are not independent there, and this replaces u in that case.
 */
const ConditionalUSchema = z.object({
  when: z.object({ comparison: z.string(), levels: z.array(z.string()).min(1) }),
  u: z.array(probability),
  /** Non-match pairs the estimate rests on (before smoothing towards the unconditional u). */
  support: z.number().nonnegative(),
});

/** Birth-date rarity (`date-frequency.ts`): shares of birth years and of days of the year. */
const DateFrequencySchema = z.object({
  years: z.record(z.string().regex(/^\d{4}$/, 'a four-digit year'), probability),
  monthDays: z.record(z.string().regex(/^\d{4}$/, 'MMDD'), probability),
  otherYear: probability,
  otherMonthDay: probability,
});

const ComparisonSchema = z.object({
  name: z.string(),
  levels: z.array(LevelSchema).min(2),
  tf: TfTableSchema.optional(),
  conditionalU: ConditionalUSchema.optional(),
  dateFrequency: DateFrequencySchema.optional(),
});

const BlockingRuleSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and underscores'),
  parts: z.array(z.enum(KEY_PARTS)).min(1),
});

const ThresholdsSchema = z
  .object({
    /** Match probability at or above which a pair is linked automatically. */
    matchThreshold: z.number().gt(0).lt(1),
    /** Lower bound of the band sent to a data steward for review. */
    reviewThreshold: z.number().gt(0).lt(1),
  })
  .refine((t) => t.reviewThreshold <= t.matchThreshold, 'reviewThreshold must not exceed matchThreshold');

const TrainingSummarySchema = z.object({
  records: z.number().int().nonnegative(),
  candidatePairs: z.number().int().nonnegative(),
  randomPairs: z.number().int().nonnegative(),
  emSessions: z.array(
    z.object({ rule: z.string(), pairs: z.number(), iterations: z.number(), matchShare: z.number(), converged: z.boolean() }),
  ),
  expectedMatches: z.number().nonnegative(),
  seed: z.number(),
  labelled: z.boolean(),
});

function checkConditional(c: z.infer<typeof ComparisonSchema>, i: number, ctx: z.RefinementCtx): void {
  const cond = c.conditionalU;
  if (!cond) return;
  const path = ['comparisons', i, 'conditionalU'];
  const other = COMPARISONS[COMPARISON_INDEX.get(cond.when.comparison) ?? -1];
  if (!other || cond.when.comparison === c.name) {
    ctx.addIssue({ code: 'custom', path: [...path, 'when', 'comparison'], message: `unknown comparison "${cond.when.comparison}"` });
    return;
  }
  for (const level of cond.when.levels) {
    if (!other.levels.includes(level))
      ctx.addIssue({ code: 'custom', path: [...path, 'when', 'levels'], message: `unknown level "${level}"` });
  }
  if (cond.u.length !== c.levels.length) ctx.addIssue({ code: 'custom', path: [...path, 'u'], message: 'one u per level' });
}

function checkComparisons(comparisons: z.infer<typeof ComparisonSchema>[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  comparisons.forEach((c, i) => {
    const index = COMPARISON_INDEX.get(c.name);
    if (index === undefined) {
      ctx.addIssue({ code: 'custom', path: ['comparisons', i, 'name'], message: `unknown comparison "${c.name}"` });
      return;
    }
    if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['comparisons', i, 'name'], message: 'duplicate comparison' });
    seen.add(c.name);
    const expected = COMPARISONS[index]!.levels;
    const actual = c.levels.map((l) => l.id);
    if (expected.join() !== actual.join()) {
      ctx.addIssue({
        code: 'custom',
        path: ['comparisons', i, 'levels'],
        message: `levels of "${c.name}" must be, in order: ${expected.join(', ')}`,
      });
    }
    checkConditional(c, i, ctx);
    if (c.tf && !COMPARISONS[index]!.tfField) {
      ctx.addIssue({ code: 'custom', path: ['comparisons', i, 'tf'], message: `"${c.name}" takes no term frequencies` });
    }
    if (c.dateFrequency && c.name !== 'birthDate') {
      ctx.addIssue({ code: 'custom', path: ['comparisons', i, 'dateFrequency'], message: `"${c.name}" takes no date frequencies` });
    }
  });
}

export const MatchModelSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    version: z.string().min(1),
    createdAt: z.string().min(1),
    normaliserVersion: z.string().min(1),
    /** Probability that two records drawn at random are the same person (lambda). */
    prior: z.number().gt(0).lt(1),
    thresholds: ThresholdsSchema,
    comparisons: z.array(ComparisonSchema).min(1),
    blockingRules: z.array(BlockingRuleSchema).min(1),
    conflictRules: z.array(z.enum(CONFLICT_RULES)),
    /** Weight to stated probability, fitted without labels on the linkage it was trained for (`calibration.ts`). */
    calibration: CalibrationSchema.optional(),
    training: TrainingSummarySchema.optional(),
  })
  .superRefine((model, ctx) => checkComparisons(model.comparisons, ctx));

/** A validated, JSON-serialisable Fellegi-Sunter match model. */
export type MatchModel = z.infer<typeof MatchModelSchema>;
export type ModelComparison = MatchModel['comparisons'][number];
export type BlockingRule = MatchModel['blockingRules'][number];
export type TrainingSummary = NonNullable<MatchModel['training']>;

/** Thrown when a model document fails validation; `issues` lists each problem with its JSON path. */
export class ModelValidationError extends Error {
  readonly code = 'INVALID_MODEL';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid match model: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'ModelValidationError';
  }
}

/** Validates a parsed JSON document as a match model, with one clear message per problem. */
export function parseModel(json: unknown): MatchModel {
  const result = MatchModelSchema.safeParse(json);
  if (result.success) return result.data;
  throw new ModelValidationError(result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
}

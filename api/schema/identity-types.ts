import type { IdentityEventRow, IdentityRow, LinkRow, ReviewItemRow, SourceRecordRow, SourceRow } from '../../identity/index.ts';
import type { Explanation, ScoredCandidate } from '../../identity/index.ts';
import { IDENTITY_STATUSES, LINK_SOURCES, MATCH_RESULTS } from '../../identity/index.ts';
import { GOLDEN_FIELDS } from '../../lineage/index.ts';
import { GRADES } from '../../matching/index.ts';
import { builder } from '../builder.ts';
import { phi } from '../masking.ts';

/** Object types shared by the identity, review and match operations. */

export const GradeEnum = builder.enumType('MatchGrade', { values: GRADES });
export const IdentityStatusEnum = builder.enumType('IdentityStatus', { values: IDENTITY_STATUSES });
export const MatchResultEnum = builder.enumType('MatchResult', { values: MATCH_RESULTS });
export const LinkSourceEnum = builder.enumType('LinkSource', { values: LINK_SOURCES });

const Contribution = builder.objectRef<Explanation['contributions'][number]>('MatchContribution').implement({
  description: "One comparison's part of the match weight: which level the pair fell in and the log2 weight it added.",
  fields: (t) => ({
    comparison: t.exposeString('comparison'),
    level: t.exposeString('level'),
    weight: t.exposeFloat('weight'),
    tfAdjustment: t.float({
      nullable: true,
      description: 'Term-frequency adjustment: negative for common values.',
      resolve: (c) => c.tfAdjustment ?? null,
    }),
    condition: t.string({
      nullable: true,
      description:
        'Set when the weight was conditional on another comparison\'s level, as "comparison=level" (e.g. a family name agreeing at a shared address weighs less: "location=address").',
      resolve: (c) => c.condition ?? null,
    }),
  }),
});

export const MatchExplanation = builder.objectRef<Explanation>('MatchExplanation').implement({
  description: "The waterfall behind a score: the prior weight plus each comparison's contribution equals the match weight.",
  fields: (t) => ({
    prior: t.exposeFloat('prior', { description: 'log2 prior odds of a match' }),
    contributions: t.field({ type: [Contribution], resolve: (e) => e.contributions }),
    conflicts: t.exposeStringList('conflicts', { description: 'Hard reasons the pair must not be linked automatically.' }),
    calibratedProbability: t.float({
      nullable: true,
      description:
        "How often a pair at this weight (with or without a conflict) is one person, by the model's calibration; null when the model has none. Links and the review band still follow the probability.",
      resolve: (e) => e.calibratedProbability ?? null,
    }),
  }),
});

export const GoldenRecord = builder.objectRef<Record<string, string | null>>('GoldenRecord').implement({
  description: 'The golden values of an identity, built by survivorship from its source records.',
  fields: (t) => Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, t.string({ nullable: true, ...phi(f), resolve: (g) => g[f] })])),
});

export const Link = builder.objectRef<LinkRow>('Link').implement({
  fields: (t) => ({
    matchResult: t.field({ type: MatchResultEnum, resolve: (l) => l.matchResult }),
    linkSource: t.field({ type: LinkSourceEnum, resolve: (l) => l.linkSource }),
    probability: t.exposeFloat('probability', { nullable: true }),
    weight: t.exposeFloat('weight', { nullable: true }),
    modelVersion: t.exposeString('modelVersion', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export interface SourceRecordShape {
  record: SourceRecordRow;
  source: SourceRow;
  link: LinkRow | null;
}
export const SourceRecord = builder.objectRef<SourceRecordShape>('SourceRecord');
export const Identity = builder.objectRef<IdentityRow>('Identity');
export const IdentityEvent = builder.objectRef<IdentityEventRow>('IdentityEvent');
/** A review item, with its source record when the resolver read the whole page's records at once. */
export type ReviewItemShape = ReviewItemRow & { sourceRecord?: SourceRecordShape | null };
export const ReviewItem = builder.objectRef<ReviewItemShape>('ReviewItem');

/** A candidate, with its identity row when the resolver fetched all candidates' identities at once. */
export type CandidateShape = ScoredCandidate & { identityRow?: IdentityRow | null };

export const MatchCandidate = builder.objectRef<CandidateShape>('MatchCandidate').implement({
  fields: (t) => ({
    identity: t.field({
      type: Identity,
      nullable: true,
      resolve: (c, _args, ctx) => (c.identityRow !== undefined ? c.identityRow : ctx.loaders.identity.load(c.identityId)),
    }),
    probability: t.exposeFloat('probability'),
    weight: t.exposeFloat('weight', { description: 'Match weight (log2 Bayes factor plus prior).' }),
    grade: t.field({ type: GradeEnum, resolve: (c) => c.grade }),
    explanation: t.field({ type: MatchExplanation, resolve: (c) => c.explanation }),
    blockers: t.exposeStringList('blockers', { description: 'Why this candidate is not linked automatically, if it is not.' }),
  }),
});

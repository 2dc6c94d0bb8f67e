/**
 * The matching engine's public surface: normalisation, blocking keys, the match model, pairwise scoring with
 * explanations, unsupervised training, and batch linking with guarded clustering. Pure: values in, values out.
 */
export { NORMALISER_VERSION, CANONICAL_FIELDS, normaliseRecord } from './normalise.ts';
export { cleanBirthDate, dateRequired, isoDateProblem, ISO_DATE_REQUIRED, toIsoDate } from './normalise-date.ts';
export { cleanSsn, SPECIMEN_SSNS } from './normalise-contact.ts';
export { TEXT_PROBLEM_MESSAGES, textProblem, type TextPolicyOptions, type TextProblem } from './text-policy.ts';
export {
  fieldProblems,
  fromCsvLayouts,
  idProblem,
  isRefusingIssue,
  issueProblem,
  MAX_ID_LENGTH,
  recordProblems,
  type ValueProblem,
} from './validate-record.ts';
export {
  CANONICAL_FIELD_DEFINITIONS,
  MAX_FIELD_LENGTH,
  PHI_CLASSES,
  canonicalFieldDefinition,
  type CanonicalFieldDefinition,
  type CanonicalValues,
  type DefaultSurvivorshipRule,
  type PhiClass,
  type ValidityRule,
} from './fields.ts';
export type { CanonicalField, FieldIssue, NormaliseOptions, NormalisedRecord, RecordInput } from './normalise.ts';
export { MAX_BLOCK_SIZE, blockingKeys, ruleKey } from './blocking.ts';
export type { BlockingStats, LinkMode } from './blocking.ts';
export { KEY_PARTS } from './key-parts.ts';
export type { KeyPart } from './key-parts.ts';
export { MODEL_FORMAT, MatchModelSchema, ModelValidationError, parseModel } from './model.ts';
export type { BlockingRule, MatchModel, ModelComparison, TrainingSummary } from './model.ts';
export { DEFAULT_BLOCKING_RULES, DEFAULT_MATCH_THRESHOLD, DEFAULT_PRIOR, DEFAULT_REVIEW_THRESHOLD, defaultModel } from './default-model.ts';
export { COMPARISONS } from './comparisons.ts';
export { CONFLICT_RULES } from './conflicts.ts';
export type { ConflictRule } from './conflicts.ts';
export {
  compileModel,
  GRADES,
  gradeBand,
  gradeOf,
  preparedOf,
  probabilityToWeight,
  scorePair,
  scorePairRange,
  scorePairVerdict,
  verdictOf,
  weightToProbability,
} from './scoring.ts';
export type { Contribution, Explanation, Grade, PairScore, PairVerdict } from './scoring.ts';
export { calibratedProbability } from './calibration.ts';
export type { Calibration } from './calibration.ts';
export { calibrateModel, fitCalibration } from './calibration-fit.ts';
export { sameAddressHistogram } from './household.ts';
export type { PatternHistogram } from './em.ts';
export {
  DEFAULT_TRAINING_SEED,
  addLevelCounts,
  countClaimedChunks,
  countLevels,
  defaultRandomPairs,
  randomPairs,
  trainModel,
} from './training.ts';
export type { LabelledPair, RandomLevels, TrainOptions } from './training.ts';
export { assembleBatch, buildBatch, candidatePairs, compareRange } from './batch.ts';
export { prepareRecord, StringPool } from './prepared.ts';
export { PreparedBatchReader, PreparedBatchWriter } from './prepared-codec.ts';
export type { PreparedBatch } from './prepared-codec.ts';
export { decodeRecord, decodeRecords, encodeRecord, encodeRecords, recordValues, recordsOfValues } from './record-codec.ts';
export type { PreparedRecord } from './prepared.ts';
export type { Batch, BatchOptions, CandidatePairs, ProgressFn } from './batch.ts';
export { linkRecords, mergeGuardOptions, recordsMayMerge } from './link.ts';
export type { LinkOptions, LinkResult } from './link.ts';
export { clusterPairs, mergeAllowed } from './clustering.ts';
export { pairwiseScore, reliability } from './evaluate.ts';
export { EXPECTATION_TOLERANCE, MIN_LINK_RETENTION, compareModels } from './model-comparison.ts';
export type { ModelEvaluation, ModelExpectation } from './model-comparison.ts';
export type { PairwiseScore, ReliabilityBin } from './evaluate.ts';
export type { Clustering, Links, MergeDecision, MergeGuardOptions, PairAssessor } from './clustering.ts';

export { IdentityService, MAX_BATCH_SIZE, type IngestResultData } from './service.ts';
export { StewardService, REVIEW_DECISIONS, type ReviewDecision } from './steward.ts';
export { MODEL_EVENT_TYPES, ModelRegistry, type MatchModelRow, type ModelEventRow, type ModelEventType } from './models.ts';
export {
  LIFECYCLE_ACTOR,
  ModelLifecycle,
  QUIET_RETRAIN_MIN_GROWTH,
  startModelLifecycle,
  type LifecycleRun,
  type LifecycleSettings,
  type TrainingTrigger,
} from './model-lifecycle.ts';
export { rematchIdentities, type RematchSummary } from './rematch.ts';
export { IN_PROCESS_COMPUTE, type ModelCompute, type ProposedMerge, type TrainedCandidate, type TrainingJob } from './model-compute.ts';
export { ModelThread, ModelWorkerError } from './model-thread.ts';
export { isUuid } from '../platform/ids.ts';
export { IdentityReads, type ReviewQueueItem, type ReviewQueueQuery } from './reads.ts';
export {
  IDENTITY_EVENT_TYPES,
  IDENTITY_STATUSES,
  LINK_SOURCES,
  MATCH_RESULTS,
  REVIEW_KINDS,
  REVIEW_QUEUE_ORDERS,
  REVIEW_STATUSES,
  markAsDrain,
  otherIngestActivity,
  reviewItemKey,
  type ReviewQueueOrder,
} from './store.ts';
export type {
  IdentityEventRow,
  IdentityPageRow,
  IdentityRow,
  LinkRow,
  RecordWithSource,
  ReviewItemRow,
  SourceRecordRow,
  SourceRow,
} from './store.ts';
export type { Actor, Explanation, Grade, IngestOutcome, ScoredCandidate, SourceRecordInput } from './types.ts';
export { INGEST_OUTCOMES } from './types.ts';
export {
  bulkLoad,
  DEFAULT_CHUNK_SIZE,
  type BulkLoadOptions,
  type BulkLoadSummary,
  type LoadProblem,
  type LoadRow,
  type PairScorer,
} from './bulk-load.ts';

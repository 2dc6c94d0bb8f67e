export { LineageService } from './service.ts';
export * from './survivorship.ts';
export {
  contributionsOf,
  fieldHistory,
  loadActivePolicy,
  loadContributors,
  PROVENANCE_CLOCK,
  provenanceAt,
  provenanceById,
  rebuildGolden,
  sourcesByIds,
  type FieldProvenanceRow,
  type GoldenChange,
} from './store.ts';
export { identityAsOf, type IdentitySnapshot } from './as-of.ts';
export { membersAsOf, resolveAsOf, type HistoryEvent } from './time-travel.ts';
export {
  GOLDEN_DATASET,
  OPENLINEAGE_NAMESPACE,
  OPENLINEAGE_PRODUCER,
  openLineageEvents,
  type ColumnMapping,
  type OpenLineageContext,
  type RunEvent,
} from './openlineage.ts';
export { FHIR_PATIENT_PATHS, fhirProvenance, type FhirProvenanceContext } from './fhir-provenance.ts';
export { planGoldenRows, rebuildGoldenMany, type GoldenRows } from './golden-bulk.ts';
export {
  DEFAULT_RECOMPUTE_BATCH,
  recomputeBatch,
  recomputeGolden,
  recomputeGoldenForSource,
  type ProgressLogger,
  type RecomputeOptions,
  type RecomputeProgress,
  type RecomputeResult,
  type RecomputeScope,
} from './recompute.ts';
export {
  activePolicy,
  changeSurvivorshipPolicy,
  listPolicies,
  parseRuleChanges,
  previewPolicy,
  proposedRules,
  storePolicyVersion,
  type FieldRuleInput,
  type PolicyChange,
  type PolicyPreview,
  type PolicyVersion,
  type PreviewChange,
} from './policies.ts';
export {
  finishIngestRun,
  getIngestRun,
  INGEST_RUN_STATUSES,
  countIngestRuns,
  ingestRunsPage,
  MAX_RUN_ERRORS,
  RECOMPUTE_JOBS,
  startIngestRun,
  updateIngestRunCounts,
  type FinalRunStatus,
  type IngestRunError,
  type IngestRunFilter,
  type IngestRunPageRow,
  type IngestRunRow,
  type IngestRunStatus,
} from './run-store.ts';

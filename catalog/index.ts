/** The catalog and data-quality domain: sources, datasets, PHI classification, quality metrics over time. */
export { CatalogService, type CatalogSettings } from './service.ts';
export {
  ensureSource,
  getSourceByCode,
  registerSource,
  updateSource,
  classifyField,
  searchFields,
  listSources,
  listDatasets,
  listGlossary,
  defineGlossaryTerm,
  UnknownSourceError,
  InactiveSourceError,
  type UpdateOptions,
} from './source-service.ts';
export type { SourceRow, DatasetRow, FieldRow, FieldEntry, GlossaryTermRow } from './source-store.ts';
export {
  SOURCE_KINDS,
  OPERATIONAL_SOURCE_FIELDS,
  type RegisterSourceInput,
  type UpdateSourceInput,
  type ClassifyFieldInput,
  type FieldFilter,
} from './source-input.ts';
export {
  CANONICAL_FIELD_SPECS,
  DEFAULT_DATASET,
  DEFAULT_GLOSSARY,
  PHI_CLASSES,
  type CanonicalFieldSpec,
  type PhiClass,
} from './canonical-fields.ts';
export {
  measureQuality,
  qualitySeries,
  qualityScorecard,
  findQualityRun,
  startQualitySchedule,
  DEFAULT_INGEST_WINDOW_DAYS,
  type QualityOptions,
  type QualityRunResult,
  type QualitySchedule,
  type Scorecard,
  type SeriesArgs,
} from './quality-service.ts';
export type { QualityRunRow, QualityMeasurementRow } from './quality-store.ts';
export {
  QUALITY_METRICS,
  QUALITY_METRIC_NAMES,
  SCOPE_KINDS,
  INDEX_SCOPE,
  fieldScope,
  type QualityMetricName,
  type ScopeKind,
  type Measurement,
} from './quality-metrics.ts';
export { DEFAULT_THRESHOLDS, AHIMA_DUPLICATE_RATE_TARGET, type ThresholdRule } from './quality-thresholds.ts';

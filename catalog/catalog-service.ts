import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import {
  findQualityRun,
  measureQuality,
  qualityScorecard,
  qualitySeries,
  startQualitySchedule,
  type QualityOptions,
  type QualitySchedule,
  type SeriesArgs,
} from './quality-service.ts';
import { DEFAULT_THRESHOLDS, validateThresholdRules, type ThresholdRule } from './quality-thresholds.ts';
import type { ClassifyFieldInput, FieldFilter, RegisterSourceInput, UpdateSourceInput } from './source-input.ts';
import * as sources from './source-service.ts';

export interface CatalogSettings {
  /** Ingest from an unknown source registers it (MPI_AUTO_REGISTER_SOURCES). */
  autoRegister: boolean;
  /** Rules added after the defaults (MPI_QUALITY_THRESHOLDS); they win over equally specific defaults. */
  thresholds?: ReadonlyArray<Omit<ThresholdRule, 'metric'> & { metric: string }> | undefined;
  ingestWindowDays?: number | undefined;
}

/** The catalog and quality domain bound to one database and its settings, for the API and the CLI. */
export function createCatalogService(db: Database, settings: CatalogSettings) {
  const thresholds = [...DEFAULT_THRESHOLDS, ...validateThresholdRules(settings.thresholds ?? [])];
  const quality: Omit<QualityOptions, 'trigger'> = { thresholds, ingestWindowDays: settings.ingestWindowDays };
  return {
    thresholds,
    getSourceByCode: (code: string) => sources.getSourceByCode(db, code),
    ensureSource: (code: string) => sources.ensureSource(db, code, { autoRegister: settings.autoRegister }),
    listSources: (active?: boolean) => sources.listSources(db, active),
    registerSource: (input: RegisterSourceInput) => sources.registerSource(db, input),
    updateSource: (code: string, input: UpdateSourceInput, options: sources.UpdateOptions) =>
      sources.updateSource(db, code, input, options),
    listDatasets: (sourceCode?: string) => sources.listDatasets(db, sourceCode),
    fieldsOfDataset: (entry: Parameters<typeof sources.fieldsOfDataset>[1]) => sources.fieldsOfDataset(db, entry),
    searchFields: (filter?: FieldFilter) => sources.searchFields(db, filter),
    classifyField: (input: ClassifyFieldInput) => sources.classifyField(db, input),
    listGlossary: (search?: string) => sources.listGlossary(db, search),
    defineGlossaryTerm: (input: { term: string; definition: string }) => sources.defineGlossaryTerm(db, input),
    measureQuality: () => measureQuality(db, quality),
    findQualityRun: (id: string) => findQualityRun(db, id),
    qualitySeries: (args: SeriesArgs) => qualitySeries(db, args),
    qualityScorecard: (source: string) => qualityScorecard(db, source),
    /** Starts periodic measurement on the replica elected by lease; the server calls it with MPI_QUALITY_SCHEDULE_MINUTES. */
    startQualitySchedule: (minutes: number, logger: Logger, election: { holder: string; leaseMs: number }): QualitySchedule =>
      startQualitySchedule(db, minutes, logger, { ...quality, ...election }),
  };
}

export type CatalogService = ReturnType<typeof createCatalogService>;

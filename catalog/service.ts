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

/**
 * The catalog and quality domain bound to one database and its settings, for the API and the CLI: sources,
 * datasets, PHI classification, the glossary and data-quality measurement. Rules and SQL stay in the functions
 * it calls (`source-service.ts`, `quality-service.ts`).
 */
export class CatalogService {
  /** The quality threshold rules in force: the defaults, then the configured ones. */
  readonly thresholds: ThresholdRule[];
  private readonly quality: Omit<QualityOptions, 'trigger'>;

  constructor(
    private readonly db: Database,
    private readonly settings: CatalogSettings,
  ) {
    this.thresholds = [...DEFAULT_THRESHOLDS, ...validateThresholdRules(settings.thresholds ?? [])];
    this.quality = { thresholds: this.thresholds, ingestWindowDays: settings.ingestWindowDays };
  }

  getSourceByCode(code: string) {
    return sources.getSourceByCode(this.db, code);
  }

  /** The source with this code, registered on first use when auto-registration is on. */
  ensureSource(code: string) {
    return sources.ensureSource(this.db, code, { autoRegister: this.settings.autoRegister });
  }

  listSources(active?: boolean) {
    return sources.listSources(this.db, active);
  }

  registerSource(input: RegisterSourceInput) {
    return sources.registerSource(this.db, input);
  }

  updateSource(code: string, input: UpdateSourceInput, options: sources.UpdateOptions) {
    return sources.updateSource(this.db, code, input, options);
  }

  listDatasets(sourceCode?: string) {
    return sources.listDatasets(this.db, sourceCode);
  }

  fieldsOfDataset(entry: Parameters<typeof sources.fieldsOfDataset>[1]) {
    return sources.fieldsOfDataset(this.db, entry);
  }

  searchFields(filter?: FieldFilter) {
    return sources.searchFields(this.db, filter);
  }

  classifyField(input: ClassifyFieldInput) {
    return sources.classifyField(this.db, input);
  }

  listGlossary(search?: string) {
    return sources.listGlossary(this.db, search);
  }

  defineGlossaryTerm(input: { term: string; definition: string }) {
    return sources.defineGlossaryTerm(this.db, input);
  }

  measureQuality() {
    return measureQuality(this.db, this.quality);
  }

  findQualityRun(id: string) {
    return findQualityRun(this.db, id);
  }

  qualitySeries(args: SeriesArgs) {
    return qualitySeries(this.db, args);
  }

  qualityScorecard(source: string) {
    return qualityScorecard(this.db, source);
  }

  /** Starts periodic measurement on the replica elected by lease; the server calls it with MPI_QUALITY_SCHEDULE_MINUTES. */
  startQualitySchedule(minutes: number, logger: Logger, election: { holder: string; leaseMs: number }): QualitySchedule {
    return startQualitySchedule(this.db, minutes, logger, { ...this.quality, ...election });
  }
}

import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { IdentityReads, IdentityService, ModelRegistry, StewardService } from '../identity/index.ts';
import { createCatalogService, type CatalogService } from '../catalog/index.ts';
import { LineageService } from '../lineage/index.ts';

/** Long-lived services shared by every request; built once at start-up. */
export interface Services {
  config: AppConfig;
  database: DatabaseHandle;
  logger: Logger;
  models: ModelRegistry;
  /** Ingest, resolution and matching. */
  ingest: IdentityService;
  steward: StewardService;
  identity: IdentityReads;
  /** Sources, datasets, PHI classification and data-quality metrics. */
  catalog: CatalogService;
  /** Provenance, time travel, survivorship policy and its recomputes, ingest runs. */
  lineage: LineageService;
}

/** Wires the domain services over one database. */
export function createServices(config: AppConfig, database: DatabaseHandle, logger: Logger): Services {
  const models = new ModelRegistry(database.db);
  const ingest = new IdentityService(database.db, models, { autoRegisterSources: config.MPI_AUTO_REGISTER_SOURCES, reader: database.reader });
  const catalog = createCatalogService(database.db, { autoRegister: config.MPI_AUTO_REGISTER_SOURCES, thresholds: config.MPI_QUALITY_THRESHOLDS });
  const lineage = new LineageService(database.db, logger);
  return { config, database, logger, models, ingest, steward: new StewardService(ingest), identity: new IdentityReads(database.db), catalog, lineage };
}

import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { IdentityReads, IdentityService, ModelRegistry, StewardService } from '../identity/index.ts';
import { createCatalogService, type CatalogService } from '../catalog/index.ts';
import { LineageService } from '../lineage/index.ts';
import { createEventsService, type DemographicsProvider, type EventsService } from '../events/index.ts';
import type { Role } from './context.ts';
import { maskPhi, PHI_FIELDS, seesFullPhi } from './masking.ts';

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
  /** Change events: the outbox dispatcher and its channels (started by the server, not here). */
  events: EventsService;
}

/** Golden demographics for event consumers that ask for them, masked for their role exactly as GraphQL masks them. */
function demographicsFor(reads: IdentityReads): DemographicsProvider {
  return async (ids, role) => {
    const full = seesFullPhi({ id: 'events', name: 'events', kind: 'local', roles: [role as Role] });
    const rows = await Promise.all(ids.map((id) => reads.getIdentity(id)));
    const present = (golden: Record<string, string | null>) =>
      Object.fromEntries(PHI_FIELDS.flatMap((f) => (f in golden ? [[f, full ? (golden[f] ?? null) : maskPhi(f, golden[f])]] : [])));
    // Keyed by the id asked for: a merged id gets its survivor's demographics.
    return new Map(ids.flatMap((id, i) => (rows[i] ? [[id, present(rows[i].golden)] as [string, Record<string, string | null>]] : [])));
  };
}

/** Wires the domain services over one database. */
export function createServices(config: AppConfig, database: DatabaseHandle, logger: Logger): Services {
  const models = new ModelRegistry(database.db);
  const ingest = new IdentityService(database.db, models, {
    autoRegisterSources: config.MPI_AUTO_REGISTER_SOURCES,
    reader: database.reader,
  });
  const catalog = createCatalogService(database.db, {
    autoRegister: config.MPI_AUTO_REGISTER_SOURCES,
    thresholds: config.MPI_QUALITY_THRESHOLDS,
  });
  const lineage = new LineageService(database.db, logger);
  const identity = new IdentityReads(database.db, models);
  const events = createEventsService(database.db, config, logger, { demographics: demographicsFor(identity) });
  return { config, database, logger, models, ingest, steward: new StewardService(ingest), identity, catalog, lineage, events };
}

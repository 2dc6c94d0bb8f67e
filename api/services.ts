import type { AppConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';

/** Long-lived services shared by every request; built once at start-up. */
export interface Services {
  config: AppConfig;
  database: DatabaseHandle;
  logger: Logger;
}

/** Wires the domain services over one database. */
export function createServices(config: AppConfig, database: DatabaseHandle, logger: Logger): Services {
  return { config, database, logger };
}

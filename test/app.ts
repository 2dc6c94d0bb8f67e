import { loadConfig, type AppConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createServices, type Services } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { openTestDatabase } from './db.ts';

export interface TestApp {
  yoga: MpiYoga;
  services: Services;
  /** Runs a GraphQL operation in-process; `key` is sent as a Bearer token when given. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: { key?: string }): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface GqlResult<T> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/** The whole service over a fresh test database, driven through `yoga.fetch`. */
export async function createTestApp(options: { env?: Record<string, string>; localMode?: boolean } = {}): Promise<TestApp> {
  const config: AppConfig = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...options.env });
  const database = await openTestDatabase();
  const services = createServices(config, database, createLogger('silent'));
  const yoga = buildYoga(services, { localMode: options.localMode ?? true });
  return {
    yoga,
    services,
    async gql(query, variables, opts) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts?.key) headers.authorization = `Bearer ${opts.key}`;
      const response = await yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, data: body.data ?? null, errors: body.errors };
    },
    close: () => database.close(),
  };
}

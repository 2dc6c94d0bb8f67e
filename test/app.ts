import { loadConfig, type AppConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createAuthenticator } from '../api/auth.ts';
import { CONSOLE_DIST } from '../api/console.ts';
import { createHttpHandler, type HttpHandler } from '../api/http.ts';
import { createServices, type Services } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { openTestDatabase, TEST_AUDIT_KEY } from './db.ts';

export interface TestApp {
  yoga: MpiYoga;
  services: Services;
  /** The whole HTTP API (FHIR and GraphQL) as the server serves it. */
  http: HttpHandler;
  /** Sends a request to the HTTP API in-process, e.g. `fetch('/fhir/metadata')`; `key` becomes a Bearer token. */
  fetch(path: string, init?: RequestInit, options?: { key?: string }): Promise<Response>;
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
  const config: AppConfig = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', MPI_AUDIT_KEY: TEST_AUDIT_KEY, ...options.env });
  const database = await openTestDatabase();
  const services = createServices(config, database, createLogger('silent'));
  const localMode = options.localMode ?? true;
  const yoga = buildYoga(services, { localMode });
  const http = createHttpHandler({
    yoga,
    services,
    authenticate: createAuthenticator(services, { localMode }),
    console: { distDir: CONSOLE_DIST, graphiql: config.NODE_ENV !== 'production' },
  });
  return {
    yoga,
    services,
    http,
    fetch(path, init = {}, opts = {}) {
      const headers = new Headers(init.headers);
      if (opts.key) headers.set('authorization', `Bearer ${opts.key}`);
      return http(new Request(`http://localhost${path}`, { ...init, headers }), { clientAddress: '127.0.0.1' });
    },
    async gql(query, variables, opts) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts?.key) headers.authorization = `Bearer ${opts.key}`;
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, data: body.data ?? null, errors: body.errors };
    },
    close: () => database.close(),
  };
}

import { randomUUID } from 'node:crypto';
import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import { AuditTrail, type RequestContext } from './context.ts';
import { authenticate } from './auth.ts';
import { useAudit } from './audit-plugin.ts';
import { maskError } from './errors.ts';
import { schema } from './schema/index.ts';
import type { Services } from './services.ts';

export interface YogaOptions {
  /** Unsecured local development: anonymous callers act as the local admin. */
  localMode: boolean;
}

export type MpiYoga = YogaServerInstance<{ clientAddress?: string }, RequestContext>;

/** Builds the GraphQL server instance (started elsewhere; tests call `yoga.fetch` in-process). */
export function buildYoga(services: Services, options: YogaOptions): MpiYoga {
  const production = services.config.NODE_ENV === 'production';
  return createYoga<{ clientAddress?: string }, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    graphiql: !production,
    logging: false,
    maskedErrors: { maskError },
    context: async ({ request, clientAddress }) => ({
      requestId: request.headers.get('x-request-id') ?? randomUUID(),
      principal: await authenticate(request, services, options.localMode),
      clientAddress: clientAddress ?? null,
      services,
      audit: new AuditTrail(),
    }),
    plugins: [
      useReadinessCheck({ endpoint: '/readyz', check: async () => { await services.database.ping(); } }),
      useAudit(),
    ],
  });
}

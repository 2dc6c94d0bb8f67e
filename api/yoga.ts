import { randomUUID } from 'node:crypto';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useArgumentPolicy } from './argument-policy.ts';
import { auditAuthenticationFailure, auditMutationsInTransaction, auditPatientRootFields, useAudit } from './audit-plugin.ts';
import { AuthenticationFailure, createAuthenticator } from './auth.ts';
import { AuditTrail, type RequestContext } from './context.ts';
import { loggableError, maskError, useNoSuggestions, useTypedLiteralErrors, withoutSuggestions } from './errors.ts';
import { hardeningPlugins, requestGuardFor, type RequestGuard } from './hardening.ts';
import { createLoaders, useRequestLoaders } from './loaders.ts';
import { useProbes } from './probes.ts';
import { useReadRouting } from './read-routing.ts';
import { schema } from './schema/index.ts';
import type { Services } from './services.ts';
import { traceRootFields, useTelemetry } from './telemetry-plugin.ts';

export interface YogaOptions {
  /** Unsecured local development: anonymous callers act as the local admin. */
  localMode: boolean;
  /** The server's rate and body limits, shared with the other routes (default: a guard of its own). */
  guard?: RequestGuard;
  /** The per-run admin token of `mpi` commands on the same embedded data directory (see platform/db/data-dir-lock.ts). */
  localAdminToken?: () => string | undefined;
  /** Batch per-item lookups with DataLoaders (default true); false only to measure what batching saves. */
  batchLoads?: boolean;
}

export type MpiYoga = YogaServerInstance<{ clientAddress?: string }, RequestContext>;

/** A caller's `x-request-id` is kept only when it is a plain token, so the audit trail holds no free text. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the GraphQL server instance (started elsewhere; tests call `yoga.fetch` in-process). */
export function buildYoga(services: Services, options: YogaOptions): MpiYoga {
  const { config } = services;
  const authenticate = createAuthenticator(services, options);
  auditPatientRootFields(schema);
  auditMutationsInTransaction(schema);
  traceRootFields(schema);
  const batch = options.batchLoads ?? true;
  return createYoga<{ clientAddress?: string }, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // The probes (/healthz, /readyz) are answered by useProbes; Yoga's own bare check stays at its default path.
    landingPage: false,
    // GraphiQL is served by the console handler from our own build (Yoga's page loads its files from a CDN).
    graphiql: false,
    // Yoga reflects any origin by default; only configured origins may read responses cross-origin.
    cors: config.MPI_CORS_ORIGINS.length > 0 ? { origin: config.MPI_CORS_ORIGINS, credentials: true } : false,
    logging: false,
    batching: { limit: config.MPI_MAX_BATCH_OPERATIONS },
    maskedErrors: {
      maskError: (error, message) => {
        const masked = maskError(error, message, (unexpected) =>
          services.logger.error({ failure: loggableError(unexpected) }, 'unexpected error'),
        );
        return config.NODE_ENV === 'production' ? withoutSuggestions(masked) : masked;
      },
    },
    context: async ({ request, clientAddress }) => {
      const base = {
        requestId: requestIdOf(request),
        clientAddress: clientAddress ?? null,
        services,
        audit: new AuditTrail(),
        // Replaced per operation by useRequestLoaders; this one serves anything resolved outside an execution.
        loaders: createLoaders(services.identity, { cache: false, batch }),
      };
      try {
        return { ...base, principal: await authenticate(request) };
      } catch (error) {
        if (error instanceof AuthenticationFailure) await auditAuthenticationFailure(base, error);
        throw error;
      }
    },
    plugins: [
      useTelemetry(services.logger),
      useTypedLiteralErrors(),
      useArgumentPolicy(),
      ...(config.NODE_ENV === 'production' ? [useNoSuggestions()] : []),
      ...hardeningPlugins(config, options.guard ?? requestGuardFor(config, options)),
      useProbes(services),
      useReadRouting(services),
      useRequestLoaders(services, batch),
      useAudit(),
    ],
  });
}

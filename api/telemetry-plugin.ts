import { SpanKind, SpanStatusCode, context, createContextKey, propagation, trace, type Span } from '@opentelemetry/api';
import { Kind, defaultFieldResolver, isObjectType, type GraphQLSchema, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { recordFailure, tracer } from '../platform/telemetry.ts';
import type { Logger } from '../platform/logger.ts';
import { actorOf, type RequestContext } from './context.ts';
import { errorCodeOf } from './errors.ts';

/** Path segments recorded as they are; any other segment (an id, or whatever a caller typed) becomes `:param`. */
export const ROUTE_SEGMENTS = new Set(['graphql', 'healthz', 'readyz', 'fhir', 'metadata', 'Patient', 'AuditEvent', '$match']);
const HTTP_SPAN = createContextKey('mpi.http.span');

/** The route of a path, safe for a span name: no ids, no query string. */
export function routeOf(pathname: string): string {
  const segments = pathname
    .split('/')
    .filter(Boolean)
    .map((s) => (ROUTE_SEGMENTS.has(s) ? s : ':param'));
  return `/${segments.join('/')}`;
}

type MaybePromise<T> = T | Promise<T>;

/** Runs `work` and calls `done` once it settles, keeping synchronous work synchronous. */
function settle<T>(work: () => MaybePromise<T>, done: (error?: unknown) => void): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = work();
  } catch (error) {
    done(error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        done();
        return value;
      },
      (error: unknown) => {
        done(error);
        throw error;
      },
    );
  }
  done();
  return result;
}

/** Liveness and readiness probes arrive every few seconds and say nothing about the service's work: no spans. */
const PROBES = new Set(['/healthz', '/readyz']);
const isProbe = (request: Request) => PROBES.has(new URL(request.url).pathname);

/** Starts the server span of one HTTP request, continuing the caller's W3C trace context. */
function startHttpSpan(request: Request): { span: Span; run: <T>(work: () => T) => T } {
  const route = routeOf(new URL(request.url).pathname);
  const parent = propagation.extract(context.active(), request.headers, headerGetter);
  const span = tracer.startSpan(
    `${request.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': route },
    },
    parent,
  );
  const active = trace.setSpan(parent, span).setValue(HTTP_SPAN, span);
  return { span, run: (work) => context.with(active, work) };
}

function endHttpSpan(span: Span, status: number | null, error?: unknown): void {
  if (error) recordFailure(span, error);
  if (status !== null) {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/**
 * Wraps a fetch handler (the whole HTTP API) in a server span per request: method, route and status only.
 * Yoga then adds no second HTTP span.
 */
export function traceHttp<C>(
  handler: (request: Request, context?: C) => Promise<Response>,
): (request: Request, context?: C) => Promise<Response> {
  return (request, ctx) => {
    if (isProbe(request)) return handler(request, ctx);
    const { span, run } = startHttpSpan(request);
    return run(() => handler(request, ctx)).then(
      (response) => {
        endHttpSpan(span, response.status);
        return response;
      },
      (error: unknown) => {
        endHttpSpan(span, null, error);
        throw error;
      },
    );
  };
}

const headerGetter = {
  keys: (carrier: Headers) => [...carrier.keys()],
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
};

const instrumented = new WeakSet<GraphQLSchema>();

/**
 * Wraps every Query and Mutation resolver in a span named after the field. Arguments are never recorded: they
 * hold the patient data being ingested or searched for.
 */
export function traceRootFields(schema: GraphQLSchema): void {
  if (instrumented.has(schema)) return;
  instrumented.add(schema);
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    if (!type || !isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve ?? defaultFieldResolver;
      const attributes = { 'graphql.field.parent': type.name, 'graphql.field.name': field.name };
      field.resolve = (source, args, ctx, info) =>
        tracer.startActiveSpan(`graphql.resolve ${type.name}.${field.name}`, { attributes }, (span) =>
          settle(
            () => resolve(source, args, ctx, info),
            (error) => {
              if (error) recordFailure(span, error);
              span.end();
            },
          ),
        );
    }
  }
}

/**
 * Spans for each HTTP request (method, route and status only; W3C trace context from the caller is continued) and
 * each GraphQL operation (type, name, root fields, error codes). Root fields get spans from `traceRootFields`,
 * database calls and engine stages from the platform.
 */
export function useTelemetry(logger?: Logger): Plugin<RequestContext> {
  const operationSpans = new WeakMap<object, Span>();
  return {
    instrumentation: {
      request({ request }, wrapped) {
        if (context.active().getValue(HTTP_SPAN) || isProbe(request)) return wrapped(); // traceHttp spans it already, or a probe
        const { span, run } = startHttpSpan(request);
        return run(() => settle(wrapped, (error) => endHttpSpan(span, null, error)));
      },
      execute({ context: graphqlContext }, wrapped) {
        const span = tracer.startSpan('graphql.operation');
        operationSpans.set(graphqlContext, span);
        return context.with(trace.setSpan(context.active(), span), () => settle(wrapped, () => span.end()));
      },
    },
    onExecute({ args }) {
      const span = operationSpans.get(args.contextValue);
      if (!span) return undefined;
      const operation = args.document.definitions.find(
        (d: { kind: string }): d is OperationDefinitionNode =>
          d.kind === Kind.OPERATION_DEFINITION &&
          (!args.operationName || (d as OperationDefinitionNode).name?.value === args.operationName),
      );
      const type = operation?.operation ?? 'query';
      const fields = operation?.selectionSet.selections.flatMap((s: SelectionNode) => (s.kind === Kind.FIELD ? [s.name.value] : [])) ?? [];
      span.updateName(`graphql.${type} ${fields.join(',')}`);
      span.setAttributes({
        'graphql.operation.type': type,
        'graphql.operation.name': operation?.name?.value ?? '',
        'graphql.operation.root_fields': fields,
        'mpi.request_id': args.contextValue.requestId,
      });
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result && Array.isArray(result.errors) ? result.errors : [];
          const codes = [...new Set(errors.map(errorCodeOf))];
          // One line per operation: ids, names and codes only (the logger also redacts PHI-named keys).
          const line = {
            requestId: args.contextValue.requestId,
            operation: type,
            fields,
            actor: actorOf(args.contextValue),
            errorCodes: codes,
            ms: Math.round(performance.now() - started),
          };
          if (codes.length > 0) logger?.info(line, 'graphql operation failed');
          else logger?.debug(line, 'graphql operation');
          if (codes.length === 0) return;
          span.setAttribute('graphql.error_codes', codes);
          span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
        },
      };
    },
    onResponse({ response }) {
      const span = context.active().getValue(HTTP_SPAN) as Span | undefined;
      span?.setAttribute('http.response.status_code', response.status);
      if (span && response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}

import {
  SpanStatusCode,
  metrics,
  trace,
  type Attributes,
  type AttributeValue,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Span,
} from '@opentelemetry/api';
import { errorFields } from './logger.ts';

const TRACER_NAME = 'mpi';
export const tracer = trace.getTracer(TRACER_NAME);

/** The service's metric instruments, created against whichever meter provider is registered. */
export interface Instruments {
  meter: Meter;
  /** Source records ingested, by outcome (LINKED, CREATED, REVIEW, UNCHANGED, ERROR). */
  ingests: Counter;
  /** Duration of matching work (ingest with matching, or a stand-alone match), in milliseconds. */
  matchDuration: Histogram;
  /** Requests refused because their credentials were missing, malformed, unknown, revoked or expired. */
  authFailures: Counter;
  /** Requests refused by the per-key rate limit. */
  rateLimited: Counter;
}

let cached: { provider: MeterProvider; instruments: Instruments } | null = null;

/**
 * The metric instruments. The API hands out no-op meters until an SDK registers a provider, so instruments are
 * (re)created when the registered provider changes instead of once at import.
 */
export function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider === provider) return cached.instruments;
  const meter = provider.getMeter(TRACER_NAME);
  const made: Instruments = {
    meter,
    ingests: meter.createCounter('mpi.ingest.records', { description: 'Source records ingested, by outcome' }),
    matchDuration: meter.createHistogram('mpi.match.duration', {
      description: 'Time spent matching a record against the index, by stage',
      unit: 'ms',
    }),
    authFailures: meter.createCounter('mpi.auth.failures', { description: 'Requests refused for bad or missing credentials, by reason' }),
    rateLimited: meter.createCounter('mpi.http.rate_limited', { description: 'Requests refused by the per-key rate limit' }),
  };
  cached = { provider, instruments: made };
  return made;
}

/** Stages whose duration is the match latency (identity.ingest matches as it stores). */
const MATCH_STAGES = new Set(['identity.ingest', 'identity.match']);

const OUTCOME_COUNT = /^mpi\.outcome\.(\w+)$/;

/**
 * Metrics derived from a finished stage: its duration, and for ingests the outcomes the stage recorded on its
 * span, either one `mpi.outcome` or per-outcome counts `mpi.outcome.<outcome>` for a batch.
 */
function recordStageMetrics(name: string, attributes: Attributes, millis: number, failed: boolean): void {
  if (!MATCH_STAGES.has(name)) return;
  const meters = instruments();
  meters.matchDuration.record(millis, { 'mpi.stage': name, 'mpi.failed': failed });
  if (name !== 'identity.ingest') return;
  if (failed) {
    const size = attributes['mpi.batch_size'];
    meters.ingests.add(typeof size === 'number' ? size : 1, { 'mpi.outcome': 'ERROR' });
    return;
  }
  if (typeof attributes['mpi.outcome'] === 'string') meters.ingests.add(1, { 'mpi.outcome': attributes['mpi.outcome'] });
  for (const [key, value] of Object.entries(attributes)) {
    const outcome = OUTCOME_COUNT.exec(key)?.[1];
    if (outcome && typeof value === 'number' && value > 0) meters.ingests.add(value, { 'mpi.outcome': outcome.toUpperCase() });
  }
}

/** Hands `work` its span while remembering the attributes it sets, so stage metrics can use them. */
function rememberingAttributes(span: Span, seen: Attributes): Span {
  return new Proxy(span, {
    get(target, property) {
      if (property === 'setAttribute') {
        return (key: string, value: AttributeValue) => {
          seen[key] = value;
          target.setAttribute(key, value);
          return target;
        };
      }
      if (property === 'setAttributes') {
        return (values: Attributes) => {
          Object.assign(seen, values);
          target.setAttributes(values);
          return target;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Runs `work` inside a span. Attributes must be counts, ids and versions only: never patient data.
 * Errors are recorded by class name only, since a message could quote a value.
 */
export async function withSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    const started = performance.now();
    const seen: Attributes = { ...attributes };
    let failed = false;
    try {
      return await work(MATCH_STAGES.has(name) ? rememberingAttributes(span, seen) : span);
    } catch (error) {
      failed = true;
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
      recordStageMetrics(name, seen, performance.now() - started, failed);
    }
  });
}

/** Marks a span failed with the error's class and typed code, never its message. */
export function recordFailure(span: Span, error: unknown): void {
  const { errorName: name, errorCode } = errorFields(error);
  const code = typeof errorCode === 'string' ? errorCode : undefined;
  span.recordException({ name, message: code ?? name });
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
  if (code) span.setAttribute('error.type', code);
}

/** A span per database call. The statement's verb is recorded, never its parameters. */
export function traceQuery<T>(system: string, text: string, run: () => Promise<T>): Promise<T> {
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
  return withSpan(`db.${operation.toLowerCase()}`, { 'db.system': system, 'db.operation': operation }, run);
}

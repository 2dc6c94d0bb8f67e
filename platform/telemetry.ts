import { SpanStatusCode, metrics, trace, type Attributes, type Span } from '@opentelemetry/api';

const TRACER_NAME = 'mpi';
export const tracer = trace.getTracer(TRACER_NAME);
export const meter = metrics.getMeter(TRACER_NAME);

/**
 * Runs `work` inside a span. Attributes must be counts, ids and versions only: never patient data.
 */
export async function withSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException({ name: (error as Error).name, message: (error as Error).name });
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span per database call. The statement's verb is recorded, never its parameters. */
export function traceQuery<T>(system: string, text: string, run: () => Promise<T>): Promise<T> {
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
  return withSpan(`db.${operation.toLowerCase()}`, { 'db.system': system, 'db.operation': operation }, run);
}

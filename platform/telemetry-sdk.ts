import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface TelemetryOverrides {
  /** Span processors to use instead of the OTEL_TRACES_EXPORTER ones (tests capture spans in memory). */
  spanProcessors?: SpanProcessor[];
  /** Metric readers to use instead of the OTEL_METRICS_EXPORTER ones. */
  metricReaders?: MetricReader[];
}

/**
 * Starts the OpenTelemetry SDK. Exporters come from the standard OTEL_* variables (read by the SDK itself);
 * with none set, nothing is started and every span and metric call stays a cheap no-op.
 *
 * No auto-instrumentation is loaded: HTTP server spans come from the API's own plugin, which records the method,
 * path and status only, because URLs (GET query strings) and headers can carry identifiers.
 */
export function startTelemetry(
  env: { OTEL_TRACES_EXPORTER?: string | undefined; OTEL_METRICS_EXPORTER?: string | undefined },
  overrides: TelemetryOverrides = {},
): NodeSDK | null {
  const traces = env.OTEL_TRACES_EXPORTER ?? 'none';
  const metricsExporter = env.OTEL_METRICS_EXPORTER ?? 'none';
  if (traces === 'none' && metricsExporter === 'none' && !overrides.spanProcessors && !overrides.metricReaders) return null;
  // An empty list keeps the SDK from falling back to its own default (OTLP) for a signal that was left unset.
  const spanProcessors = overrides.spanProcessors ?? (traces === 'none' ? [] : undefined);
  const metricReaders = overrides.metricReaders ?? (metricsExporter === 'none' ? [] : undefined);
  const sdk = new NodeSDK({
    serviceName: 'mpi',
    instrumentations: [],
    ...(spanProcessors ? { spanProcessors } : {}),
    ...(metricReaders ? { metricReaders } : {}),
  });
  sdk.start();
  return sdk;
}

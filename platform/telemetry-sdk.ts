import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';

/**
 * Starts the OpenTelemetry SDK. Exporters come from the standard OTEL_* variables; with none set,
 * nothing is exported (the API calls stay no-ops but cheap).
 */
export function startTelemetry(env: { OTEL_TRACES_EXPORTER?: string | undefined; OTEL_METRICS_EXPORTER?: string | undefined }): NodeSDK | null {
  const traces = env.OTEL_TRACES_EXPORTER ?? 'none';
  const metricsExporter = env.OTEL_METRICS_EXPORTER ?? 'none';
  if (traces === 'none' && metricsExporter === 'none') return null;
  const sdk = new NodeSDK({
    serviceName: 'mpi',
    instrumentations: [new HttpInstrumentation({
      // URLs and headers may carry identifiers; record only method, route-free target and status.
      ignoreIncomingRequestHook: (req) => req.url === '/healthz',
    })],
  });
  sdk.start();
  return sdk;
}

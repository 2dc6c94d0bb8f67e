import { Writable } from 'node:stream';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Role } from '../api/context.ts';
import { createServices, type Services } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { loadConfig } from '../platform/config.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { observeDatabaseGauges } from '../platform/telemetry-metrics.ts';
import { startTelemetry } from '../platform/telemetry-sdk.ts';
import type { TestApp } from './app.ts';
import { openTestDatabase, TEST_DB_KIND } from './db.ts';
import { INGEST, person, seedSources, type IngestData } from './fixtures.ts';

/** Collects metrics on demand. */
class TestMetricReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Every value of the flow's patients that must never reach a span or a log line. */
function phiOf(patients: Array<Record<string, unknown>>): string[] {
  const fields = ['givenName', 'familyName', 'middleName', 'birthDate', 'ssn', 'phone', 'email', 'addressLine1', 'city'];
  const values = patients.flatMap((p) => fields.map((f) => p[f]).filter((v): v is string => typeof v === 'string' && v.length > 0));
  // SSNs and phones also as bare digits, the way normalisers store them.
  const digits = values.filter((v) => /^[\d-]+$/.test(v) && v.replace(/\D/g, '').length >= 9).map((v) => v.replace(/\D/g, ''));
  return [...new Set([...values, ...digits])];
}

/** What a span exposes to an exporter: name, attributes, events, status; ids are random hex and left out. */
function exported(span: ReadableSpan): string {
  return JSON.stringify({ name: span.name, attributes: span.attributes, events: span.events, status: span.status, links: span.links });
}

describe(`telemetry of an end-to-end flow on ${TEST_DB_KIND}`, () => {
  const spans = new InMemorySpanExporter();
  const reader = new TestMetricReader();
  const logLines: string[] = [];
  let sdk: NodeSDK | null;
  let database: DatabaseHandle;
  let services: Services;
  let yoga: MpiYoga;
  let stopGauges: () => void;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    sdk = startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor(spans)], metricReaders: [reader] });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    database = await openTestDatabase();
    services = createServices(loadConfig({ NODE_ENV: 'test' }), database, createLogger('debug', sink));
    yoga = buildYoga(services, { localMode: false });
    stopGauges = observeDatabaseGauges(database.db);
    for (const role of ['pipeline', 'steward'] as const) keys[role] = (await createApiKey(database.db, `telemetry-${role}`, role)).key;
  });
  afterAll(async () => {
    stopGauges?.();
    await sdk?.shutdown();
    trace.disable();
    metrics.disable();
    context.disable();
    propagation.disable();
    await database?.close();
  });

  async function gql<T>(
    role: Role | null,
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<{ data: T | null; errors?: unknown[] }> {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(role ? { authorization: `Bearer ${keys[role]}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data: T | null; errors?: unknown[] };
  }

  test('spans, metrics and logs describe the flow without any patient data', async () => {
    await seedSources({ services } as TestApp, ['ehr', 'lab']);
    const patients = [
      person(3101, { ssn: '512-48-3067', email: 'c.okafor3101@example.org', middleName: 'Adaeze' }),
      person(3102, { ssn: '078-05-1120', email: 'l.brandt3102@example.org' }),
    ];
    const a = (await gql<IngestData>('pipeline', INGEST, { input: { source: 'ehr', localId: 'TEL-1', ...patients[0] } })).data!
      .ingestRecord;
    const b = (await gql<IngestData>('pipeline', INGEST, { input: { source: 'ehr', localId: 'TEL-2', ...patients[1] } })).data!
      .ingestRecord;
    await gql('pipeline', INGEST, { input: { source: 'lab', localId: 'TEL-1L', ...patients[0] } });
    await gql('pipeline', 'query($i: RecordFieldsInput!) { match(input: $i) { probability identity { golden { givenName } } } }', {
      i: patients[1],
    });
    await gql(
      'steward',
      'query($id: ID!) { identity(id: $id) { golden { givenName familyName birthDate ssn phone email addressLine1 } records { ssn } } }',
      { id: a.identity.id },
    );
    await gql('steward', 'mutation($s: ID!, $m: ID!) { mergeIdentities(survivorId: $s, mergedId: $m, reason: "chart review") { id } }', {
      s: a.identity.id,
      m: b.identity.id,
    });
    await gql('steward', 'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "different patient") { id } }', { r: b.record.id });
    // Failures carry PHI in their input too: an invalid record, a forbidden call, a bad key.
    const invalid = await gql('pipeline', INGEST, {
      input: { source: 'ehr', localId: 'TEL-3', ...patients[1], birthDate: `${String(patients[1]!.birthDate).slice(0, 8)}32` },
    });
    expect(invalid.errors).toBeDefined();
    await gql('pipeline', 'query($id: ID!) { identityHistory(id: $id) { type } }', { id: a.identity.id });
    await gql(null, INGEST, { input: { source: 'ehr', localId: 'TEL-4', ...patients[0] } }, { authorization: 'Bearer not-a-key' });

    const finished = spans.getFinishedSpans();
    const names = new Set(finished.map((s) => s.name));
    for (const expected of [
      'POST /graphql',
      'graphql.mutation ingestRecord',
      'graphql.resolve Mutation.ingestRecord',
      'identity.ingest',
      'identity.match',
      'graphql.query match',
      'graphql.mutation mergeIdentities',
    ]) {
      expect(names, expected).toContain(expected);
    }
    expect([...names].some((n) => n.startsWith('db.'))).toBe(true);
    const ingestSpan = finished.find((s) => s.name === 'identity.ingest')!;
    const httpSpan = finished.find((s) => s.name === 'POST /graphql' && s.spanContext().traceId === ingestSpan.spanContext().traceId);
    expect(httpSpan, "the ingest stage runs inside the HTTP request's trace").toBeDefined();
    expect(
      finished.find((s) => s.name === 'graphql.mutation ingestRecord' && s.attributes['graphql.error_codes'])?.attributes[
        'graphql.error_codes'
      ],
    ).toEqual(['VALIDATION_FAILED']);

    const { resourceMetrics } = await reader.collect();
    const metric = (name: string) =>
      (resourceMetrics as ResourceMetrics).scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    const ingests = metric('mpi.ingest.records')!.dataPoints.map((p) => [p.attributes['mpi.outcome'], p.value]);
    expect(ingests).toEqual(
      expect.arrayContaining([
        ['CREATED', 2],
        ['LINKED', 1],
      ]),
    );
    expect(metric('mpi.match.duration')!.dataPoints.length).toBeGreaterThan(0);
    expect(metric('mpi.auth.failures')!.dataPoints[0]?.value).toBe(1);
    expect(metric('mpi.review.queue.depth')!.dataPoints[0]?.value).toEqual(expect.any(Number));

    expect(logLines.length).toBeGreaterThan(5);
    const telemetry = [...finished.map(exported), ...logLines, JSON.stringify(resourceMetrics)].join('\n');
    const phi = phiOf(patients);
    expect(phi.length).toBeGreaterThan(15);
    const leaked = phi.filter((value) => telemetry.includes(value));
    expect(leaked).toEqual([]);
  });
});

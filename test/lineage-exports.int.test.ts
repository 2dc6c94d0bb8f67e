import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { finishIngestRun, MAX_RUN_ERRORS, startIngestRun, type IngestRunError } from '../lineage/index.ts';
import { ColumnLineageFacet, FhirProvenance, OpenLineageRunEvent } from '../lineage/testing/export-shapes.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

const actor = { actor: 'test:pipeline' };

describe(`ingest runs and exports on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let sourceId: string;
  let runId: string;
  let identityId: string;
  beforeAll(async () => {
    app = await createTestApp();
    // Registered through the catalog, so the source has a dataset whose fields map to golden fields.
    const registered = await app.gql<{ registerSource: { id: string } }>(
      'mutation { registerSource(input: { code: "cardio", name: "Cardiology EHR", trustRank: 70 }) { id } }',
    );
    expect(registered.errors).toBeUndefined();
    sourceId = registered.data!.registerSource.id;
    const db = app.services.database.db;
    runId = (await startIngestRun(db, { sourceId, job: 'csv-import' })).id;
    const results = [];
    for (const seed of [1, 2, 3])
      results.push(
        await app.services.ingest.ingest({ source: 'cardio', localId: `K-${seed}`, ...person(seed) } as never, actor, { runId }),
      );
    identityId = results[0]!.identityId;
    const created = results.filter((r) => r.outcome === 'CREATED').length;
    await finishIngestRun(
      db,
      runId,
      { recordsIn: 4, created, linked: 3 - created, rejected: 1 },
      [{ line: 5, field: 'birthDate', code: 'INVALID_DATE', message: 'is not a valid date' }],
      'COMPLETED',
    );
  });
  afterAll(async () => {
    await app?.close();
  });

  test('lists runs by source and status, with counts and errors', async () => {
    const other = await startIngestRun(app.services.database.db, { sourceId, job: 'hl7-feed' });
    const result = await app.gql<{
      completed: {
        edges: Array<{
          node: {
            id: string;
            job: string;
            status: string;
            counts: Record<string, number>;
            errors: Array<{ line: number; field: string; code: string }>;
            source: { code: string };
          };
        }>;
      };
      running: { edges: Array<{ node: { id: string } }> };
    }>(
      `{ completed: ingestRuns(source: "cardio", status: COMPLETED, first: 10) { edges { node { id job status counts errors { line field code } source { code } } } }
         running: ingestRuns(source: "cardio", status: RUNNING, first: 10) { edges { node { id } } } }`,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.completed.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({
        id: runId,
        job: 'csv-import',
        status: 'COMPLETED',
        source: { code: 'cardio' },
        errors: [{ line: 5, field: 'birthDate', code: 'INVALID_DATE' }],
      }),
    ]);
    expect(result.data!.completed.edges[0]!.node.counts).toMatchObject({ recordsIn: 4, rejected: 1 });
    expect(result.data!.running.edges.map((e) => e.node.id)).toEqual([other.id]);
  });

  test('provenance names the run that brought each value in', async () => {
    const result = await app.gql<{ lineage: { current: { ingestRun: { id: string; job: string } } } }>(
      'query($id: ID!) { lineage(identityId: $id, field: birthDate) { current { ingestRun { id job } } } }',
      { id: identityId },
    );
    expect(result.data!.lineage.current.ingestRun).toEqual({ id: runId, job: 'csv-import' });
  });

  test("exports the run as OpenLineage START and COMPLETE events with column lineage from the catalog's fields", async () => {
    const result = await app.gql<{ ingestRun: { openLineageEvents: unknown[] } }>(
      'query($id: ID!) { ingestRun(id: $id) { openLineageEvents } }',
      { id: runId },
    );
    expect(result.errors).toBeUndefined();
    const events = result.data!.ingestRun.openLineageEvents.map((e) => OpenLineageRunEvent.parse(e));
    expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(events[1]!.run.runId).toBe(runId);
    expect(events[1]!.job).toMatchObject({ namespace: 'mpi', name: 'csv-import' });
    expect(events[1]!.inputs).toEqual([
      expect.objectContaining({
        name: 'sources.cardio.patients',
        inputFacets: { inputStatistics: expect.objectContaining({ rowCount: 4 }) },
      }),
    ]);
    const output = events[1]!.outputs![0]!;
    expect(output.name).toBe('golden.identities');
    const lineage = ColumnLineageFacet.parse((output.facets as Record<string, unknown>).columnLineage);
    expect(lineage.fields.birthDate!.inputFields).toEqual([
      expect.objectContaining({ name: 'sources.cardio.patients', field: 'birthDate' }),
    ]);
    expect(Object.keys(lineage.fields)).toHaveLength(14);
  });

  test('a failed run ends with a FAIL event naming its error codes, and keeps a bounded list of errors', async () => {
    const db = app.services.database.db;
    const failed = await startIngestRun(db, { sourceId, job: 'csv-import' });
    const errors: IngestRunError[] = Array.from({ length: MAX_RUN_ERRORS + 50 }, (_, i) => ({
      line: i + 2,
      field: 'ssn',
      code: 'INVALID_SSN',
      message: 'is not a valid SSN',
    }));
    const finished = await finishIngestRun(db, failed.id, { recordsIn: 250 }, errors, 'FAILED');
    expect(finished.errors).toHaveLength(MAX_RUN_ERRORS);
    expect(finished.facets).toMatchObject({ droppedErrors: 50 });
    await expect(finishIngestRun(db, failed.id, {}, [], 'COMPLETED')).rejects.toMatchObject({ code: 'RUN_FINISHED' });

    const result = await app.gql<{
      ingestRun: { openLineageEvents: Array<{ eventType: string; run: { facets: { errorMessage?: { message: string } } } }> };
    }>('query($id: ID!) { ingestRun(id: $id) { openLineageEvents } }', { id: failed.id });
    const end = result.data!.ingestRun.openLineageEvents[1]!;
    expect(OpenLineageRunEvent.parse(end).eventType).toBe('FAIL');
    expect(end.run.facets.errorMessage?.message).toContain('ssn: INVALID_SSN');
  });

  test("exports a golden field's provenance as a FHIR R4 Provenance resource", async () => {
    const result = await app.gql<{ lineage: { current: { fhirProvenance: unknown; validFrom: string; record: { id: string } } } }>(
      'query($id: ID!) { lineage(identityId: $id, field: birthDate) { current { fhirProvenance validFrom record { id } } } }',
      { id: identityId },
    );
    expect(result.errors).toBeUndefined();
    const current = result.data!.lineage.current;
    const resource = FhirProvenance.parse(current.fhirProvenance);
    expect(resource.target[0]).toMatchObject({ reference: `Patient/${identityId}` });
    expect(resource.recorded).toBe(current.validFrom);
    expect(resource.entity?.[0]).toMatchObject({ role: 'source', what: { identifier: { value: current.record.id } } });
    expect(resource.agent[0]!.who).toMatchObject({ identifier: { value: 'cardio' }, display: 'Cardiology EHR' });
    expect(resource.activity?.coding?.[0]?.code).toBe('CREATE');
    expect(JSON.stringify(resource)).not.toContain(String(person(1).birthDate));
  });
});

import { describe, expect, test } from 'vitest';
import { fhirProvenance } from './fhir-provenance.ts';
import { openLineageEvents } from './openlineage.ts';
import type { IngestRunRow } from './run-store.ts';
import type { FieldProvenanceRow } from './store.ts';
import { DEFAULT_POLICY } from './survivorship.ts';
import { ColumnLineageFacet, FhirProvenance, OpenLineageRunEvent } from './testing/export-shapes.ts';

const started = new Date('2025-06-01T10:00:00.000Z');
const ended = new Date('2025-06-01T10:05:00.000Z');

function run(overrides: Partial<IngestRunRow> = {}): IngestRunRow {
  return {
    id: '4f1c2b9e-8a51-4d7e-9a0b-2c3d4e5f6a7b',
    sourceId: '0b7e1c2d-3f4a-4b5c-8d6e-7f8a9b0c1d2e',
    job: 'csv-import',
    status: 'RUNNING',
    startedAt: started,
    endedAt: null,
    counts: {},
    errors: [],
    facets: {},
    ...overrides,
  };
}

describe('OpenLineage run events', () => {
  const context = { source: { code: 'lab' }, rules: DEFAULT_POLICY.rules };

  test('a running run has only its START event', () => {
    const events = openLineageEvents(run(), context);
    expect(events.map((e) => e.eventType)).toEqual(['START']);
    expect(OpenLineageRunEvent.parse(events[0])).toBeTruthy();
  });

  test.each([
    ['COMPLETED', 'COMPLETE'],
    ['FAILED', 'FAIL'],
    ['ABORTED', 'ABORT'],
  ] as const)('a %s run ends with %s, and every event validates against the RunEvent shape', (status, eventType) => {
    const events = openLineageEvents(run({ status, endedAt: ended, counts: { recordsIn: 10, created: 4, linked: 5, review: 1 } }), context);
    expect(events.map((e) => e.eventType)).toEqual(['START', eventType]);
    for (const e of events) OpenLineageRunEvent.parse(e);
    expect(events[1]!.eventTime).toBe(ended.toISOString());
  });

  test('maps each source field to the golden field it survives into, naming the rule', () => {
    const [start] = openLineageEvents(run(), {
      ...context,
      columns: [
        { sourceField: 'dob', goldenField: 'birthDate' },
        { sourceField: 'surname', goldenField: 'familyName' },
      ],
    });
    const lineage = ColumnLineageFacet.parse(start!.outputs[0]!.facets.columnLineage);
    expect(Object.keys(lineage.fields).sort()).toEqual(['birthDate', 'familyName']);
    expect(lineage.fields.birthDate!.inputFields).toEqual([
      expect.objectContaining({ namespace: 'mpi', name: 'sources.lab.patients', field: 'dob' }),
    ]);
    expect(JSON.stringify(lineage.fields.birthDate)).toContain('MOST_FREQUENT');
  });

  test('reports rows in and out on the final event, and the error codes of a failed run', () => {
    const events = openLineageEvents(
      run({
        status: 'FAILED',
        endedAt: ended,
        counts: { recordsIn: 10, created: 4, linked: 5, review: 1 },
        errors: [{ line: 3, field: 'birthDate', code: 'INVALID_DATE', message: 'not a date' }],
      }),
      context,
    );
    const end = events[1]!;
    expect(end.inputs[0]!.inputFacets?.inputStatistics).toMatchObject({ rowCount: 10 });
    expect(end.outputs[0]!.outputFacets?.outputStatistics).toMatchObject({ rowCount: 10 });
    expect(end.run.facets.errorMessage).toMatchObject({ message: 'birthDate: INVALID_DATE' });
  });

  test('a run no source fed (a recompute) has no input and no column lineage', () => {
    const [start] = openLineageEvents(run({ sourceId: null, job: 'survivorship.policy-change' }), {
      source: null,
      rules: DEFAULT_POLICY.rules,
    });
    expect(start!.inputs).toEqual([]);
    expect(start!.outputs[0]!.facets.columnLineage).toBeUndefined();
  });
});

describe('FHIR R4 Provenance of a golden field', () => {
  const row: FieldProvenanceRow = {
    id: 42,
    identityId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
    field: 'birthDate',
    value: '1980-02-29',
    recordId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    sourceId: '0b7e1c2d-3f4a-4b5c-8d6e-7f8a9b0c1d2e',
    rule: 'SOURCE_PRIORITY',
    policyVersion: 3,
    competitors: [],
    ingestRunId: null,
    validFrom: started,
    validTo: ended,
  };

  test('targets the golden Patient element and names the source record, source system, time and policy', () => {
    const resource = FhirProvenance.parse(fhirProvenance(row, { source: { code: 'lab', name: 'Main lab' }, hasPredecessor: true }));
    expect(resource.target[0]).toMatchObject({ reference: `Patient/${row.identityId}`, extension: [{ valueString: 'Patient.birthDate' }] });
    expect(resource.recorded).toBe(started.toISOString());
    expect(resource.entity).toEqual([
      expect.objectContaining({
        role: 'source',
        what: expect.objectContaining({ identifier: { system: 'urn:mpi:record', value: row.recordId } }),
      }),
    ]);
    expect(resource.agent[0]!.who).toMatchObject({ identifier: { value: 'lab' } });
    expect(resource.policy).toEqual(['urn:mpi:survivorship-policy:3#birthDate.SOURCE_PRIORITY']);
    expect(resource.activity?.coding?.[0]?.code).toBe('UPDATE');
  });

  test('never carries the golden value itself', () => {
    expect(JSON.stringify(fhirProvenance(row, { source: { code: 'lab', name: 'Main lab' }, hasPredecessor: false }))).not.toContain(
      '1980-02-29',
    );
  });

  test('a steward override has the index as its only agent and no source entity', () => {
    const resource = FhirProvenance.parse(
      fhirProvenance(
        { ...row, recordId: null, sourceId: null, rule: 'STEWARD_OVERRIDE', validTo: null },
        { source: null, hasPredecessor: false },
      ),
    );
    expect(resource.entity).toBeUndefined();
    expect(resource.agent).toHaveLength(1);
    expect(resource.occurredPeriod).toEqual({ start: started.toISOString() });
  });
});

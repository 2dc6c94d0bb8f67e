import type { IngestRunRow } from './run-store.ts';
import { completeRules, GOLDEN_FIELDS, type GoldenField, type PolicyRules } from './survivorship.ts';

/**
 * OpenLineage run events for ingest runs (https://openlineage.io/spec/2-0-2/OpenLineage.json): a START event
 * and, once the run ended, COMPLETE, FAIL or ABORT. The input is the source's feed, the output the golden
 * identities, and the columnLineage facet maps each source field to the golden field it survives into.
 */

export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const FACET_SCHEMAS = {
  columnLineage: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
  schema: 'https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  inputStatistics: 'https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet',
  outputStatistics:
    'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
} as const;

/** Identifies this service as the producer of the events and facets. */
export const OPENLINEAGE_PRODUCER = 'urn:mpi:lineage:0.1.0';
/** Namespace of jobs and datasets unless the caller names another (e.g. per deployment). */
export const OPENLINEAGE_NAMESPACE = 'mpi';
/** The dataset every ingest run writes. */
export const GOLDEN_DATASET = 'golden.identities';

/** One source field that feeds one golden field (the catalog's field-to-golden mapping). */
export interface ColumnMapping {
  sourceField: string;
  goldenField: GoldenField;
}

export interface OpenLineageContext {
  /** The source the run read; null for runs no source fed (recomputes). */
  source: { code: string; dataset?: string | undefined } | null;
  /** Source-to-golden field mapping; defaults to each canonical field feeding the golden field of its name. */
  columns?: ColumnMapping[] | undefined;
  /** The policy whose rules decide the golden fields (named in each column's transformation). */
  rules: PolicyRules;
  namespace?: string | undefined;
  producer?: string | undefined;
}

type Facet = Record<string, unknown> & { _producer: string; _schemaURL: string };

export interface RunEvent {
  eventType: 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets: Record<string, Facet> };
  job: { namespace: string; name: string; facets: Record<string, Facet> };
  inputs: Array<{ namespace: string; name: string; facets: Record<string, Facet>; inputFacets?: Record<string, Facet> }>;
  outputs: Array<{ namespace: string; name: string; facets: Record<string, Facet>; outputFacets?: Record<string, Facet> }>;
}

const TERMINAL: Record<string, RunEvent['eventType']> = { COMPLETED: 'COMPLETE', FAILED: 'FAIL', ABORTED: 'ABORT' };

function facet(producer: string, schemaURL: string, body: Record<string, unknown>): Facet {
  return { _producer: producer, _schemaURL: schemaURL, ...body };
}

function defaultColumns(): ColumnMapping[] {
  return GOLDEN_FIELDS.map((f) => ({ sourceField: f, goldenField: f }));
}

function sum(counts: Record<string, number>, keys: string[]): number | undefined {
  const present = keys.filter((k) => typeof counts[k] === 'number');
  return present.length > 0 ? present.reduce((n, k) => n + counts[k]!, 0) : undefined;
}

/** The golden-identities output dataset, with column lineage from the source's fields. */
function goldenOutput(ctx: OpenLineageContext, input: { namespace: string; name: string } | null, producer: string) {
  const rules = completeRules(ctx.rules);
  const columns = input ? (ctx.columns ?? defaultColumns()) : [];
  const fields = Object.fromEntries(
    GOLDEN_FIELDS.flatMap((golden) => {
      const feeding = columns.filter((c) => c.goldenField === golden);
      if (feeding.length === 0 || !input) return [];
      const rule = rules[golden].rule;
      return [
        [
          golden,
          {
            inputFields: feeding.map((c) => ({
              namespace: input.namespace,
              name: input.name,
              field: c.sourceField,
              transformations: [
                {
                  type: 'DIRECT',
                  subtype: 'IDENTITY',
                  description: `survivorship rule ${rule}: the winning source value is kept as sent`,
                  masking: false,
                },
              ],
            })),
          },
        ],
      ];
    }),
  );
  return {
    namespace: input?.namespace ?? ctx.namespace ?? OPENLINEAGE_NAMESPACE,
    name: GOLDEN_DATASET,
    facets: {
      schema: facet(producer, FACET_SCHEMAS.schema, { fields: GOLDEN_FIELDS.map((f) => ({ name: f, type: 'string' })) }),
      ...(Object.keys(fields).length > 0 ? { columnLineage: facet(producer, FACET_SCHEMAS.columnLineage, { fields }) } : {}),
    },
  };
}

/** The OpenLineage events of one run, oldest first: START, then the terminal event once it ended. */
export function openLineageEvents(run: IngestRunRow, ctx: OpenLineageContext): RunEvent[] {
  const producer = ctx.producer ?? OPENLINEAGE_PRODUCER;
  const namespace = ctx.namespace ?? OPENLINEAGE_NAMESPACE;
  const input = ctx.source ? { namespace, name: `sources.${ctx.source.code}.${ctx.source.dataset ?? 'patients'}` } : null;
  const columns = ctx.columns ?? defaultColumns();
  const base = (eventType: RunEvent['eventType'], eventTime: Date): RunEvent => ({
    eventType,
    eventTime: eventTime.toISOString(),
    producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: run.id, facets: {} },
    job: {
      namespace,
      name: run.job,
      facets: {
        jobType: facet(producer, FACET_SCHEMAS.jobType, {
          processingType: 'BATCH',
          integration: 'MPI',
          jobType: ctx.source ? 'INGEST' : 'RECOMPUTE',
        }),
      },
    },
    inputs: input
      ? [
          {
            ...input,
            facets: {
              schema: facet(producer, FACET_SCHEMAS.schema, { fields: columns.map((c) => ({ name: c.sourceField, type: 'string' })) }),
            },
          },
        ]
      : [],
    outputs: [goldenOutput(ctx, input, producer)],
  });
  const events = [base('START', run.startedAt)];
  const terminal = TERMINAL[run.status];
  if (!terminal || !run.endedAt) return events;
  const end = base(terminal, run.endedAt);
  const rowsIn = sum(run.counts, ['recordsIn']);
  const rowsOut = sum(run.counts, ['recordsOut']) ?? sum(run.counts, ['created', 'linked', 'review']);
  if (rowsIn !== undefined && end.inputs[0])
    end.inputs[0].inputFacets = { inputStatistics: facet(producer, FACET_SCHEMAS.inputStatistics, { rowCount: rowsIn }) };
  if (rowsOut !== undefined)
    end.outputs[0]!.outputFacets = { outputStatistics: facet(producer, FACET_SCHEMAS.outputStatistics, { rowCount: rowsOut }) };
  if (terminal === 'FAIL') {
    const message =
      run.errors.length > 0
        ? run.errors
            .map((e) => `${e.field ? `${e.field}: ` : ''}${e.code}`)
            .slice(0, 20)
            .join('; ')
        : 'run failed';
    end.run.facets.errorMessage = facet(producer, FACET_SCHEMAS.errorMessage, { message, programmingLanguage: 'TypeScript' });
  }
  return [...events, end];
}

import { z } from 'zod';

/**
 * The required parts of the standard shapes the exports must satisfy, as zod schemas for tests. Taken from
 * the specifications' required fields: OpenLineage 2-0-2 RunEvent with the 1-2-0 columnLineage facet, and
 * FHIR R4 Provenance (cardinalities 1..1 and 1..* of https://hl7.org/fhir/R4/provenance.html).
 */

const uri = z.string().regex(/^[a-z][a-z0-9+.-]*:\S+$/i, 'must be a URI');
const BaseFacet = z.looseObject({ _producer: uri, _schemaURL: uri });
const Dataset = z.looseObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  facets: z.record(z.string(), BaseFacet).optional(),
});

export const ColumnLineageFacet = BaseFacet.extend({
  fields: z.record(
    z.string(),
    z.looseObject({
      inputFields: z.array(
        z.looseObject({
          namespace: z.string().min(1),
          name: z.string().min(1),
          field: z.string().min(1),
          transformations: z
            .array(z.looseObject({ type: z.enum(['DIRECT', 'INDIRECT']), subtype: z.string().optional(), masking: z.boolean().optional() }))
            .optional(),
        }),
      ),
    }),
  ),
});

export const OpenLineageRunEvent = z.looseObject({
  eventType: z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']),
  eventTime: z.iso.datetime({ offset: true }),
  producer: uri,
  schemaURL: uri,
  run: z.looseObject({ runId: z.uuid(), facets: z.record(z.string(), BaseFacet).optional() }),
  job: z.looseObject({ namespace: z.string().min(1), name: z.string().min(1), facets: z.record(z.string(), BaseFacet).optional() }),
  inputs: z.array(Dataset.extend({ inputFacets: z.record(z.string(), BaseFacet).optional() })).optional(),
  outputs: z.array(Dataset.extend({ outputFacets: z.record(z.string(), BaseFacet).optional() })).optional(),
});

const Coding = z.looseObject({ system: uri.optional(), code: z.string().min(1).optional(), display: z.string().optional() });
const CodeableConcept = z.looseObject({ coding: z.array(Coding).optional(), text: z.string().optional() });
const Reference = z
  .looseObject({
    reference: z.string().optional(),
    type: z.string().optional(),
    identifier: z.looseObject({ system: uri.optional(), value: z.string().min(1) }).optional(),
    display: z.string().optional(),
  })
  .refine(
    (r) => r.reference !== undefined || r.identifier !== undefined || r.display !== undefined,
    'a Reference needs a reference, identifier or display',
  );

/** FHIR R4 instant: a date-time to at least the second, with a time zone. */
const instant = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);

export const FhirProvenance = z.looseObject({
  resourceType: z.literal('Provenance'),
  id: z
    .string()
    .regex(/^[A-Za-z0-9\-.]{1,64}$/)
    .optional(),
  target: z.array(Reference).min(1),
  occurredPeriod: z.looseObject({ start: instant.optional(), end: instant.optional() }).optional(),
  recorded: instant,
  policy: z.array(uri).optional(),
  activity: CodeableConcept.optional(),
  agent: z.array(z.looseObject({ type: CodeableConcept.optional(), who: Reference })).min(1),
  entity: z
    .array(z.looseObject({ role: z.enum(['derivation', 'revision', 'quotation', 'source', 'removal']), what: Reference }))
    .optional(),
});

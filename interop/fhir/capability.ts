import { SEARCH_PARAMETERS } from './patient-search.ts';
import { PATIENT_LINKS_TOPIC } from './subscription.ts';
import type { CapabilityStatement } from './types.ts';

/** Backport IG: the topics a server offers, on its Subscription resource entry. */
const TOPIC_CANONICAL_EXTENSION =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';

export interface CapabilityOptions {
  /** When this statement was published (CapabilityStatement.date is required). */
  date: string;
  software?: { name: string; version?: string };
  /** Absolute base URL of the FHIR endpoint, e.g. https://mpi.example.org/fhir. */
  baseUrl?: string;
}

/**
 * The server's CapabilityStatement (hl7.org/fhir/R4/capabilitystatement.html): exactly what the handler serves.
 * Patient: read, vread, history-instance, create (conditional), update (conditional, update-as-create, If-Match),
 * delete, PDQm search (ITI-78), and the operations $match and $ihe-pix (PIXm ITI-83). JSON only.
 */
export function capabilityStatement(opts: CapabilityOptions): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: opts.date,
    kind: 'instance',
    software: opts.software ?? { name: 'mpi' },
    implementation: {
      description: 'Master patient index: source Patients stored and versioned, golden Patients, PDQm, PIXm and $match',
      ...(opts.baseUrl ? { url: opts.baseUrl } : {}),
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource: [
          {
            type: 'Patient',
            interaction: [
              { code: 'read' },
              { code: 'vread' },
              { code: 'history-instance' },
              { code: 'create' },
              { code: 'update' },
              { code: 'delete' },
              { code: 'search-type' },
            ],
            versioning: 'versioned-update',
            readHistory: true,
            // PUT with an id the index has not seen creates the source record under that id.
            updateCreate: true,
            conditionalCreate: true,
            conditionalUpdate: true,
            conditionalDelete: 'not-supported',
            searchParam: SEARCH_PARAMETERS.map((p) => ({ name: p.name, type: p.type })),
            operation: [
              {
                name: 'match',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
                documentation:
                  'Scores a Patient against the index; supports onlyCertainMatches and count. A known source identifier is a certain match.',
              },
              {
                name: 'ihe-pix',
                definition: 'https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix',
                documentation:
                  'PIXm (ITI-83): sourceIdentifier=system|value and optional targetSystem; the other identifiers of the person.',
              },
            ],
          },
          {
            // Topic-based (Backport IG) rest-hook subscriptions to the patient-links topic; admins manage them.
            extension: [{ url: TOPIC_CANONICAL_EXTENSION, valueCanonical: PATIENT_LINKS_TOPIC.url }],
            type: 'Subscription',
            interaction: [{ code: 'create' }, { code: 'read' }, { code: 'delete' }],
          },
        ],
      },
    ],
  };
}

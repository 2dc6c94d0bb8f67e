import type { CapabilityStatement } from './types.ts';

export interface CapabilityOptions {
  /** When this statement was published (CapabilityStatement.date is required). */
  date: string;
  software?: { name: string; version?: string };
  /** Absolute base URL of the FHIR endpoint, e.g. https://mpi.example.org/fhir. */
  baseUrl?: string;
}

/** The server's CapabilityStatement (hl7.org/fhir/R4/capabilitystatement.html): Patient read/create/update and $match. */
export function capabilityStatement(opts: CapabilityOptions): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: opts.date,
    kind: 'instance',
    software: opts.software ?? { name: 'mpi' },
    implementation: {
      description: 'Master patient index: Patient ingest, golden identity read and $match',
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
            interaction: [{ code: 'read' }, { code: 'create' }, { code: 'update' }],
            versioning: 'no-version',
            // PUT with an id the index has not seen creates the source record.
            updateCreate: true,
            operation: [
              {
                name: 'match',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
                documentation: 'Scores a Patient against the index; supports onlyCertainMatches and count.',
              },
            ],
          },
        ],
      },
    ],
  };
}

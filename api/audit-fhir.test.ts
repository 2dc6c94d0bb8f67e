import { describe, expect, test } from 'vitest';
import type { AuditRow } from '../platform/audit.ts';
import { toFhirAuditEvent } from './audit-fhir.ts';

const row = (overrides: Partial<AuditRow>): AuditRow => ({
  id: 7,
  at: new Date('2026-01-02T03:04:05Z'),
  actor: 'api-key:feed',
  role: 'pipeline',
  action: 'query:identity',
  objectType: 'identity',
  objectIds: [],
  fields: [],
  outcome: 'SUCCESS',
  requestId: null,
  clientAddress: null,
  details: {},
  prevHash: '0',
  hash: 'abc',
  keyId: null,
  ...overrides,
});

describe('audit entries as FHIR AuditEvent', () => {
  test.each([
    ['query:identity', 'R'],
    ['mutation:ingestRecord', 'C'],
    ['mutation:deleteRecord', 'D'],
    ['mutation:mergeIdentities', 'U'],
    ['authenticate', 'E'],
    ['fhir:read', 'R'],
    ['fhir:ingest', 'C'],
    ['fhir:match', 'E'],
    ['hl7:merge', 'U'],
  ])('maps action %s to AuditEvent.action %s', (action, code) => {
    expect(toFhirAuditEvent(row({ action })).action).toBe(code);
  });

  test.each([
    ['SUCCESS', '0'],
    ['DENIED', '4'],
    ['ERROR', '8'],
  ])('maps outcome %s to %s', (outcome, code) => {
    expect(toFhirAuditEvent(row({ outcome })).outcome).toBe(code);
  });

  test('names identities as Patient references and records by identifier, with the request id and client address', () => {
    const event = toFhirAuditEvent(
      row({ objectIds: ['identity:i-1', 'record:r-1'], requestId: 'req-1', clientAddress: '192.0.2.1', fields: ['ssn'] }),
    );
    expect(event.entity).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ what: { reference: 'Patient/i-1' } }),
        expect.objectContaining({ what: { identifier: { system: 'urn:mpi:source-record', value: 'r-1' } } }),
        expect.objectContaining({ what: { identifier: { system: 'urn:mpi:request-id', value: 'req-1' } } }),
      ]),
    );
    expect(event.agent).toEqual([
      expect.objectContaining({ who: { display: 'api-key:feed' }, network: { address: '192.0.2.1', type: '2' } }),
    ]);
    expect(event.recorded).toBe('2026-01-02T03:04:05.000Z');
  });
});

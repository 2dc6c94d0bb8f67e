import type { PatientVersion } from '../ports.ts';
import { DEFAULT_IDENTITY_SYSTEMS, demographics, SOURCE_TAG, type IdentitySystems } from './identity-to-patient.ts';
import { US_SSN_SYSTEM } from './patient-to-record.ts';
import type { Coding } from './types.ts';

/** Marks a resource whose demographics were masked for the caller (HL7 v3 ObservationValue REDACTED). */
export const REDACTED: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
  display: 'redacted',
};

export type PatientJson = Record<string, unknown> & { resourceType: 'Patient'; id: string };

/**
 * A source record's own Patient: the resource as its source sent it, with the server's `id` and `meta`
 * (versionId, lastUpdated, the source tag) and a `refer` link to the golden Patient it belongs to
 * (R4 Patient.link: "consult the other resource for more information"). A record that never came in as FHIR
 * is shown from its canonical fields. Null for a deleted version.
 */
export function sourcePatient(version: PatientVersion, systems: IdentitySystems = DEFAULT_IDENTITY_SYSTEMS): PatientJson | null {
  if (version.resource === null) return null;
  const body = version.canonical ? canonicalBody(version.canonical, systems) : withoutServerElements(version.resource);
  const links = Array.isArray(body.link) ? [...(body.link as unknown[])] : [];
  const golden = `Patient/${version.identityId}`;
  if (version.identityId && !links.some((l) => (l as { other?: { reference?: string } }).other?.reference === golden)) {
    links.push({ other: { reference: golden }, type: 'refer' });
  }
  return {
    resourceType: 'Patient',
    id: version.id,
    meta: {
      versionId: String(version.versionId),
      lastUpdated: version.lastUpdated,
      tag: [{ ...SOURCE_TAG }],
      ...(version.masked ? { security: [REDACTED] } : {}),
    },
    ...body,
    ...(links.length > 0 ? { link: links } : {}),
  };
}

/** The stored resource without what the server owns. */
export function withoutServerElements(resource: Record<string, unknown>): Record<string, unknown> {
  const { resourceType: _type, id: _id, meta: _meta, ...rest } = resource;
  return rest;
}

function canonicalBody(canonical: NonNullable<PatientVersion['canonical']>, systems: IdentitySystems): Record<string, unknown> {
  const { ref, record } = canonical;
  const identifier: Array<Record<string, string>> = [
    { system: ref.system ?? `${systems.sourceSystemPrefix}${ref.source}`, value: ref.localId },
  ];
  if (record.ssn) identifier.push({ system: US_SSN_SYSTEM, value: record.ssn });
  return { identifier, ...demographics(record) };
}

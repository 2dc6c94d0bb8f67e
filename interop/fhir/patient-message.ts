import type { RecordInput } from '../ports.ts';
import { isRedacted } from './patient-rest.ts';
import { parsePatient } from './patient-schema.ts';
import { isSourceCandidate, patientToRecord } from './patient-to-record.ts';
import type { OperationOutcomeIssue } from './types.ts';
import { validateR4 } from './validate.ts';

/** A Patient sent as a message, as the record of the source the message is addressed to, or why it is none. */
export type PatientMessage = { ok: true; localId: string; record: RecordInput } | { ok: false; field: string; message: string };

/**
 * Reads a FHIR R4 Patient sent as a message to one source (NATS JetStream ingest, `<prefix>.ingest.<source>`). The
 * source's registered identifier system (`system`) names the record: the Patient's identifier of that system
 * (not `old`) gives the local id, as the identifier of a registered system does in a FHIR create. The Patient is
 * checked and mapped as FHIR create checks and maps it (`validateR4`, `parsePatient`, `patientToRecord`); a
 * Patient read masked (the REDACTED label) is refused, since writing it back would store the masks. Call
 * `r4DefinitionsLoading` first where the definitions load in the background.
 */
export function patientMessageToRecord(body: unknown, system: string | null): PatientMessage {
  // The structure FHIR create checks first (R4's definitions: unknown elements, wrong types, empty values).
  const structural = validateR4(body, 'Patient');
  if (structural.length > 0) return refusal(structural[0]);
  if (isRedacted(body)) {
    return {
      ok: false,
      field: 'Patient.meta.security',
      message: 'this Patient was read with its demographics masked (security label REDACTED); send the real values without the label',
    };
  }
  const parsed = parsePatient(body);
  if (!parsed.ok) return refusal(parsed.issues[0]);
  if (system === null) {
    return {
      ok: false,
      field: 'Patient.identifier',
      message: 'the source has no identifier system registered, so no identifier of the Patient names its record',
    };
  }
  const identifiers = parsed.value.identifier ?? [];
  const index = identifiers.findIndex((i) => i.system === system && isSourceCandidate(i));
  if (index < 0) {
    return { ok: false, field: 'Patient.identifier', message: `no identifier has the system registered for the source (${system})` };
  }
  const { record, issues } = patientToRecord(parsed.value);
  if (issues.length > 0) return refusal(issues[0]);
  return { ok: true, localId: identifiers[index]!.value!.trim(), record };
}

function refusal(issue: OperationOutcomeIssue | undefined): PatientMessage {
  return { ok: false, field: issue?.expression?.[0] ?? 'Patient', message: issue?.diagnostics ?? 'is not a valid Patient' };
}

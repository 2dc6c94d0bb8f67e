/**
 * Interoperability: FHIR R4 Patient and $match over HTTP, HL7 v2 ADT over MLLP or files. Everything here talks
 * to the identity service only through InteropPort (ports.ts).
 */
export * from './ports.ts';

export { createFhirHandler, databaseUnavailable, FHIR_JSON, type FhirHandler, type FhirHandlerOptions } from './fhir/handler.ts';
export { parsePatient, type FhirPatientInput } from './fhir/patient-schema.ts';
export { patientToRecord, resolveSourceIdentifier, US_SSN_SYSTEM } from './fhir/patient-to-record.ts';
export { patientMessageToRecord, type PatientMessage } from './fhir/patient-message.ts';
export { demographics, identityToPatient, DEFAULT_IDENTITY_SYSTEMS, type IdentitySystems } from './fhir/identity-to-patient.ts';
export { parseMatchParameters, matchBundle, MATCH_GRADE_EXTENSION, type MatchRequest } from './fhir/match.ts';
export { capabilityStatement } from './fhir/capability.ts';
export {
  notificationBundle,
  parseSubscription,
  subscriptionResource,
  PATIENT_LINKS_TOPIC,
  DEMOGRAPHICS_ROLE_EXTENSION,
  PAYLOAD_CONTENT_EXTENSION,
  type NotificationEvent,
  type NotificationSubscription,
} from './fhir/subscription.ts';
export { loadR4Definitions, loadR4DefinitionsInBackground, r4DefinitionsLoading, validateR4 } from './fhir/validate.ts';
export { operationOutcome, errorIssue, FhirError } from './fhir/operation-outcome.ts';
export type * from './fhir/types.ts';

export { createHl7Handler, messageRefs, oversizedAck, type Hl7Handler, type Hl7HandlerOptions, type Hl7Result } from './hl7/handler.ts';
export { parseHl7, Hl7ParseError, type Hl7Message, type Delimiters } from './hl7/message.ts';
export { adtCommands, readHeader, SUPPORTED_EVENTS, UPSERT_EVENTS, type AdtCommand } from './hl7/adt.ts';
export { buildAck, type AckCode } from './hl7/ack.ts';
export { HL7_ERROR, Hl7Error } from './hl7/errors.ts';

export { startMllpServer, type MllpServer, type MllpServerOptions, type MllpHandle, type MllpConnectionInfo } from './mllp/server.ts';
export { sendMllp, connectMllp, type MllpClient, type MllpClientOptions } from './mllp/client.ts';
export { importHl7File, Hl7ImportError, type Hl7ImportSummary } from './mllp/file-import.ts';
export { frameMllp, MllpDecoder, MllpFrameTooLargeError } from './mllp/framing.ts';

export * from './patient-store.ts';
export { checkIfMatch, PatientResourceService } from './patient-resources.ts';
export {
  appendVersion,
  historyOf,
  insertVersion,
  recordResource,
  recordResourceByRef,
  resourceIdsOfRecords,
  searchPage,
  versionOf,
  type PatientVersionRow,
  type RecordCriteria,
  type RecordResourceRow,
  type SearchKind,
  type SearchPageRows,
} from './patient-store.ts';
export { DeadLetterService } from './dead-letters.ts';
export {
  DEAD_LETTER_CHANNELS,
  DEAD_LETTER_STATUSES,
  getDeadLetter,
  listDeadLetters,
  moveDeadLetter,
  saveDeadLetter,
  updateDeadLetter,
  type DeadLetterChannel,
  type DeadLetterRow,
  type DeadLetterStatus,
} from './dead-letter-store.ts';

/**
 * The narrow interface the interoperability layer needs from the identity service.
 *
 * FHIR, HL7v2 and MLLP code depends only on this file; the service implements it. Every method takes the
 * caller's context first (authenticated actor, role, request id, audit sink): the protocol layer never looks
 * inside it, it only hands it on, so authentication and audit stay with the service.
 */
import type { Grade, RecordInput } from '../matching/index.ts';

/**
 * Canonical record fields, the engine's own type: null/undefined = missing. Over the port `birthDate` is an
 * ISO `YYYY-MM-DD` date.
 */
export type { RecordInput };

/** One patient as one feeding system knows it: the registered source code and that system's own ID. */
export interface SourceRef {
  source: string;
  localId: string;
}

export interface SourceRecordInput extends RecordInput, SourceRef {}

export type IngestOutcome = 'LINKED' | 'CREATED' | 'REVIEW' | 'UNCHANGED';

export interface IngestResult {
  outcome: IngestOutcome;
  recordId: string;
  identityId: string;
}

export type MatchGrade = Grade;

export interface MatchOptions {
  /** Upper bound on the number of candidates. */
  count?: number;
  /** Only candidates graded CERTAIN. */
  onlyCertain?: boolean;
}

export interface MatchCandidate {
  identity: GoldenIdentityView;
  /** Posterior match probability in [0, 1]. */
  probability: number;
  grade: MatchGrade;
}

/** A golden (enterprise) identity as the protocol layer shows it. */
export interface GoldenIdentityView {
  id: string;
  status: 'ACTIVE' | 'MERGED';
  /** For a MERGED identity: the surviving identity at the end of the merge chain. */
  mergedInto?: string | null;
  /** Identities merged into this one. */
  replaces: string[];
  golden: RecordInput;
  /**
   * Source records linked to the identity; `system` is the source's registered FHIR identifier system,
   * `resourceId` the id of the record's own Patient resource.
   */
  records: Array<SourceRef & { system?: string | null; resourceId?: string }>;
  /** ISO 8601 instant. */
  updatedAt: string;
  /** Increases with every change of the golden record (meta.versionId of the golden Patient). */
  version?: number;
}

/** One version of a source record's own Patient resource. */
export interface PatientVersion {
  id: string;
  versionId: number;
  /** ISO 8601 instant the version was stored. */
  lastUpdated: string;
  /**
   * The resource as the client sent it (without `id` and `meta`), masked for roles without full access;
   * null for a version that records a deletion. A record that came in by HL7 or GraphQL and was never written
   * as FHIR has no stored resource: `canonical` carries its fields instead and the FHIR layer builds one.
   */
  resource: Record<string, unknown> | null;
  canonical?: { ref: SourceRef & { system?: string | null }; record: RecordInput };
  /** The golden identity the record belongs to now (after merges), when it is linked. */
  identityId: string | null;
  /** Demographics were masked for the caller's role. */
  masked?: boolean;
}

/** A create or update of a source record's Patient resource. */
export interface PatientWrite {
  ref: SourceRef;
  record: RecordInput;
  /** The resource as sent, without `id` and `meta`. */
  resource: Record<string, unknown>;
  /** The resource id for an update (or update-as-create); absent for a create, where the server assigns it. */
  id?: string;
  /** `If-Match`: the version the client last read; a different current version fails with PRECONDITION_FAILED. */
  ifMatch?: number;
}

export interface PatientWriteResult {
  version: PatientVersion;
  /** A new resource (201) rather than a new version of an existing one. */
  created: boolean;
  outcome: IngestOutcome;
  recordId: string;
  identityId: string;
}

/** Search parameters of PDQm (IHE ITI-78), already parsed; strings are matched case-insensitively. */
export interface PatientQuery {
  family?: string;
  given?: string;
  /** Any part of a name: family or given. */
  name?: string;
  birthDate?: string;
  /** M, F or O. */
  sex?: string;
  identifier?: { system?: string; value: string };
  /** An enterprise identifier (the golden identity's id): its identity and that identity's records. */
  identityId?: string;
  postalCode?: string;
  /** Digits of a phone number or an email address. */
  telecom?: string;
  id?: string;
  active?: boolean;
  /** Which Patients: source records, golden identities, or both. */
  kind: 'source' | 'golden' | 'any';
  count: number;
  offset: number;
}

export type PatientSearchHit = { kind: 'source'; version: PatientVersion } | { kind: 'golden'; identity: GoldenIdentityView };

export interface PatientSearchResult {
  hits: PatientSearchHit[];
  /** Whether there are more hits after this page. */
  more: boolean;
}

/** PIXm: the person an identifier belongs to, with every identifier they have (ITI-83). */
export interface CrossReference {
  identity: GoldenIdentityView;
}

/** What a FHIR rest-hook notification carries (Backport IG payload content). */
export type SubscriptionPayload = 'empty' | 'id-only' | 'full-resource';

/** A FHIR Subscription as the port registers it: a delivery endpoint for the events of one topic. */
export interface SubscriptionInput {
  url: string;
  reason: string;
  payload: SubscriptionPayload;
  /** Sent with every notification (e.g. the subscriber's own Authorization). */
  headers: Record<string, string>;
  /** Notifications carry demographics masked for this role; null: none. */
  demographicsRole: string | null;
  /** The change event types of the topic. */
  eventTypes: string[];
  /** The FHIR base URL the subscription was created at; notifications reference resources under it. */
  baseUrl: string;
}

export interface SubscriptionView {
  id: string;
  status: 'requested' | 'active' | 'error' | 'off';
  url: string;
  reason: string;
  payload: SubscriptionPayload;
  demographicsRole: string | null;
  /** The last delivery failure while the subscription is in error (no response body, only a status or cause). */
  error?: string | null;
}

export interface InteropPort<C = unknown> {
  /** Idempotent upsert of one source record, then matching. */
  ingest(ctx: C, input: SourceRecordInput): Promise<IngestResult>;
  /** Soft-deletes a source record (HL7 A29). */
  deleteRecord(ctx: C, ref: SourceRef): Promise<void>;
  /** Merges the identity holding `merged` into the identity holding `survivor` (HL7 A40). */
  mergeBySourceIds(ctx: C, survivor: SourceRef, merged: SourceRef, reason: string): Promise<{ survivorIdentityId: string }>;
  /** Splits one source record off its identity into a new one (HL7 A37). */
  unlinkBySourceIds(ctx: C, record: SourceRef, reason: string): Promise<{ identityId: string }>;
  /** Scores a probe record against the index, best first. */
  match(ctx: C, input: RecordInput, opts: MatchOptions): Promise<MatchCandidate[]>;
  /**
   * The identity with exactly this id, whatever its status (a MERGED one carries `mergedInto`), or null.
   * The FHIR layer turns a MERGED identity into a Patient with a `replaced-by` link.
   */
  getIdentity(ctx: C, id: string): Promise<GoldenIdentityView | null>;
  /** Maps a FHIR identifier system (or `urn:oid:` of an HL7 universal ID) to a registered source code. */
  sourceForSystem(ctx: C, system: string): Promise<string | null>;
  /** Ingests a source record and stores its Patient resource as a new version, in one transaction. */
  writePatient(ctx: C, write: PatientWrite): Promise<PatientWriteResult>;
  /**
   * Elements of a Patient about to be written (`name[0].family`) that hold the masked form of the stored
   * record's values, for a caller that reads demographics masked; empty when there are none. Checked before
   * anything else about the values, so a read → edit → PUT of a masked read is refused for what it is.
   */
  maskedElements?(ctx: C, ref: SourceRef, resource: Record<string, unknown>): Promise<string[]>;
  /** The current version of a source record's Patient (or `versionId`), or null when there is none. */
  readPatient(ctx: C, id: string, versionId?: number): Promise<PatientVersion | null>;
  /** Every version of a source record's Patient, newest first (empty when unknown). */
  patientHistory(ctx: C, id: string): Promise<PatientVersion[]>;
  /** The Patient resource id of a source record, or null when the record is unknown. */
  patientIdOf(ctx: C, ref: SourceRef): Promise<string | null>;
  /** Deletes a source record by its Patient id and records a deletion version; `ifMatch` as for writes. */
  deletePatient(ctx: C, id: string, ifMatch?: number): Promise<PatientVersion>;
  /** PDQm search over source records and golden identities. */
  searchPatients(ctx: C, query: PatientQuery): Promise<PatientSearchResult>;
  /** PIXm: the identity holding a source identifier (or null when no source record has it). */
  crossReference(ctx: C, ref: SourceRef): Promise<CrossReference | null>;
  /** Registers a FHIR rest-hook subscription (its URL checked against the webhook allow-list). */
  createSubscription(ctx: C, input: SubscriptionInput): Promise<SubscriptionView>;
  /** A subscription by id, or null when unknown or deleted. */
  readSubscription(ctx: C, id: string): Promise<SubscriptionView | null>;
  /** Stops and deletes a subscription; false when there was none. */
  deleteSubscription(ctx: C, id: string): Promise<boolean>;
}

/**
 * Error codes the protocol layer understands from the port (the same codes as platform/errors.ts). The service
 * throws its own DomainError subclasses; any error whose `code` is not listed here is treated as an internal
 * failure and its message is not shown.
 */
export const PORT_ERROR_CODES = [
  'UNKNOWN_SOURCE',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'PRECONDITION_FAILED',
  'GONE',
] as const;
export type PortErrorCode = (typeof PORT_ERROR_CODES)[number];

/** One invalid field in a VALIDATION_FAILED error: canonical field name and a value-free message. */
export interface PortFieldProblem {
  field: string;
  message: string;
}

/** An expected refusal by the service, as the protocol layer reads it. */
export interface PortFailure extends Error {
  code: PortErrorCode;
  /** Canonical field name when the problem is one field, e.g. `birthDate`. */
  field?: string | undefined;
  problems?: PortFieldProblem[];
}

/** An expected refusal by the service. `message` names the field and problem, never patient data. */
export class PortError extends Error implements PortFailure {
  override readonly name = 'PortError';
  readonly problems?: PortFieldProblem[];
  constructor(
    readonly code: PortErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown; problems?: PortFieldProblem[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.problems) this.problems = options.problems;
  }
}

/** True for a PortError or any error whose `code` is a known port error code (e.g. the service's DomainError). */
export function isPortError(err: unknown): err is PortFailure {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (PORT_ERROR_CODES as readonly string[]).includes(code);
}

/** The per-field problems of a port failure: its `problems`, else its single `field`, else none. */
export function problemsOf(err: PortFailure): PortFieldProblem[] {
  if (Array.isArray(err.problems) && err.problems.length > 0) return err.problems;
  return err.field ? [{ field: err.field, message: err.message }] : [];
}

/**
 * The FHIR R4 shapes this layer writes. Only the elements we produce are typed; incoming resources are typed
 * from their zod schemas (patient-schema.ts). Names follow the R4 specification (hl7.org/fhir/R4).
 */

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}

export interface Reference {
  reference?: string;
  display?: string;
}

export interface Extension {
  url: string;
  valueCode?: string;
}

export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  tag?: Coding[];
  security?: Coding[];
}

export interface Identifier {
  use?: 'usual' | 'official' | 'temp' | 'secondary' | 'old';
  type?: CodeableConcept;
  system?: string;
  value?: string;
}

export interface HumanName {
  use?: 'usual' | 'official' | 'temp' | 'nickname' | 'anonymous' | 'old' | 'maiden';
  family?: string;
  given?: string[];
  prefix?: string[];
  suffix?: string[];
}

export interface ContactPoint {
  system?: 'phone' | 'fax' | 'email' | 'pager' | 'url' | 'sms' | 'other';
  value?: string;
  use?: 'home' | 'work' | 'temp' | 'old' | 'mobile';
}

export interface Address {
  use?: 'home' | 'work' | 'temp' | 'old' | 'billing';
  line?: string[];
  city?: string;
  state?: string;
  postalCode?: string;
}

export type AdministrativeGender = 'male' | 'female' | 'other' | 'unknown';

/** R4 Patient.link.type (http://hl7.org/fhir/R4/valueset-link-type.html). */
export type PatientLinkType = 'replaced-by' | 'replaces' | 'refer' | 'seealso';

export interface Patient {
  resourceType: 'Patient';
  id?: string;
  meta?: Meta;
  identifier?: Identifier[];
  active?: boolean;
  name?: HumanName[];
  telecom?: ContactPoint[];
  gender?: AdministrativeGender;
  birthDate?: string;
  address?: Address[];
  link?: Array<{ other: Reference; type: PatientLinkType }>;
}

/** R4 issue-type value set (http://hl7.org/fhir/R4/valueset-issue-type.html), the codes we use. */
export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'processing'
  | 'not-supported'
  | 'not-found'
  | 'conflict'
  | 'too-long'
  | 'business-rule'
  | 'exception'
  | 'informational'
  | 'code-invalid'
  | 'deleted'
  | 'transient';

export interface OperationOutcomeIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: IssueType;
  diagnostics?: string;
  /** FHIRPath of the offending element, e.g. `Patient.identifier[0].system`. */
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OperationOutcomeIssue[];
}

export interface BundleEntry {
  fullUrl?: string;
  resource?: Patient;
  search?: { mode?: 'match' | 'include' | 'outcome'; score?: number; extension?: Extension[] };
}

export interface Bundle {
  resourceType: 'Bundle';
  type: 'searchset';
  total?: number;
  entry?: BundleEntry[];
}

export interface CapabilityStatement {
  resourceType: 'CapabilityStatement';
  status: 'draft' | 'active' | 'retired' | 'unknown';
  date: string;
  kind: 'instance' | 'capability' | 'requirements';
  software?: { name: string; version?: string };
  implementation?: { description: string; url?: string };
  fhirVersion: string;
  format: string[];
  rest: Array<{
    mode: 'server' | 'client';
    resource: Array<{
      extension?: Array<{ url: string; valueCanonical: string }>;
      type: string;
      interaction: Array<{ code: 'read' | 'vread' | 'history-instance' | 'create' | 'update' | 'delete' | 'search-type' }>;
      versioning?: 'no-version' | 'versioned' | 'versioned-update';
      readHistory?: boolean;
      updateCreate?: boolean;
      conditionalCreate?: boolean;
      conditionalUpdate?: boolean;
      conditionalDelete?: 'not-supported' | 'single' | 'multiple';
      searchParam?: Array<{ name: string; type: string }>;
      operation?: Array<{ name: string; definition: string; documentation?: string }>;
    }>;
    operation?: Array<{ name: string; definition: string }>;
  }>;
}

import { z } from 'zod';
import { isCalendarDay } from '../values.ts';
import { errorIssue } from './operation-outcome.ts';
import type { IssueType, OperationOutcomeIssue } from './types.ts';

/*
 * Zod schemas for the parts of an R4 Patient we read. Primitive patterns come from the R4 datatypes page
 * (hl7.org/fhir/R4/datatypes.html). Objects are loose: elements we do not use (extension, meta, contact...)
 * pass through unchecked, as a server that ignores unknown content may do.
 */

const nonBlank = z.string().refine((s) => s.trim().length > 0, { error: 'must not be empty' });
const uri = z.string().regex(/^\S+$/, { error: 'must be a URI without whitespace' });
const id = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, { error: 'must be 1-64 letters, digits, - or .' });

/** R4 `date`: YYYY, YYYY-MM or YYYY-MM-DD; a full date must exist on the calendar. */
const R4_DATE = /^([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$/;
export const fhirDate = z
  .string()
  .regex(R4_DATE, { error: 'must be a date YYYY, YYYY-MM or YYYY-MM-DD' })
  // The pattern keeps the month in 01-12, so a date it lets through that is no day has a day out of range:
  // said in the words every channel uses (matching's isoDateProblem).
  .refine(isCalendarDate, { error: 'day is out of range for its month' });

/** True when a YYYY-MM-DD string (or a partial date) names a real day. */
export function isCalendarDate(value: string): boolean {
  const m = R4_DATE.exec(value);
  if (!m) return false;
  if (m[5] === undefined) return true;
  return isCalendarDay(Number(m[1]), Number(m[3]), Number(m[5]));
}

const list = <T extends z.ZodType>(item: T) => z.array(item).min(1, { error: 'must not be an empty array' });

const identifierSchema = z.looseObject({
  use: z.enum(['usual', 'official', 'temp', 'secondary', 'old']).optional(),
  system: uri.optional(),
  value: nonBlank.optional(),
});

const humanNameSchema = z.looseObject({
  use: z.enum(['usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden']).optional(),
  text: nonBlank.optional(),
  family: nonBlank.optional(),
  given: list(nonBlank).optional(),
  prefix: list(nonBlank).optional(),
  suffix: list(nonBlank).optional(),
});

const contactPointSchema = z.looseObject({
  system: z.enum(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']).optional(),
  value: nonBlank.optional(),
  use: z.enum(['home', 'work', 'temp', 'old', 'mobile']).optional(),
  rank: z.number().int().positive().optional(),
});

const addressSchema = z.looseObject({
  use: z.enum(['home', 'work', 'temp', 'old', 'billing']).optional(),
  type: z.enum(['postal', 'physical', 'both']).optional(),
  text: nonBlank.optional(),
  line: list(nonBlank).optional(),
  city: nonBlank.optional(),
  district: nonBlank.optional(),
  state: nonBlank.optional(),
  postalCode: nonBlank.optional(),
  country: nonBlank.optional(),
});

export const patientSchema = z.looseObject({
  resourceType: z.literal('Patient'),
  id: id.optional(),
  identifier: list(identifierSchema).optional(),
  active: z.boolean().optional(),
  name: list(humanNameSchema).optional(),
  telecom: list(contactPointSchema).optional(),
  gender: z.enum(['male', 'female', 'other', 'unknown']).optional(),
  birthDate: fhirDate.optional(),
  address: list(addressSchema).optional(),
});

export type FhirPatientInput = z.infer<typeof patientSchema>;
export type FhirIdentifierInput = z.infer<typeof identifierSchema>;
export type FhirHumanNameInput = z.infer<typeof humanNameSchema>;
export type FhirContactPointInput = z.infer<typeof contactPointSchema>;
export type FhirAddressInput = z.infer<typeof addressSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: OperationOutcomeIssue[] };

/**
 * Validates a Patient; on failure every problem becomes one OperationOutcome issue whose expression is the
 * FHIRPath of the element under `root` (e.g. `Patient.birthDate`). Messages never contain the input value.
 */
export function parsePatient(body: unknown, root = 'Patient'): ParseResult<FhirPatientInput> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, issues: [errorIssue('structure', 'resource must be a JSON object', root)] };
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType !== 'Patient') {
    return { ok: false, issues: [errorIssue('invalid', 'resourceType must be Patient', `${root}.resourceType`)] };
  }
  const result = patientSchema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: result.error.issues.map((issue) => zodIssueToOutcome(issue, root)) };
}

/** FHIRPath for a zod path: `['identifier', 0, 'system']` -> `Patient.identifier[0].system`. */
export function fhirPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), root);
}

function zodIssueToOutcome(issue: z.core.$ZodIssue, root: string): OperationOutcomeIssue {
  const expression = fhirPath(root, issue.path);
  return errorIssue(issueType(issue), describe(issue), expression);
}

function issueType(issue: z.core.$ZodIssue): IssueType {
  switch (issue.code) {
    case 'invalid_type':
      return 'structure';
    case 'too_small':
    case 'too_big':
      return issue.origin === 'array' ? 'structure' : 'value';
    default:
      return 'value';
  }
}

// Our own wording, so that no message can echo the submitted value.
function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be of type ${issue.expected}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array' ? 'must not be an empty array' : 'is too small';
    case 'too_big':
      return 'is too large';
    case 'invalid_format':
    case 'custom':
      // Every pattern and refinement in this file carries its own value-free message.
      return issue.message;
    default:
      return 'is invalid';
  }
}

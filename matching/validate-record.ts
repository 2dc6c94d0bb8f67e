import { CANONICAL_FIELD_DEFINITIONS } from './fields.ts';
import { cleanSex } from './normalise-contact.ts';
import { cleanBirthDate, isoDateProblem, toIsoDate } from './normalise-date.ts';
import type { FieldIssue } from './normalise-name.ts';
import type { RecordInput } from './normalise.ts';
import { textProblem } from './text-policy.ts';

/**
 * One value the service refuses: the canonical field, a code of the error vocabulary (`platform/error-codes.ts`)
 * and what is wrong with the value, never the value itself. The one set of record rules every channel applies:
 * GraphQL, FHIR and HL7 through `IdentityService.prepare`, `mpi import` and `mpi load` through the same service,
 * and `mpi link` offline through `recordProblems`.
 */
export interface ValueProblem {
  field: string;
  code: string;
  message: string;
}

/** Longest source code or local id the service stores. */
export const MAX_ID_LENGTH = 128;

/**
 * What is wrong with a source code or local id that is not blank (a blank one is a missing one), or null: too long,
 * or a character the text policy refuses (an id is one line of text). `mpi link` leaves out a row whose id has
 * one, as the service refuses such a record.
 */
export function idProblem(value: string): { code: 'TOO_LONG' | 'INVALID_CHARACTERS'; message: string } | null {
  if (value.length > MAX_ID_LENGTH) return { code: 'TOO_LONG', message: `must be at most ${MAX_ID_LENGTH} characters` };
  return textProblem(value);
}

/** Normaliser issues that refuse the record rather than drop the value: an impossible, implausible or future birth date; an unknown sex code. */
export function isRefusingIssue(issue: FieldIssue): boolean {
  return issue.code === 'INVALID_DATE' || issue.code === 'FUTURE_DATE' || (issue.field === 'sex' && issue.code === 'INVALID');
}

/** A normaliser issue in the words every channel reports it with: its message without the leading field name. */
export function issueProblem(issue: FieldIssue): ValueProblem {
  return { field: issue.field, code: issue.code, message: issue.message.replace(new RegExp(`^${issue.field}\\s*`), '') || issue.code };
}

/**
 * Type, length and characters of every canonical field of `input`, then the ISO form of dates (once every field
 * has its type, so a bad type is reported alone): every problem at once, in field order.
 */
export function fieldProblems(input: Readonly<Record<string, unknown>>): ValueProblem[] {
  const problems: ValueProblem[] = [];
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') problems.push({ field, code: 'INVALID_TYPE', message: 'must be a string' });
    else if (value.length > validation.maxLength)
      problems.push({ field, code: 'TOO_LONG', message: `must be at most ${validation.maxLength} characters` });
    else {
      // A demographic field is one line of text: the character policy without tabs or line breaks.
      const problem = textProblem(value);
      if (problem) problems.push({ field, ...problem });
    }
  }
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (validation.format !== 'isoDate' || typeof value !== 'string') continue;
    const text = value.trim();
    const problem = text ? isoDateProblem(text) : null;
    // A well-formed but implausible date (too early, in the future) is the normaliser's to report.
    if (problem) problems.push({ field, code: 'INVALID_DATE', message: problem });
  }
  return problems;
}

/**
 * A CSV row's fields as the API takes them: a real full birth date in any layout CSV files use (YYYYMMDD,
 * MM/DD/YYYY, ...) becomes YYYY-MM-DD; any other value is left as it is, to be judged by `recordProblems`.
 */
export function fromCsvLayouts<T extends RecordInput>(input: T): T {
  const raw = input.birthDate;
  if (typeof raw !== 'string' || raw.trim() === '') return input;
  const iso = toIsoDate(raw);
  return iso === null ? input : { ...input, birthDate: iso };
}

/**
 * Everything the service refuses in a record, in its words and order (as `IdentityService.prepare` finds them):
 * the fields' shape first; when that passes, what normalising reveals (a birth date too early or in the future,
 * an unknown sex code). `asOf` (ISO date, from the caller: the core has no clock) enables FUTURE_DATE.
 */
export function recordProblems(input: RecordInput, asOf?: string): ValueProblem[] {
  const shape = fieldProblems(input);
  if (shape.length > 0) return shape;
  const problems: ValueProblem[] = [];
  for (const issue of [cleanBirthDate(input.birthDate, 'birthDate', asOf).issue, cleanSex(input.sex).issue]) {
    if (issue && isRefusingIssue(issue)) problems.push(issueProblem(issue));
  }
  return problems;
}

import { CANONICAL_FIELD_DEFINITIONS, CANONICAL_FIELDS, cleanBirthDate, MAX_FIELD_LENGTH } from '../matching/index.ts';
import { isErrorCode } from '../platform/error-codes.ts';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import type { SourceRecordInput } from './types.ts';

/** The canonical fields an input carries, each with its validation (`matching/fields.ts`). */
export const TEXT_FIELDS = CANONICAL_FIELDS;
export { MAX_FIELD_LENGTH };
export const MAX_ID_LENGTH = 128;
/** Normaliser issue codes that reject the record rather than drop the value (see matching/normalise). */
const REJECTING_CODES = new Set(['INVALID_DATE', 'FUTURE_DATE']);
/**
 * Characters no single-line demographic field carries: C0 controls and DEL (line breaks included), the Unicode
 * line and paragraph separators, bidirectional overrides and isolates (which can disguise text), and the
 * zero-width space and byte-order mark. Zero-width (non-)joiners stay: some scripts need them in names.
 */
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\ufeff]/;
/** ISO calendar date, as the API contract says birthDate is sent. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Why a birth date that is not YYYY-MM-DD was refused, in the normaliser's words, so the API, `mpi import` and
 * `mpi link` say the same thing about the same value: an impossible date (`19551192`) is out of range, not
 * merely in another layout; a real date in another layout only needs to be sent as YYYY-MM-DD.
 */
function notIsoDateMessage(text: string): string {
  const { issue } = cleanBirthDate(text, 'birthDate');
  return issue && issue.code === 'INVALID_DATE' && !issue.message.endsWith('layout')
    ? issue.message.replace(/^birthDate\s*/, '')
    : 'must be an ISO date (YYYY-MM-DD)';
}

/** Checks shape and lengths before anything else; every problem is reported at once. */
export function checkInputShape(input: SourceRecordInput, path = 'input'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const key of ['source', 'localId'] as const) {
    const value = input[key];
    if (typeof value !== 'string' || value.trim() === '')
      problems.push({ field: `${path}.${key}`, code: 'REQUIRED', message: 'is required' });
    else if (value.length > MAX_ID_LENGTH)
      problems.push({ field: `${path}.${key}`, code: 'TOO_LONG', message: `must be at most ${MAX_ID_LENGTH} characters` });
    else if (FORBIDDEN_CHARACTERS.test(value))
      problems.push({
        field: `${path}.${key}`,
        code: 'INVALID_CHARACTERS',
        message: 'must not contain control, line-break or bidirectional-override characters',
      });
  }
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') problems.push({ field: `${path}.${field}`, code: 'INVALID_TYPE', message: 'must be a string' });
    else if (value.length > validation.maxLength)
      problems.push({ field: `${path}.${field}`, code: 'TOO_LONG', message: `must be at most ${validation.maxLength} characters` });
    else if (FORBIDDEN_CHARACTERS.test(value))
      problems.push({
        field: `${path}.${field}`,
        code: 'INVALID_CHARACTERS',
        message: 'must not contain control, line-break or bidirectional-override characters',
      });
  }
  // Formats are checked once every field has its type, so a bad type is reported alone.
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (validation.format !== 'isoDate' || typeof value !== 'string') continue;
    const text = value.trim();
    if (text && !ISO_DATE.test(text)) problems.push({ field: `${path}.${field}`, code: 'INVALID_DATE', message: notIsoDateMessage(text) });
  }
  return problems;
}

/** Splits normaliser issues into the ones that reject the record and the ones kept as warnings. */
export function classifyIssues(
  issues: Array<{ field: string; code: string; message: string }>,
  path = 'input',
): { errors: FieldProblem[]; warnings: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const warnings: FieldProblem[] = [];
  for (const issue of issues) {
    const problem = {
      field: `${path}.${issue.field}`,
      code: isErrorCode(issue.code) ? issue.code : ('INVALID' as const),
      message: issue.message.replace(new RegExp(`^${issue.field}\\s*`), '') || issue.code,
    };
    const rejecting = REJECTING_CODES.has(issue.code) || (issue.field === 'sex' && issue.code === 'INVALID');
    (rejecting ? errors : warnings).push(problem);
  }
  return { errors, warnings };
}

export function throwIfProblems(problems: FieldProblem[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Trimmed strings with blanks turned into null: the record as stored. */
export function cleanInput(input: SourceRecordInput): Record<(typeof TEXT_FIELDS)[number], string | null> {
  return Object.fromEntries(
    TEXT_FIELDS.map((f) => {
      const v = input[f];
      return [f, typeof v === 'string' && v.trim() !== '' ? v.trim() : null];
    }),
  ) as Record<(typeof TEXT_FIELDS)[number], string | null>;
}

import { CANONICAL_FIELD_DEFINITIONS, CANONICAL_FIELDS, isoDateProblem, MAX_FIELD_LENGTH } from '../matching/index.ts';
import { isErrorCode } from '../platform/error-codes.ts';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import { textProblem } from '../platform/text-policy.ts';
import type { SourceRecordInput } from './types.ts';

/** The canonical fields an input carries, each with its validation (`matching/fields.ts`). */
export const TEXT_FIELDS = CANONICAL_FIELDS;
export { MAX_FIELD_LENGTH };
export const MAX_ID_LENGTH = 128;
/** Normaliser issue codes that reject the record rather than drop the value (see matching/normalise). */
const REJECTING_CODES = new Set(['INVALID_DATE', 'FUTURE_DATE']);
/** A demographic field or id is one line of text: the character policy without tabs or line breaks. */
function pushTextProblem(problems: FieldProblem[], value: string, field: string): void {
  const problem = textProblem(value);
  if (problem) problems.push({ field, ...problem });
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
    else pushTextProblem(problems, value, `${path}.${key}`);
  }
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') problems.push({ field: `${path}.${field}`, code: 'INVALID_TYPE', message: 'must be a string' });
    else if (value.length > validation.maxLength)
      problems.push({ field: `${path}.${field}`, code: 'TOO_LONG', message: `must be at most ${validation.maxLength} characters` });
    else pushTextProblem(problems, value, `${path}.${field}`);
  }
  // Formats are checked once every field has its type, so a bad type is reported alone.
  for (const { name: field, validation } of CANONICAL_FIELD_DEFINITIONS) {
    const value = input[field];
    if (validation.format !== 'isoDate' || typeof value !== 'string') continue;
    const text = value.trim();
    const problem = text ? isoDateProblem(text) : null;
    // A well-formed but implausible date (too early, in the future) is the normaliser's to report, below.
    if (problem) problems.push({ field: `${path}.${field}`, code: 'INVALID_DATE', message: problem });
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

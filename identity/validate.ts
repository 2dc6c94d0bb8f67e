import {
  CANONICAL_FIELDS,
  fieldProblems,
  idProblem,
  isRefusingIssue,
  issueProblem,
  MAX_FIELD_LENGTH,
  MAX_ID_LENGTH,
} from '../matching/index.ts';
import type { ValueProblem } from '../matching/index.ts';
import { isErrorCode } from '../platform/error-codes.ts';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import type { SourceRecordInput } from './types.ts';

/** The canonical fields an input carries, each with its validation (`matching/fields.ts`). */
export const TEXT_FIELDS = CANONICAL_FIELDS;
export { MAX_FIELD_LENGTH, MAX_ID_LENGTH };

/** A problem of a canonical field (`matching/validate-record.ts`) as the API reports it: placed under `path`. */
function placed(problem: ValueProblem, path: string): FieldProblem {
  return { field: `${path}.${problem.field}`, code: isErrorCode(problem.code) ? problem.code : 'INVALID', message: problem.message };
}

/** Checks shape and lengths before anything else; every problem is reported at once. */
export function checkInputShape(input: SourceRecordInput, path = 'input'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const key of ['source', 'localId'] as const) {
    const value = input[key];
    if (typeof value !== 'string' || value.trim() === '')
      problems.push({ field: `${path}.${key}`, code: 'REQUIRED', message: 'is required' });
    else {
      const problem = idProblem(value);
      if (problem) problems.push({ field: `${path}.${key}`, ...problem });
    }
  }
  for (const problem of fieldProblems(input as unknown as Record<string, unknown>)) problems.push(placed(problem, path));
  return problems;
}

/** Splits normaliser issues into the ones that reject the record and the ones kept as warnings. */
export function classifyIssues(
  issues: Array<{ field: string; code: string; message: string }>,
  path = 'input',
): { errors: FieldProblem[]; warnings: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const warnings: FieldProblem[] = [];
  for (const issue of issues) (isRefusingIssue(issue) ? errors : warnings).push(placed(issueProblem(issue), path));
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

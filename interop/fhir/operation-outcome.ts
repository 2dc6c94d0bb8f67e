import type { IssueType, OperationOutcome, OperationOutcomeIssue } from './types.ts';

/** An OperationOutcome carrying the given issues. */
export function operationOutcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** One error issue; `diagnostics` names the problem, `expression` the element, never a patient value. */
export function errorIssue(code: IssueType, diagnostics: string, expression?: string): OperationOutcomeIssue {
  return expression === undefined
    ? { severity: 'error', code, diagnostics }
    : { severity: 'error', code, diagnostics, expression: [expression] };
}

/** One warning issue: the request was carried out, but `diagnostics` says what of it the service set aside. */
export function warningIssue(code: IssueType, diagnostics: string, expression: string): OperationOutcomeIssue {
  return { severity: 'warning', code, diagnostics, expression: [expression] };
}

/** A refusal the HTTP layer answers with `status` and an OperationOutcome of `issues`. */
export class FhirError extends Error {
  override readonly name = 'FhirError';
  constructor(
    readonly status: number,
    readonly issues: OperationOutcomeIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map(describeIssue).join('; '), options);
  }

  /** The error as an OperationOutcome resource. */
  toOperationOutcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

function describeIssue(issue: OperationOutcomeIssue): string {
  const where = issue.expression?.join(', ');
  return where ? `${where}: ${issue.diagnostics ?? issue.code}` : (issue.diagnostics ?? issue.code);
}

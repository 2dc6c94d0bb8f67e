import type { ErrorCode } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

/**
 * Expected failures. Messages name the field and the problem, never the patient's data.
 * The API maps these to typed GraphQL errors; anything else is masked as an internal error.
 */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options?.field;
  }
}

/** One invalid input value. */
export interface FieldProblem {
  field: string;
  code: ErrorCode;
  message: string;
}

export class ValidationError extends DomainError {
  readonly problems: FieldProblem[];

  constructor(problems: FieldProblem[]) {
    const first = problems[0];
    const summary = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    super('VALIDATION_FAILED', `Invalid input: ${summary}`, first ? { field: first.field } : undefined);
    this.problems = problems;
  }

  static of(field: string, code: ErrorCode, message: string): ValidationError {
    return new ValidationError([{ field, code, message }]);
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, field = 'id') {
    super('NOT_FOUND', `${entity} not found`, { field });
  }
}

export class ConflictError extends DomainError {
  constructor(code: ErrorCode, message: string, field?: string) {
    super(code, message, field === undefined ? undefined : { field });
  }
}

/** A write that named the version it read, when the object has changed since (optimistic concurrency). */
export class StaleVersionError extends ConflictError {
  constructor(
    readonly identityId: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
    field: string,
  ) {
    super(
      'STALE_VERSION',
      `Identity changed since it was read (version ${expectedVersion}, now ${currentVersion}); reload and retry`,
      field,
    );
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'Not allowed for this role') {
    super('FORBIDDEN', message);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Missing or invalid credentials') {
    super('UNAUTHENTICATED', message);
  }
}

import { API_ERROR_CODES, ERROR_CODES, type ErrorCode } from '../../platform/error-codes.ts';
import type { DomainError } from '../../platform/errors.ts';
import { ConflictError, NotFoundError, StaleVersionError, ValidationError, type FieldProblem } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import { errorCodeOf } from '../errors.ts';
import type { RequestContext } from '../context.ts';

/**
 * Error codes and the typed error objects of result unions. A mutation with `errors` answers an expected
 * failure as one of these objects (select `... on Error { code message field }`); anything else stays a
 * GraphQL error with the same code in `extensions.code`.
 */

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description:
    'Why an operation failed: `extensions.code` of a GraphQL error, `code` of a typed error result, or the code of one field problem. The catalogue is in docs/api.md.',
  values: Object.fromEntries(API_ERROR_CODES.map((code) => [code, { value: code, description: ERROR_CODES[code].description }])) as Record<
    ErrorCode,
    { value: ErrorCode; description: string }
  >,
});

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure, returned as data by mutations with a result union.',
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    message: t.exposeString('message', { description: "Names the field and the problem, never a patient's value." }),
    field: t.string({
      nullable: true,
      description: 'The argument or input field at fault, e.g. `mergedVersion` or `input.birthDate`.',
      resolve: (e) => e.field ?? null,
    }),
  }),
});

export const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  description: 'What is wrong with one input value.',
  fields: (t) => ({
    field: t.exposeString('field'),
    code: t.field({ type: ErrorCodeEnum, resolve: (p) => p.code }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'One or more input values are invalid (code VALIDATION_FAILED); nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ problems: t.field({ type: [FieldProblemRef], resolve: (e) => e.problems }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object `field` names does not exist (code NOT_FOUND).',
  interfaces: [ErrorInterface],
});

builder.objectType(StaleVersionError, {
  name: 'StaleVersionError',
  description: 'The identity changed since it was read (code STALE_VERSION): reload it and decide again.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    identityId: t.exposeID('identityId'),
    expectedVersion: t.exposeInt('expectedVersion', { description: 'The version the caller passed.' }),
    currentVersion: t.exposeInt('currentVersion', { description: "The identity's version now." }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The decision does not fit the current state (e.g. ALREADY_RESOLVED, NOT_ACTIVE, ONLY_RECORD); `code` says which.',
  interfaces: [ErrorInterface],
});

/**
 * The failures a steward decision can answer as data, most specific first (a stale version is a conflict too).
 * Credentials and roles are not among them: a refused caller gets a GraphQL error, as everywhere.
 */
export const DECISION_ERRORS = [StaleVersionError, ValidationError, NotFoundError, ConflictError];

/**
 * Runs a resolver whose expected failures become result objects, noting the failure's code for the audit entry
 * (the operation is then audited as failed even though the response carries no GraphQL error).
 */
export async function answeringErrors<T>(ctx: RequestContext, run: () => Promise<T>): Promise<T> {
  ctx.audit.reachedPatientData = true;
  try {
    return await run();
  } catch (error) {
    ctx.audit.failures.push(errorCodeOf(error));
    throw error;
  }
}

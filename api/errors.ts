import { GraphQLError } from 'graphql';
import { isConnectionFailure } from '../platform/db/client.ts';
import { DomainError, ValidationError } from '../platform/errors.ts';

function domainCause(error: unknown): DomainError | null {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof DomainError) return current;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * GraphQL's own message for a bad variable quotes the whole submitted value (patient data); keep only which
 * variable and what was wrong with it.
 */
function invalidVariable(name: string, error: GraphQLError): GraphQLError {
  const inner = error.originalError?.message ?? 'invalid value';
  const problem = inner.replace(/(cannot represent[^:]*):.*$/s, '$1').replace(/^(Value) ".*?"/s, '$1');
  return new GraphQLError(`Variable "${name}" is invalid: ${problem}`, {
    extensions: { code: 'BAD_USER_INPUT', field: name.slice(1), http: { status: 400 } },
  });
}

/** The typed code of a GraphQL error, whether or not it was masked yet (`ERROR` when it has none). */
export function errorCodeOf(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  if (typeof code === 'string') return code;
  return domainCause(error)?.code ?? 'ERROR';
}

/**
 * Expected failures become typed GraphQL errors (`extensions.code`, `extensions.field`, `extensions.problems`);
 * anything else is masked so no stack trace, SQL or patient data reaches the client.
 */
export function maskError(error: unknown, message: string, onUnexpected?: (error: unknown) => void): Error {
  const domain = domainCause(error);
  if (domain) {
    const extensions: Record<string, unknown> = { code: domain.code };
    if (domain.field) extensions.field = domain.field;
    if (domain instanceof ValidationError) extensions.problems = domain.problems;
    const path = error instanceof GraphQLError ? error.path : undefined;
    // A request refused before execution (bad credentials) answers 401 with a challenge, not 200.
    if (domain.code === 'UNAUTHENTICATED' && !path) extensions.http = { status: 401, headers: { 'www-authenticate': 'Bearer' } };
    return new GraphQLError(domain.message, { path, extensions });
  }
  if (error instanceof GraphQLError && !error.originalError) return error; // parse/validation errors are safe
  if (isConnectionFailure(error)) {
    // The database went away (restart, failover, terminated session): this request fails, the process stays up.
    return new GraphQLError('The database is unavailable; retry shortly', {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'DATABASE_UNAVAILABLE', http: { status: 503, headers: { 'retry-after': '1' } } },
    });
  }
  const variable = error instanceof GraphQLError ? /^Variable "(\$\w+)" got invalid value/.exec(error.message) : null;
  if (variable) return invalidVariable(variable[1]!, error as GraphQLError);
  onUnexpected?.(error);
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

/**
 * What may be logged of an unexpected error: its name, SQLSTATE and stack frames, with quoted text and long
 * digit runs removed from the message (driver messages can quote the offending value). A failed query's own
 * message lists its parameters (patient values): of it only the statement text is kept, and the database's
 * error (its cause) supplies the code and message.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  type Failure = { name?: string; message?: string; code?: unknown; stack?: string; query?: unknown; params?: unknown; cause?: unknown };
  const inner = ((error as { originalError?: unknown }).originalError ?? error) as Failure;
  const failedQuery = typeof inner.query === 'string' && 'params' in inner ? inner.query : null;
  const reported = (failedQuery !== null && inner.cause ? inner.cause : inner) as Failure;
  const scrub = (text: string) => text.replace(/"[^"]*"|'[^']*'/g, '"?"').replace(/\d{4,}/g, '#');
  const frames = (stack: string | undefined) => stack?.split('\n').filter((line) => /^\s*at /.test(line)).slice(0, 11).map((line) => scrub(line.trim()));
  return {
    errorName: inner.name ?? 'Error',
    code: typeof reported.code === 'string' ? reported.code : undefined,
    message: failedQuery !== null && reported === inner ? 'query failed' : scrub(reported.message ?? ''),
    ...(failedQuery !== null ? { query: scrub(failedQuery).replace(/\s+/g, ' ').trim().slice(0, 300) } : {}),
    stack: frames(inner.stack),
  };
}

/**
 * Drops "Did you mean …?" from a validation message: in production the schema is not for probing (an enum or
 * argument typo would otherwise list the valid names).
 */
export function withoutSuggestions(error: Error): Error {
  if (!(error instanceof GraphQLError) || !/Did you mean/.test(error.message)) return error;
  return new GraphQLError(error.message.replace(/\s*Did you mean [^]*$/, ''), { nodes: error.nodes, path: error.path, extensions: error.extensions });
}

import { BREAK, GraphQLError, Kind, parse, visit, type ASTNode, type DocumentNode, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isConnectionFailure } from '../platform/db/failures.ts';
import { DomainError, ValidationError, type ErrorCode } from '../platform/errors.ts';

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
    extensions: { code: 'BAD_USER_INPUT' satisfies ErrorCode, field: name.slice(1), http: { status: 400 } },
  });
}

/**
 * Where in a variable a scalar refused its value, e.g. `input[1].birthDate`: GraphQL names it in its message,
 * after the quoted value. Only the path is taken (a name, indexes and dots), never the value; the greedy match
 * takes the last ` at "..."` so a value that imitates one cannot move it.
 */
function variablePath(error: GraphQLError): { variable: string; path: string } | null {
  const head = /^Variable "\$(\w+)" got invalid value /.exec(error.message);
  if (!head) return null;
  const at = /.* at "([\w.[\]]+)"; Expected type "\w+"\./s.exec(error.message);
  const variable = head[1]!;
  return { variable, path: at?.[1]?.startsWith(variable) ? at[1] : variable };
}

/**
 * The argument a variable is passed to (`ingestRecords(input: $r)` -> `input`), read from the operation the
 * error points into; the variable's own name when it is used in more than one place or not found.
 */
function argumentOf(error: GraphQLError, variable: string): string {
  const body = error.source?.body;
  if (!body) return variable;
  const names = new Set<string>();
  try {
    visit(parse(body, { noLocation: true }), {
      Argument: (node) => {
        if (node.value.kind === Kind.VARIABLE && node.value.name.value === variable) names.add(node.name.value);
      },
      ObjectField: (node) => {
        if (node.value.kind === Kind.VARIABLE && node.value.name.value === variable) names.add(node.name.value);
      },
    });
  } catch {
    return variable;
  }
  return names.size === 1 ? [...names][0]! : variable;
}

/**
 * A scalar's refusal names only its type (`Date`); in a variable, name where the value was given, as the
 * argument it is passed to and the path inside it (`input[1].birthDate`), like the service's own checks do.
 */
function placedInVariable(domain: DomainError, error: unknown): DomainError {
  if (!(domain instanceof ValidationError) || !(error instanceof GraphQLError)) return domain;
  const found = variablePath(error);
  if (!found) return domain;
  const field = `${argumentOf(error, found.variable)}${found.path.slice(found.variable.length)}`;
  return new ValidationError(domain.problems.map((p) => ({ ...p, field })));
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
  const cause = domainCause(error);
  if (cause) {
    const domain = placedInVariable(cause, error);
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
      extensions: { code: 'DATABASE_UNAVAILABLE' satisfies ErrorCode, http: { status: 503, headers: { 'retry-after': '1' } } },
    });
  }
  const variable = error instanceof GraphQLError ? /^Variable "(\$\w+)" got invalid value/.exec(error.message) : null;
  if (variable) return invalidVariable(variable[1]!, error as GraphQLError);
  onUnexpected?.(error);
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' satisfies ErrorCode },
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
  const frames = (stack: string | undefined) =>
    stack
      ?.split('\n')
      .filter((line) => /^\s*at /.test(line))
      .slice(0, 11)
      .map((line) => scrub(line.trim()));
  return {
    errorName: inner.name ?? 'Error',
    code: typeof reported.code === 'string' ? reported.code : undefined,
    message: failedQuery !== null && reported === inner ? 'query failed' : scrub(reported.message ?? ''),
    ...(failedQuery !== null ? { query: scrub(failedQuery).replace(/\s+/g, ' ').trim().slice(0, 300) } : {}),
    stack: frames(inner.stack),
  };
}

/** Where a literal value sits in the operation: `input.birthDate`, `input[1].birthDate`, or null. */
function literalPath(document: DocumentNode, target: ASTNode): string | null {
  const search = (value: ValueNode, path: string): string | null => {
    if (value === target) return path;
    if (value.kind === Kind.OBJECT) {
      for (const field of value.fields) {
        const found = search(field.value, `${path}.${field.name.value}`);
        if (found) return found;
      }
    }
    if (value.kind === Kind.LIST) {
      for (const [index, item] of value.values.entries()) {
        const found = search(item, `${path}[${index}]`);
        if (found) return found;
      }
    }
    return null;
  };
  let found: string | null = null;
  visit(document, {
    Argument: (node) => {
      found = search(node.value, node.name.value);
      return found ? BREAK : undefined;
    },
  });
  return found;
}

/**
 * A literal a scalar refuses (`birthDate: "1990-02-30"`) fails validation, where GraphQL's message quotes the
 * value. Such an error becomes the same typed error a variable gets: VALIDATION_FAILED naming the field.
 */
export function useTypedLiteralErrors(): Plugin {
  return {
    onValidate:
      ({ params }) =>
      ({ result, setResult }) => {
        if (!result.some((e) => domainCause(e) instanceof ValidationError)) return;
        setResult(
          result.map((error) => {
            const domain = domainCause(error);
            if (!(domain instanceof ValidationError)) return error;
            const node = error.nodes?.[0];
            const field = node ? literalPath(params.documentAST, node) : null;
            const typed = field ? new ValidationError(domain.problems.map((p) => ({ ...p, field }))) : domain;
            return new GraphQLError(typed.message, {
              nodes: error.nodes,
              extensions: { code: typed.code, ...(typed.field ? { field: typed.field } : {}), problems: typed.problems },
            });
          }),
        );
      },
  };
}

/**
 * Drops "Did you mean …?" from a validation message: in production the schema is not for probing (an enum or
 * argument typo would otherwise list the valid names).
 */
export function withoutSuggestions(error: Error): Error {
  if (!(error instanceof GraphQLError) || !/Did you mean/.test(error.message)) return error;
  return new GraphQLError(error.message.replace(/\s*Did you mean [^]*$/, ''), {
    nodes: error.nodes,
    path: error.path,
    extensions: error.extensions,
  });
}

/**
 * Drops the suggestions from validation errors too (an enum literal's typo is reported there, before any masking):
 * production only, where introspection is off and the schema is not for probing.
 */
export function useNoSuggestions(): Plugin {
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (result.some((e) => /Did you mean/.test(e.message))) setResult(result.map((e) => withoutSuggestions(e) as GraphQLError));
      },
  };
}

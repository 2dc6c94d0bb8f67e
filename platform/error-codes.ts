/**
 * Every error code the service gives, defined once with its meaning. The GraphQL `ErrorCode` enum, the error
 * catalogue in docs/api.md and the types of `DomainError.code` and `FieldProblem.code` all derive from this list.
 *
 * `ERROR` codes are an error's own code (`extensions.code` of a GraphQL error, `code` of a typed error object in
 * a mutation's result). `PROBLEM` codes name what is wrong with one input value (`extensions.problems[].code`,
 * `ValidationError.problems`, an ingest warning, a row an import could not load). `CLI` codes are the command
 * line's own failures; they never reach the API.
 */
export interface ErrorCodeSpec {
  kind: 'ERROR' | 'PROBLEM' | 'CLI';
  description: string;
}

export const ERROR_CODES = {
  // Request-level errors.
  VALIDATION_FAILED: {
    kind: 'ERROR',
    description: 'One or more input values are invalid; `problems` lists each field and what is wrong with it. Nothing was changed.',
  },
  BAD_USER_INPUT: {
    kind: 'ERROR',
    description: 'A variable does not have the type the operation declares (e.g. a string for an Int); `field` names the variable.',
  },
  GRAPHQL_PARSE_FAILED: { kind: 'ERROR', description: 'The operation is not valid GraphQL syntax.' },
  GRAPHQL_VALIDATION_FAILED: {
    kind: 'ERROR',
    description: 'The operation does not fit the schema (unknown field, missing argument, wrong enum value).',
  },
  QUERY_TOO_COMPLEX: {
    kind: 'ERROR',
    description: 'The operation exceeds the depth, alias, directive, token or cost limits, or is nested too deeply to parse.',
  },
  PAYLOAD_TOO_LARGE: { kind: 'ERROR', description: 'The request body exceeds the configured size limit (HTTP 413).' },
  RATE_LIMITED: { kind: 'ERROR', description: 'Too many requests from this caller; retry after the `retry-after` seconds (HTTP 429).' },
  UNAUTHENTICATED: { kind: 'ERROR', description: 'Missing, unknown, revoked or expired credentials (HTTP 401 before execution).' },
  FORBIDDEN: { kind: 'ERROR', description: "The caller's role may not run this operation or read this field." },
  NOT_FOUND: { kind: 'ERROR', description: 'The object named by `field` does not exist (or no longer does).' },
  UNKNOWN_SOURCE: { kind: 'ERROR', description: 'The source code is not registered (register it, or enable MPI_AUTO_REGISTER_SOURCES).' },
  INACTIVE_SOURCE: { kind: 'ERROR', description: 'The source is registered but inactive and accepts no records.' },
  SOURCE_EXISTS: { kind: 'ERROR', description: 'A source with this code is already registered.' },
  SYSTEM_IN_USE: { kind: 'ERROR', description: 'Another source already uses this identifier system.' },
  STALE_VERSION: {
    kind: 'ERROR',
    description: 'The identity changed since the caller read it (the version passed back is not the current one); reload and retry.',
  },
  NOT_ACTIVE: {
    kind: 'ERROR',
    description: 'The identity was merged into another and can no longer take part in this decision; use its survivor.',
  },
  RECORD_MOVED: {
    kind: 'ERROR',
    description: 'The record moved to another identity (or was deleted) since it was read; reload and retry.',
  },
  MARKED_NOT_DUPLICATE: {
    kind: 'ERROR',
    description: 'A steward marked these identities as different people; merge with overrideNotDuplicate: true to overrule that decision.',
  },
  ONLY_RECORD: { kind: 'ERROR', description: "The record is its identity's only record, so unlinking it would change nothing." },
  ALREADY_RESOLVED: {
    kind: 'ERROR',
    description: 'The review item was already resolved (by a steward or by a later decision that made it moot).',
  },
  RUN_NOT_RUNNING: { kind: 'ERROR', description: 'The ingest run does not exist or has already finished, so it takes no more records.' },
  LOAD_CONFLICT: {
    kind: 'ERROR',
    description: 'Another writer stored records of a bulk load while it ran; the chunk was rolled back and a re-run continues.',
  },
  RUN_FINISHED: { kind: 'ERROR', description: 'The ingest run has already finished.' },
  DEAD_LETTER_CLOSED: { kind: 'ERROR', description: 'The dead letter was already replayed or discarded.' },
  DEAD_LETTER_REPLAYING: {
    kind: 'ERROR',
    description:
      'Another replay of the dead letter is running; it is REPLAYED or OPEN again when that one ends, or can be taken again once its claim is older than `MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS`.',
  },
  DEAD_LETTER_CLAIM_LOST: {
    kind: 'ERROR',
    description:
      'The replay ran past `MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS` and the dead letter was claimed or discarded again meanwhile; the other replay settles it.',
  },
  DATABASE_UNAVAILABLE: {
    kind: 'ERROR',
    description:
      'The database could not be reached (restart, failover); the request changed nothing it reports. Retry after the `retry-after` seconds (HTTP 503).',
  },
  DATA_DIR_LOCKED: {
    kind: 'ERROR',
    description: "The embedded database's data directory is open in another process; one process at a time may open it.",
  },
  MODEL_WORKER_FAILED: {
    kind: 'ERROR',
    description:
      'Training, evaluating or re-matching with a match model failed in its worker thread (for example it ran out of memory); that step stored nothing, the active model stays, and the service goes on serving.',
  },
  INTERNAL_SERVER_ERROR: {
    kind: 'ERROR',
    description: 'An unexpected failure; details are in the service log under the request id, never in the response.',
  },

  // Why a message of the NATS JetStream ingest was dead-lettered (its `Mpi-Error-Code` header), besides the codes above.
  INVALID_JSON: { kind: 'ERROR', description: 'A JetStream ingest message whose body is not JSON; it is dead-lettered, not retried.' },
  TOO_MANY_DELIVERIES: {
    kind: 'ERROR',
    description:
      'A JetStream ingest message that failed MPI_NATS_INGEST_MAX_DELIVER deliveries (e.g. the database was down each time); dead-lettered.',
  },
  // Problems with one input value.
  REQUIRED: { kind: 'PROBLEM', description: 'A value is required here.' },
  TOO_LONG: { kind: 'PROBLEM', description: 'The value is longer than the field allows.' },
  TOO_MANY: { kind: 'PROBLEM', description: 'More items than allowed (records in a batch, items in a page).' },
  OUT_OF_RANGE: { kind: 'PROBLEM', description: 'A number outside the allowed range (e.g. a page size or a limit).' },
  INVALID: { kind: 'PROBLEM', description: 'The value is not one the field accepts (e.g. an unknown sex code).' },
  INVALID_TYPE: { kind: 'PROBLEM', description: 'The value has the wrong type (e.g. a number where text is expected).' },
  INVALID_CHARACTERS: {
    kind: 'PROBLEM',
    description:
      'The value contains a character the service refuses everywhere: a control character (NUL included; tabs and line breaks only in free text), a bidirectional control, an invisible formatting or tag character, or an unpaired UTF-16 surrogate.',
  },
  INVALID_DATE: { kind: 'PROBLEM', description: 'Not a calendar date in the form YYYY-MM-DD (e.g. February 30th).' },
  FUTURE_DATE: { kind: 'PROBLEM', description: 'A birth date after today.' },
  INVALID_DATETIME: { kind: 'PROBLEM', description: 'Not an ISO-8601 date-time.' },
  INVALID_RANGE: { kind: 'PROBLEM', description: 'A range whose start is after its end.' },
  INVALID_POSITION: { kind: 'PROBLEM', description: 'Not a position in the change-event stream this list returned.' },
  INVALID_CHECKPOINT: {
    kind: 'PROBLEM',
    description: 'Not an audit checkpoint as `exportAuditCheckpoint` and `mpi audit checkpoint` write it (`field` names what is wrong).',
  },
  INVALID_CURSOR: {
    kind: 'PROBLEM',
    description: "Not a cursor this list returned (cursors are opaque; pass back `endCursor` or an edge's `cursor`).",
  },
  INVALID_ID: { kind: 'PROBLEM', description: 'Not an id of the expected kind.' },
  NOT_REPLAYABLE: {
    kind: 'PROBLEM',
    description: 'The dead letter is of a channel that cannot be replayed (FHIR requests are answered as they arrive).',
  },
  PLACEHOLDER: {
    kind: 'PROBLEM',
    description: 'A placeholder value (e.g. a dummy SSN or phone number) was stored but not used for matching (an ingest warning).',
  },
  DUPLICATE_IN_BATCH: { kind: 'PROBLEM', description: 'The same source and localId appear twice in one batch.' },
  DUPLICATE_ID: {
    kind: 'PROBLEM',
    description: 'A CSV file (mpi import, mpi load, mpi link) has the same id twice; only the first row is kept.',
  },
  DUPLICATE_FIELD: { kind: 'PROBLEM', description: 'A field appears more than once in a list of field rules.' },
  DUPLICATE_VERSION: { kind: 'PROBLEM', description: 'A match model with this version already exists.' },
  SAME_IDENTITY: { kind: 'PROBLEM', description: 'Both sides of the decision are the same identity.' },
  UNCHANGED: {
    kind: 'PROBLEM',
    description: 'The change would leave everything as it is (e.g. the active policy already has these rules).',
  },
  UNKNOWN_ROLE: { kind: 'PROBLEM', description: 'Not one of the roles pipeline, steward, governance, auditor, admin.' },
  UNKNOWN_METRIC: { kind: 'PROBLEM', description: 'Not a quality metric.' },
  UNKNOWN_GLOSSARY_TERM: { kind: 'PROBLEM', description: 'The term is not in the glossary; define it first.' },
  NO_DIRECTION: { kind: 'PROBLEM', description: 'The quality metric is descriptive and takes no threshold.' },
  INVALID_SOURCE_CODE: { kind: 'PROBLEM', description: 'A source code must be 1-64 letters, digits, "_" or "-".' },
  INVALID_JOB: { kind: 'PROBLEM', description: "An ingest run's job name must be 1-200 characters." },
  INVALID_MODEL: { kind: 'PROBLEM', description: 'The match model document is not valid; the field names the part.' },
  INVALID_MAPPING: { kind: 'PROBLEM', description: 'The column mapping file is not valid.' },
  TOO_FEW_RECORDS: { kind: 'PROBLEM', description: 'Training needs at least two stored records.' },
  INVALID_URL: { kind: 'PROBLEM', description: 'Not an absolute http(s) URL without credentials.' },
  URL_NOT_ALLOWED: {
    kind: 'PROBLEM',
    description: "The URL's host or address is not allowed for webhooks (allow-list, private or metadata addresses, https required).",
  },
  URL_UNRESOLVABLE: { kind: 'PROBLEM', description: "The URL's host name does not resolve." },
  UNKNOWN_EVENT_TYPE: { kind: 'PROBLEM', description: 'Names a change event type that does not exist.' },
  INVALID_ROLE: { kind: 'PROBLEM', description: 'Not one of the roles this setting accepts.' },
  RECOMPUTE_FAILED: { kind: 'PROBLEM', description: 'A golden-record recompute stopped on an unexpected error (an ingest run error).' },
  // Catalog input rules (checked by schema), named after the rule that failed.
  INVALID_INVALID_TYPE: { kind: 'PROBLEM', description: 'The value has the wrong type.' },
  INVALID_INVALID_FORMAT: { kind: 'PROBLEM', description: 'The value does not have the required format.' },
  INVALID_INVALID_VALUE: { kind: 'PROBLEM', description: 'The value is not one of the allowed values.' },
  INVALID_TOO_BIG: { kind: 'PROBLEM', description: 'The value is too long or too large.' },
  INVALID_TOO_SMALL: { kind: 'PROBLEM', description: 'The value is too short or too small (e.g. empty).' },
  INVALID_NOT_MULTIPLE_OF: { kind: 'PROBLEM', description: 'The number is not a multiple of the required step.' },
  INVALID_UNRECOGNIZED_KEYS: { kind: 'PROBLEM', description: 'The input has keys the operation does not take.' },
  INVALID_INVALID_UNION: { kind: 'PROBLEM', description: 'The value matches none of the allowed shapes.' },
  INVALID_INVALID_KEY: { kind: 'PROBLEM', description: 'A key of the value is not valid.' },
  INVALID_INVALID_ELEMENT: { kind: 'PROBLEM', description: 'An element of the value is not valid.' },
  INVALID_CUSTOM: { kind: 'PROBLEM', description: 'The value breaks a rule of the field; the message says which.' },

  // The command line's own failures (printed as `error: <message>`, exit status 2).
  CLI_ERROR: { kind: 'CLI', description: 'A command was given options or input it cannot use.' },
  FILE_NOT_FOUND: { kind: 'CLI', description: 'An input file does not exist.' },
  UNKNOWN_COLUMN: { kind: 'CLI', description: 'The mapping names a column the CSV file does not have.' },
  NO_ID_COLUMN: { kind: 'CLI', description: 'The CSV file has no record id column.' },
  MALFORMED_CSV: { kind: 'CLI', description: 'The CSV file cannot be parsed.' },
  EMPTY_INPUT: { kind: 'CLI', description: 'The input file holds no records.' },
  UNRECOGNISED_COLUMNS: { kind: 'CLI', description: 'The CSV file has columns that are neither canonical fields nor mapped.' },
  INVALID_OPTION: { kind: 'CLI', description: 'A command-line option has a value the command cannot use.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code, in catalogue order. */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];

/** The codes a client of the API can meet (the GraphQL `ErrorCode` enum): all but the command line's own. */
export const API_ERROR_CODES = ERROR_CODE_NAMES.filter((code) => ERROR_CODES[code].kind !== 'CLI');

/** Whether a string is a catalogued code (for codes that arrive as text, e.g. from the matching engine). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The code of a schema rule that failed (`too_small` -> `INVALID_TOO_SMALL`), as catalog input reports it. */
export function schemaRuleCode(rule: string): ErrorCode {
  const code = `INVALID_${rule.toUpperCase()}`;
  return isErrorCode(code) ? code : 'INVALID_CUSTOM';
}

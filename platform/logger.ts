import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { recordFieldColumns } from './db/schema/identity.ts';

/**
 * Keys that are not record fields but hold patient data (whole records, golden records, request bodies and their
 * variables) or secrets.
 */
const NON_FIELD_PHI_KEYS = [
  'name',
  'golden',
  'raw',
  'normalised',
  'payload',
  'input',
  'variables',
  'query',
  'authorization',
  'apiKey',
  'key',
  'token',
];
/** Keys whose values are patient data or secrets, redacted wherever they appear in a log line: every record field and the rest. */
export const PHI_LOG_KEYS: readonly string[] = [...Object.keys(recordFieldColumns), ...NON_FIELD_PHI_KEYS];
const REDACT_PATHS = PHI_LOG_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** `json`: one JSON object per line (for log collectors); `pretty`: readable lines; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Pretty output for a person at a terminal; pino-pretty is loaded only then, so JSON logging costs nothing extra. */
function prettyStream(): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true });
}

/**
 * Structured logger with PHI redaction (the redaction runs before either format). `destination` defaults to
 * stdout (tests pass a capture stream, always JSON).
 */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'mpi' } };
  if (destination) return pino(options, destination);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  return pretty ? pino(options, prettyStream()) : pino(options);
}

export type { Logger };

/** What a log line or span may say of a failure. */
export interface ErrorFields {
  /** The error's class (`PostgresError`, `TimeoutError`); `errorName`, since `name` is redacted as patient data. */
  errorName: string;
  /** Its typed code (a SQLSTATE, a DomainError code, a system error code), when it has one. */
  errorCode?: string | number;
}

/**
 * The class and code of a failure for logs and spans, never its message (driver and validation messages can
 * quote patient values). One place, so every log line names failures the same way.
 */
export function errorFields(error: unknown): ErrorFields {
  const errorName = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' || typeof code === 'number' ? { errorName, errorCode: code } : { errorName };
}

import { pino, type DestinationStream, type Logger } from 'pino';

/** Keys whose values are patient data or secrets; redacted wherever they appear in a log line. */
const PHI_KEYS = [
  'givenName', 'middleName', 'familyName', 'suffix', 'name', 'birthDate', 'ssn', 'phone', 'email', 'addressLine1',
  'addressLine2', 'city', 'postalCode', 'golden', 'raw', 'normalised', 'payload', 'input', 'variables', 'query',
  'authorization', 'apiKey', 'key', 'token',
];
const REDACT_PATHS = PHI_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** Structured JSON logger with PHI redaction; `destination` defaults to stdout (tests pass a capture stream). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'mpi' } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };

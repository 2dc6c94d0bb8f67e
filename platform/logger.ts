import { pino, type Logger } from 'pino';

/** Keys whose values are patient data; redacted wherever they appear in a log line. */
const PHI_KEYS = [
  'givenName', 'middleName', 'familyName', 'name', 'birthDate', 'ssn', 'phone', 'email', 'addressLine1',
  'addressLine2', 'city', 'postalCode', 'golden', 'raw', 'normalised', 'payload', 'authorization', 'apiKey', 'key',
];
const REDACT_PATHS = PHI_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** Structured JSON logger with PHI redaction. */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'mpi' } });
}

export type { Logger };

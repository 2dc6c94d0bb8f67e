import { randomFillSync } from 'node:crypto';
import { ValidationError } from './errors.ts';

/** Random bytes for 256 ids, drawn at once: a bulk load makes millions of ids, and one draw each costs more than the rest. */
const POOL_SIZE = 16 * 256;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;

/**
 * A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix time in milliseconds, the version and variant, and
 * 74 random bits. Rows keyed by such ids are appended at the right edge of their indexes, so a batch of new
 * records or identities writes a few index pages instead of one random page (and its full-page WAL image) per
 * row. The id reveals when it was made, which the row's own timestamps already record.
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  if (poolAt === POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const bytes = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time, in Unix milliseconds, of a time-ordered UUID. */
export function uuidTime(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

/** Whether a string is a UUID (any version), the form of every identity, record, review item and endpoint id. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/** The id itself, or VALIDATION_FAILED / INVALID_ID naming `field` when it is not a UUID (`what`: "an identity id"). */
export function requireUuid(value: string, field: string, what: string): string {
  if (!isUuid(value)) throw ValidationError.of(field, 'INVALID_ID', `is not ${what}`);
  return value;
}

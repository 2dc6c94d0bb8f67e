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
  // Written as text into one buffer and read back as one flat string: pieces joined with `+` would be kept as a
  // tree of five strings, several times the memory, which counts when a bulk load holds a million ids.
  let at = 0;
  for (let i = 0; i < 16; i++) {
    text[at++] = HEX_DIGITS[bytes[i]! >> 4]!;
    text[at++] = HEX_DIGITS[bytes[i]! & 15]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) text[at++] = DASH;
  }
  return text.toString('latin1');
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
const text = Buffer.alloc(36);

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

import { randomFillSync } from 'node:crypto';
import { ValidationError } from './errors.ts';

/** Random bytes for 256 ids, drawn at once: a bulk load makes millions of ids, and one draw each costs more than the rest. */
const POOL_SIZE = 16 * 256;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;

/**
 * A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix time in milliseconds, the version and variant, a 42-bit
 * counter and 32 random bits. Rows keyed by such ids are appended at the right edge of their indexes, so a batch
 * of new records or identities writes a few index pages instead of one random page (and its full-page WAL image)
 * per row. The counter starts at a random value in each millisecond (its top bit clear) and counts up within it
 * (RFC 9562, 6.2, method 1), so ids made in one millisecond sort in the order they were made: survivorship breaks
 * its last ties by record id, and a load of the same file then picks the same golden values every time. The id
 * reveals when it was made, which the row's own timestamps already record.
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  if (poolAt === POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const bytes = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  if (now === lastMs && counter < MAX_COUNTER) counter += 1;
  else {
    lastMs = now;
    // 41 random bits: half the counter's range is left to count up in.
    counter = Math.floor(bytes.readUIntBE(6, 6) / 2 ** 7);
  }
  const high = Math.floor(counter / 2 ** 24);
  const low = counter % 2 ** 24;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((high >>> 14) & 0x0f);
  bytes[7] = (high >>> 6) & 0xff;
  bytes[8] = 0x80 | (high & 0x3f);
  bytes[9] = (low >>> 16) & 0xff;
  bytes[10] = (low >>> 8) & 0xff;
  bytes[11] = low & 0xff;
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

/** The millisecond of the last id made, and its counter (`timeOrderedUuid`). */
let lastMs = -1;
let counter = 0;
const MAX_COUNTER = 2 ** 42 - 1;

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

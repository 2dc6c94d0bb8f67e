/**
 * PostgreSQL's `hashtextextended(text, 0)` computed here: Bob Jenkins' lookup3 hash as PostgreSQL implements it
 * (`hash_bytes_extended` in src/common/hashfn.c) over the key's UTF-8 bytes, read as little-endian words (the
 * byte order of the servers this runs beside), with the result as the signed 64-bit `bigint` the server returns.
 * Blocking keys are stored only as this hash; a bulk load copies the hashes it computes instead of sending the
 * keys in clear for the server to hash. `key-hash.int.test.ts` checks it against the server's function.
 */

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

const encoder = new TextEncoder();
/** The key's UTF-8 bytes, reused from key to key (a new array per key would cost more than the hash). */
let bytes = new Uint8Array(256);

/** Writes the key's UTF-8 bytes into `bytes` and returns their count: blocking keys are ASCII as a rule. */
function utf8(key: string): number {
  if (bytes.length < key.length * 3) bytes = new Uint8Array(key.length * 3);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 127) return encoder.encodeInto(key, bytes).written;
    bytes[i] = code;
  }
  return key.length;
}

/** The little-endian 32-bit word at `at`. */
const word = (k: Uint8Array, at: number): number => k[at]! | (k[at + 1]! << 8) | (k[at + 2]! << 16) | (k[at + 3]! << 24);

/** Byte `n` of the last `len` bytes (from `i`) shifted into place, or 0 past the end. */
const tail = (k: Uint8Array, i: number, len: number, n: number, shift: number): number => (len > n ? k[i + n]! << shift : 0);

/** `hashtextextended(key, 0)` as a decimal string (COPY's text form of a bigint). */
export function hashKey(key: string): string {
  hashKeyWords(key);
  return int64Text(words[0]!, words[1]!);
}

/**
 * The decimal text of the signed 64-bit integer whose high and low 32-bit words are given, in plain number
 * arithmetic: a bulk load writes a million key hashes per 70,000 records, and going through BigInt cost
 * three times as long as hashing them.
 */
export function int64Text(high: number, low: number): string {
  let h = high >>> 0;
  let l = low >>> 0;
  const negative = h >= 0x80000000;
  if (negative) {
    // Two's complement: the magnitude is the bitwise inverse plus one.
    l = (~l + 1) >>> 0;
    h = (~h + (l === 0 ? 1 : 0)) >>> 0;
  }
  // v = h * 2^32 + l = upper * 1e9 + rest, in steps that stay below 2^53.
  const hq = Math.floor(h / 1e9);
  const hr = h - hq * 1e9;
  const t1 = hr * 65536 + (l >>> 16);
  const q1 = Math.floor(t1 / 1e9);
  const t2 = (t1 - q1 * 1e9) * 65536 + (l & 0xffff);
  const q2 = Math.floor(t2 / 1e9);
  const rest = t2 - q2 * 1e9;
  const upper = hq * 4294967296 + q1 * 65536 + q2;
  const digits = upper > 0 ? `${upper}${String(rest).padStart(9, '0')}` : String(rest);
  return negative ? `-${digits}` : digits;
}

/** The high and low 32-bit words of the last `hashKeyWords`, reused from key to key. */
const words = new Int32Array(2);

/**
 * `hashtextextended(key, 0)` as its high and low 32-bit words (a view reused by the next call): the bulk load
 * indexes the keys it has placed by these, not by their text.
 */
export function hashKeyWords(key: string): Int32Array {
  let len = utf8(key);
  const k = bytes;
  let a = (0x9e3779b9 + len + 3923095) | 0;
  let b = a;
  let c = a;
  let i = 0;
  while (len >= 12) {
    a = (a + word(k, i)) | 0;
    b = (b + word(k, i + 4)) | 0;
    c = (c + word(k, i + 8)) | 0;
    // mix(a, b, c)
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    i += 12;
    len -= 12;
  }
  // The last 0-11 bytes, as lookup3's fall-through switch adds them; the lowest byte of c is left for the length.
  c = (c + tail(k, i, len, 10, 24) + tail(k, i, len, 9, 16) + tail(k, i, len, 8, 8)) | 0;
  b = (b + tail(k, i, len, 7, 24) + tail(k, i, len, 6, 16) + tail(k, i, len, 5, 8) + tail(k, i, len, 4, 0)) | 0;
  a = (a + tail(k, i, len, 3, 24) + tail(k, i, len, 2, 16) + tail(k, i, len, 1, 8) + tail(k, i, len, 0, 0)) | 0;
  // final(a, b, c)
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  words[0] = b;
  words[1] = c;
  return words;
}

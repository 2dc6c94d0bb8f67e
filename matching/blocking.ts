import { defaultModel } from './default-model.ts';
import { FAMILY_PREFIX_LENGTH, keyPartValue } from './key-parts.ts';
import type { KeyPart } from './key-parts.ts';
import type { BlockingRule, MatchModel } from './model.ts';
import type { NormalisedRecord } from './normalise.ts';
import type { PreparedRecord } from './prepared.ts';
import { DenseIds } from './id-table.ts';

/** Key separator between a rule's name and its values, and between values. */
const RULE_SEPARATOR = ':';
const PART_SEPARATOR = '|';

/** The blocking key of one rule for a record, or null when any part is missing. */
export function ruleKey(record: NormalisedRecord, rule: BlockingRule): string | null {
  let key = rule.name + RULE_SEPARATOR;
  for (let p = 0; p < rule.parts.length; p++) {
    const value = keyPartValue(record, rule.parts[p]!);
    if (value === null || value === '') return null;
    key += p === 0 ? value : PART_SEPARATOR + value;
  }
  return key;
}

let cachedDefault: MatchModel | null = null;

/**
 * Blocking keys of a record under a model's rules (`dob_family:19560409|KRN`): two records are candidates when
 * they share a key. Rules whose inputs are missing or placeholders yield no key, so no key is shared by a large
 * share of records.
 */
export function blockingKeys(record: NormalisedRecord, model?: MatchModel): string[] {
  const rules = (model ?? (cachedDefault ??= defaultModel())).blockingRules;
  const keys: string[] = [];
  for (const rule of rules) {
    const key = ruleKey(record, rule);
    if (key !== null) keys.push(key);
  }
  return keys;
}

/**
 * Largest block the batch linker expands. A bigger block means the key is shared by a crowd (a clinic's phone
 * number, a default birth date): it is not evidence of identity, and expanding it would make pair counts grow
 * with the square of the input. Records in it still meet through the other rules.
 */
export const MAX_BLOCK_SIZE = 500;

/** Records grouped per blocking rule: key id per record (-1 = no key), members of each key, block sizes. */
export interface RuleBlocks {
  keyOf: Int32Array;
  offsets: Int32Array;
  members: Int32Array;
  sizes: Int32Array;
}

/** Key values of one part per record (NaN = missing), shared by the rules that use the part. */
export type PartIdCache = Map<KeyPart, Float64Array>;

/**
 * `Number('1' + digits)` without building the string (a million short-lived strings per part cost more in
 * garbage collection than the parse): the same number for up to 15 digits, and `Number` itself beyond.
 */
function prefixedNumber(digits: string): number {
  if (digits.length > 15) return Number(`1${digits}`);
  let value = 1;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(`1${digits}`);
    value = value * 10 + d;
  }
  return value;
}

/**
 * A key part as an exact integer where it is one (dates, SSN, phone): one-to-one with its string form, so the
 * blocks are the same. Undefined for string parts.
 */
function numericPart(r: PreparedRecord, part: KeyPart): number | null | undefined {
  switch (part) {
    case 'birthDate':
      return r.birthDigits === null ? null : r.birthYear * 10000 + r.birthMonth * 100 + r.birthDay;
    case 'birthYear':
      return r.birthYear === 0 ? null : r.birthYear;
    case 'birthMonthDay':
      return r.birthDigits === null ? null : r.birthMonth * 100 + r.birthDay;
    case 'ssn':
    case 'phone': {
      const digits = r[part];
      // A leading 1 keeps leading zeros significant ("012" and "12" stay apart).
      return digits === null ? null : prefixedNumber(digits);
    }
    default:
      return undefined;
  }
}

/** Two 32-bit multiplicative lanes folded into one 53-bit number. */
function fold(a: number, b: number): number {
  return (b >>> 11) * 4294967296 + (a >>> 0);
}

const LANE_A = 0x811c9dc5;
const LANE_B = 0x01000193;

/**
 * A 53-bit hash of `value.slice(from, to)`, then `sep` (a char code; -1 for none), then `tail` (two 32-bit
 * FNV-style lanes), computed without building the joined string. Blocking only needs records with equal values
 * to share a key; a collision (odds ~1e-4 across a million distinct values) merely adds candidate pairs, which
 * scoring then rejects. It avoids string-keyed Maps, which crawl at millions of keys.
 */
function hashJoined(value: string, from: number, to: number, sep = -1, tail = ''): number {
  let a = LANE_A;
  let b = LANE_B ^ (to - from + (sep < 0 ? 0 : 1) + tail.length);
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  if (sep >= 0) {
    a = Math.imul(a ^ sep, 0x01000193);
    b = Math.imul(b ^ sep, 0x5bd1e995);
  }
  for (let i = 0; i < tail.length; i++) {
    const c = tail.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return fold(a, b);
}

const TILDE = 126;
const LOWER_A = 97;
const LOWER_Z = 122;

/** The hash of `keyPartValue(r, 'familyPrefix')`: its first letters a-z, or NaN when it has too few. */
function familyPrefixHash(family: string | null): number {
  if (family === null) return NaN;
  let a = LANE_A;
  let b = LANE_B ^ FAMILY_PREFIX_LENGTH;
  let kept = 0;
  for (let i = 0; i < family.length && kept < FAMILY_PREFIX_LENGTH; i++) {
    const c = family.charCodeAt(i);
    if (c < LOWER_A || c > LOWER_Z) continue;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    kept++;
  }
  return kept === FAMILY_PREFIX_LENGTH ? fold(a, b) : NaN;
}

/**
 * The hash of a string part's `keyPartValue` (NaN when missing or empty). The parts whose value is a derived
 * string hash it from the record's fields instead, so a pass over a million records allocates nothing.
 */
function stringPartHash(r: PreparedRecord, part: KeyPart): number {
  switch (part) {
    case 'namePhonetics': {
      const g = r.givenPhonetic;
      const f = r.familyPhonetic;
      if (g === null || f === null) return NaN;
      return g < f ? hashJoined(g, 0, g.length, TILDE, f) : hashJoined(f, 0, f.length, TILDE, g);
    }
    case 'familyPrefix':
      return familyPrefixHash(r.familyName);
    case 'emailLocal': {
      const at = r.email === null ? -1 : r.email.lastIndexOf('@');
      return at > 0 ? hashJoined(r.email!, 0, at) : NaN;
    }
    default: {
      const value = keyPartValue(r, part);
      return value === null || value === '' ? NaN : hashJoined(value, 0, value.length);
    }
  }
}

/** Mixes one more part key into a rule key (both below 2^53). */
function combine(key: number, part: number): number {
  const lo = Math.imul((key >>> 0) ^ (part >>> 0), 0x9e3779b1) ^ (key / 4294967296);
  const hi = Math.imul(((key / 4294967296) >>> 0) ^ ((part / 4294967296) >>> 0), 0x85ebca6b) ^ (part >>> 0);
  return fold(lo, Math.imul(hi ^ (hi >>> 15), 0x2c1b3c6d));
}

function partKeys(records: readonly PreparedRecord[], part: KeyPart, cache: PartIdCache): Float64Array {
  const hit = cache.get(part);
  if (hit) return hit;
  const keys = new Float64Array(records.length);
  if (records.length > 0 && numericPart(records[0]!, part) !== undefined) {
    for (let i = 0; i < records.length; i++) {
      const value = numericPart(records[i]!, part);
      keys[i] = value === null || value === undefined ? NaN : value;
    }
  } else {
    for (let i = 0; i < records.length; i++) keys[i] = stringPartHash(records[i]!, part);
  }
  cache.set(part, keys);
  return keys;
}

/**
 * Writes a rule's key id per record (-1 = no key; dense, in order of first appearance) to `out[column + i *
 * stride]` and returns how many keys there are. `table` is reset first, so one table serves every rule.
 */
function assignKeyIds(
  records: readonly PreparedRecord[],
  rule: BlockingRule,
  cache: PartIdCache,
  table: DenseIds,
  out: Int32Array,
  stride: number,
  column: number,
): number {
  const parts = rule.parts.map((part) => partKeys(records, part, cache));
  table.reset();
  for (let i = 0, at = column; i < records.length; i++, at += stride) {
    let key = parts[0]![i]!;
    for (let p = 1; p < parts.length && key === key; p++) {
      const part = parts[p]![i]!;
      key = part === part ? combine(key, part) : NaN;
    }
    out[at] = key === key ? table.idOf(key) : -1;
  }
  return table.size;
}

/**
 * Members of each key of column `column` of `ids` (records in order), as `offsets`/`members` of a counting sort
 * into the given buffers; `sizes[k]` must hold each key's count.
 */
function fillMembers(
  ids: Int32Array,
  stride: number,
  column: number,
  n: number,
  sizes: Int32Array,
  keys: number,
  offsets: Int32Array,
  members: Int32Array,
): void {
  offsets[0] = 0;
  for (let k = 0; k < keys; k++) offsets[k + 1] = offsets[k]! + sizes[k]!;
  // `sizes` doubles as the fill cursor and is restored by the second pass.
  for (let i = 0, at = column; i < n; i++, at += stride) {
    const k = ids[at]!;
    if (k >= 0) members[offsets[k + 1]! - sizes[k]!--] = i;
  }
  for (let k = 0; k < keys; k++) sizes[k] = offsets[k + 1]! - offsets[k]!;
}

/** Groups records by one rule's key with a counting sort; key ids follow first appearance, so order is stable. */
export function groupByRule(records: readonly PreparedRecord[], rule: BlockingRule, cache: PartIdCache = new Map()): RuleBlocks {
  const n = records.length;
  const keyOf = new Int32Array(n);
  const keys = assignKeyIds(records, rule, cache, new DenseIds(n), keyOf, 1, 0);
  const sizes = new Int32Array(keys);
  for (let i = 0; i < n; i++) if (keyOf[i]! >= 0) sizes[keyOf[i]!]!++;
  const offsets = new Int32Array(keys + 1);
  const members = new Int32Array(n);
  fillMembers(keyOf, 1, 0, n, sizes, keys, offsets, members);
  return { keyOf, offsets, members: members.subarray(0, offsets[keys]!), sizes };
}

export type LinkMode = 'dedupe' | 'link' | 'link-and-dedupe';

export interface CandidateOptions {
  /** Source index per record; `link` keeps only cross-source pairs, `dedupe` only same-source pairs. */
  sources?: ArrayLike<number>;
  mode?: LinkMode;
  maxBlockSize?: number;
}

export interface BlockingStats {
  rule: string;
  keys: number;
  /** Pairs this rule produced that no earlier rule had. */
  newPairs: number;
  skippedBlocks: number;
}

/**
 * Calls `visit(i, j, ruleMask)` once per candidate pair (i < j) over the OR of all rules: a pair found by several
 * rules is visited once, by the first; `ruleMask` has bit r set for every rule r whose block holds both records
 * (used to train each rule's EM session). Order is deterministic: rule by rule, blocks in order of their first
 * record, pairs in record order within a block.
 *
 * Every rule's key ids are kept record-major (`ids[i * rules + r]`), with -1 for no key or a block that is not
 * expanded (one record, or over the cap): whether another rule holds a pair is then a look at two short rows
 * instead of one array per rule. One id table and one set of group buffers serve every rule, so a million
 * records cost a few large allocations, not several per rule.
 */
export function forEachCandidatePair(
  records: readonly PreparedRecord[],
  rules: readonly BlockingRule[],
  options: CandidateOptions,
  visit: (i: number, j: number, ruleMask: number) => void,
): BlockingStats[] {
  const maxBlock = options.maxBlockSize ?? MAX_BLOCK_SIZE;
  const mode = options.mode ?? 'link-and-dedupe';
  const sources = options.sources;
  const n = records.length;
  const width = rules.length;
  const ids = new Int32Array(n * width);
  const sizes = new Int32Array(n);
  const keyCounts = keyIdsOfRules(records, rules, ids, sizes, maxBlock);
  const offsets = new Int32Array(n + 1);
  const members = new Int32Array(n);
  const stats: BlockingStats[] = [];
  for (let r = 0; r < width; r++) {
    const { keys, skippedBlocks } = keyCounts[r]!;
    const stat = { rule: rules[r]!.name, keys, newPairs: 0, skippedBlocks };
    sizes.fill(0, 0, keys);
    for (let i = 0, at = r; i < n; i++, at += width) if (ids[at]! >= 0) sizes[ids[at]!]!++;
    fillMembers(ids, width, r, n, sizes, keys, offsets, members);
    for (let k = 0; k < keys; k++) {
      const start = offsets[k]!;
      const end = offsets[k + 1]!;
      for (let x = start; x < end - 1; x++) {
        const i = members[x]!;
        const rowI = i * width;
        for (let y = x + 1; y < end; y++) {
          const j = members[y]!;
          if (sources && mode !== 'link-and-dedupe' && (sources[i] === sources[j]) === (mode === 'link')) continue;
          const rowJ = j * width;
          if (sharesKey(ids, rowI, rowJ, 0, r)) continue;
          let mask = 1 << r;
          for (let q = r + 1; q < width; q++) {
            const key = ids[rowI + q]!;
            if (key >= 0 && key === ids[rowJ + q]) mask |= 1 << q;
          }
          stat.newPairs++;
          visit(i, j, mask);
        }
      }
    }
    stats.push(stat);
  }
  return stats;
}

/**
 * Fills `ids` (record-major, one column per rule) with each rule's key ids, then clears (-1) the ids of blocks
 * that are not expanded: a single record, or more than `maxBlock`. `sizes` is scratch of one slot per record.
 */
function keyIdsOfRules(
  records: readonly PreparedRecord[],
  rules: readonly BlockingRule[],
  ids: Int32Array,
  sizes: Int32Array,
  maxBlock: number,
): Array<{ keys: number; skippedBlocks: number }> {
  const n = records.length;
  const width = rules.length;
  const cache: PartIdCache = new Map();
  const table = new DenseIds(n);
  return rules.map((rule, r) => {
    const keys = assignKeyIds(records, rule, cache, table, ids, width, r);
    sizes.fill(0, 0, keys);
    for (let i = 0, at = r; i < n; i++, at += width) if (ids[at]! >= 0) sizes[ids[at]!]!++;
    let skippedBlocks = 0;
    for (let k = 0; k < keys; k++) if (sizes[k]! > maxBlock) skippedBlocks++;
    for (let i = 0, at = r; i < n; i++, at += width) {
      const key = ids[at]!;
      if (key >= 0 && (sizes[key]! < 2 || sizes[key]! > maxBlock)) ids[at] = -1;
    }
    return { keys, skippedBlocks };
  });
}

/** Whether rows `rowI` and `rowJ` of `ids` share a key in a column from `from` to `to - 1`. */
function sharesKey(ids: Int32Array, rowI: number, rowJ: number, from: number, to: number): boolean {
  for (let q = from; q < to; q++) {
    const key = ids[rowI + q]!;
    if (key >= 0 && key === ids[rowJ + q]) return true;
  }
  return false;
}

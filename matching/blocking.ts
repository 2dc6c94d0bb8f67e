import { defaultModel } from './default-model.ts';
import { keyPartValue } from './key-parts.ts';
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
      return digits === null ? null : Number(`1${digits}`);
    }
    default:
      return undefined;
  }
}

/** Two 32-bit multiplicative lanes folded into one 53-bit number. */
function fold(a: number, b: number): number {
  return (b >>> 11) * 4294967296 + (a >>> 0);
}

/**
 * A 53-bit hash of a string (two 32-bit FNV-style lanes). Blocking only needs records with equal values to share
 * a key; a collision (odds ~1e-4 across a million distinct values) merely adds candidate pairs, which scoring
 * then rejects. It avoids string-keyed Maps, which crawl at millions of keys.
 */
function hashString(value: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return fold(a, b);
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
  const numeric = records.length > 0 && numericPart(records[0]!, part) !== undefined;
  for (let i = 0; i < records.length; i++) {
    if (numeric) {
      const value = numericPart(records[i]!, part);
      keys[i] = value === null || value === undefined ? NaN : value;
      continue;
    }
    const value = keyPartValue(records[i]!, part);
    keys[i] = value === null || value === '' ? NaN : hashString(value);
  }
  cache.set(part, keys);
  return keys;
}

/** Key id per record for a rule (-1 = no key), dense and in order of first appearance. */
function ruleKeyIds(records: readonly PreparedRecord[], rule: BlockingRule, cache: PartIdCache): { keyOf: Int32Array; keys: number } {
  const parts = rule.parts.map((part) => partKeys(records, part, cache));
  const keyOf = new Int32Array(records.length);
  const table = new DenseIds(records.length);
  for (let i = 0; i < records.length; i++) {
    let key = parts[0]![i]!;
    for (let p = 1; p < parts.length && key === key; p++) {
      const part = parts[p]![i]!;
      key = part === part ? combine(key, part) : NaN;
    }
    keyOf[i] = key === key ? table.idOf(key) : -1;
  }
  return { keyOf, keys: table.size };
}

/** Groups records by one rule's key with a counting sort; key ids follow first appearance, so order is stable. */
export function groupByRule(records: readonly PreparedRecord[], rule: BlockingRule, cache: PartIdCache = new Map()): RuleBlocks {
  const n = records.length;
  const { keyOf, keys } = ruleKeyIds(records, rule, cache);
  const sizes = new Int32Array(keys);
  for (let i = 0; i < n; i++) if (keyOf[i]! >= 0) sizes[keyOf[i]!]!++;
  const offsets = new Int32Array(keys + 1);
  for (let k = 0; k < keys; k++) offsets[k + 1] = offsets[k]! + sizes[k]!;
  const fill = offsets.slice(0, keys);
  const members = new Int32Array(offsets[keys]!);
  for (let i = 0; i < n; i++) if (keyOf[i]! >= 0) members[fill[keyOf[i]!]!++] = i;
  return { keyOf, offsets, members, sizes };
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
 * (used to train each rule's EM session). Order is deterministic.
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
  const cache: PartIdCache = new Map();
  const blocks = rules.map((rule) => groupByRule(records, rule, cache));
  const stats: BlockingStats[] = [];
  for (let r = 0; r < rules.length; r++) {
    const { offsets, members, sizes } = blocks[r]!;
    const stat = { rule: rules[r]!.name, keys: sizes.length, newPairs: 0, skippedBlocks: 0 };
    for (let k = 0; k < sizes.length; k++) {
      const size = sizes[k]!;
      if (size < 2) continue;
      if (size > maxBlock) {
        stat.skippedBlocks++;
        continue;
      }
      const start = offsets[k]!;
      for (let x = start; x < start + size - 1; x++) {
        const i = members[x]!;
        for (let y = x + 1; y < start + size; y++) {
          const j = members[y]!;
          if (sources && mode !== 'link-and-dedupe' && (sources[i] === sources[j]) === (mode === 'link')) continue;
          if (foundEarlier(blocks, i, j, maxBlock, r)) continue;
          stat.newPairs++;
          visit(i, j, (1 << r) | sharedRules(blocks, i, j, maxBlock, r + 1, blocks.length));
        }
      }
    }
    stats.push(stat);
  }
  return stats;
}

/** Whether a rule before `r` already put records i and j in one expandable block. */
function foundEarlier(blocks: RuleBlocks[], i: number, j: number, maxBlock: number, r: number): boolean {
  for (let q = 0; q < r; q++) {
    const keyOf = blocks[q]!.keyOf;
    const key = keyOf[i]!;
    if (key >= 0 && key === keyOf[j] && blocks[q]!.sizes[key]! <= maxBlock) return true;
  }
  return false;
}

/** Bitmask of the rules `from..to-1` (with expandable blocks) that put records i and j in the same block. */
function sharedRules(blocks: RuleBlocks[], i: number, j: number, maxBlock: number, from: number, to: number): number {
  let mask = 0;
  for (let q = from; q < to; q++) {
    const keyOf = blocks[q]!.keyOf;
    const key = keyOf[i]!;
    if (key >= 0 && key === keyOf[j] && blocks[q]!.sizes[key]! <= maxBlock) mask |= 1 << q;
  }
  return mask;
}

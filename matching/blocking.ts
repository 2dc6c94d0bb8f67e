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

/** Interned value ids of one key part per record (-1 = missing), shared by the rules that use the part. */
export type PartIdCache = Map<KeyPart, Int32Array>;

/**
 * A key part as an exact integer where it is one (dates, SSN, phone), so ids come from the fast integer table;
 * the mapping is one-to-one with the string form, so blocks are the same. Undefined for string parts.
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

/**
 * A 53-bit hash of a string (two 32-bit FNV-1a lanes with different offsets). Blocking only needs records with
 * equal values to share an id; a collision (odds ~1e-4 across a million distinct values) merely adds candidate
 * pairs, which scoring then rejects. It avoids a string-keyed Map, which is slow at millions of keys.
 */
function hashString(value: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (b >>> 11) * 4294967296 + (a >>> 0);
}

function partIds(records: readonly PreparedRecord[], part: KeyPart, cache: PartIdCache): Int32Array {
  const hit = cache.get(part);
  if (hit) return hit;
  const ids = new Int32Array(records.length);
  const table = new DenseIds(records.length);
  const numeric = records.length > 0 && numericPart(records[0]!, part) !== undefined;
  for (let i = 0; i < records.length; i++) {
    if (numeric) {
      const value = numericPart(records[i]!, part);
      ids[i] = value === null || value === undefined ? -1 : table.idOf(value);
      continue;
    }
    const value = keyPartValue(records[i]!, part);
    ids[i] = value === null || value === '' ? -1 : table.idOf(hashString(value));
  }
  cache.set(part, ids);
  return ids;
}

/** Room for any part id when two ids are packed into one exactly representable number. */
const ID_SPACE = 2 ** 26;

/** Key id per record for a rule: the part ids combined pairwise into dense ids, in order of first appearance. */
function ruleKeyIds(records: readonly PreparedRecord[], rule: BlockingRule, cache: PartIdCache): { keyOf: Int32Array; keys: number } {
  let keyOf = Int32Array.from(partIds(records, rule.parts[0]!, cache));
  let keys = 0;
  for (const id of keyOf) keys = Math.max(keys, id + 1);
  for (let p = 1; p < rule.parts.length; p++) {
    const next = partIds(records, rule.parts[p]!, cache);
    const combined = new DenseIds(records.length);
    const out = new Int32Array(records.length);
    for (let i = 0; i < records.length; i++) {
      out[i] = keyOf[i]! < 0 || next[i]! < 0 ? -1 : combined.idOf(keyOf[i]! * ID_SPACE + next[i]!);
    }
    keyOf = out;
    keys = combined.size;
  }
  return { keyOf, keys };
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

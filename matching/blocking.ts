import { defaultModel } from './default-model.ts';
import { keyPartValue } from './key-parts.ts';
import type { KeyPart } from './key-parts.ts';
import type { BlockingRule, MatchModel } from './model.ts';
import type { NormalisedRecord } from './normalise.ts';

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

function partIds(records: readonly NormalisedRecord[], part: KeyPart, cache: PartIdCache): Int32Array {
  const hit = cache.get(part);
  if (hit) return hit;
  const ids = new Int32Array(records.length);
  const seen = new Map<string, number>();
  for (let i = 0; i < records.length; i++) {
    const value = keyPartValue(records[i]!, part);
    if (value === null || value === '') {
      ids[i] = -1;
      continue;
    }
    let id = seen.get(value);
    if (id === undefined) seen.set(value, (id = seen.size));
    ids[i] = id;
  }
  cache.set(part, ids);
  return ids;
}

/** Room for any part id when two ids are packed into one exactly representable number. */
const ID_SPACE = 2 ** 26;

/** Key id per record for a rule: the part ids combined pairwise into dense ids, in order of first appearance. */
function ruleKeyIds(records: readonly NormalisedRecord[], rule: BlockingRule, cache: PartIdCache): { keyOf: Int32Array; keys: number } {
  let keyOf = Int32Array.from(partIds(records, rule.parts[0]!, cache));
  let keys = 0;
  for (const id of keyOf) keys = Math.max(keys, id + 1);
  for (let p = 1; p < rule.parts.length; p++) {
    const next = partIds(records, rule.parts[p]!, cache);
    const combined = new Map<number, number>();
    const out = new Int32Array(records.length);
    for (let i = 0; i < records.length; i++) {
      if (keyOf[i]! < 0 || next[i]! < 0) {
        out[i] = -1;
        continue;
      }
      const key = keyOf[i]! * ID_SPACE + next[i]!;
      let id = combined.get(key);
      if (id === undefined) combined.set(key, (id = combined.size));
      out[i] = id;
    }
    keyOf = out;
    keys = combined.size;
  }
  return { keyOf, keys };
}

/** Groups records by one rule's key with a counting sort; key ids follow first appearance, so order is stable. */
export function groupByRule(records: readonly NormalisedRecord[], rule: BlockingRule, cache: PartIdCache = new Map()): RuleBlocks {
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
  records: readonly NormalisedRecord[],
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
          const mask = sharedRules(blocks, i, j, maxBlock);
          if ((mask & ((1 << r) - 1)) !== 0) continue;
          stat.newPairs++;
          visit(i, j, mask);
        }
      }
    }
    stats.push(stat);
  }
  return stats;
}

/** Bitmask of the rules (with expandable blocks) that put records i and j in the same block. */
function sharedRules(blocks: RuleBlocks[], i: number, j: number, maxBlock: number): number {
  let mask = 0;
  for (let q = 0; q < blocks.length; q++) {
    const keyOf = blocks[q]!.keyOf;
    const key = keyOf[i]!;
    if (key >= 0 && key === keyOf[j] && blocks[q]!.sizes[key]! <= maxBlock) mask |= 1 << q;
  }
  return mask;
}

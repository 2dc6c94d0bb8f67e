import { histogramFromMap, packLevels } from './batch.ts';
import type { Batch } from './batch.ts';
import { groupByRule } from './blocking.ts';
import { COMPARISONS, COMPARISON_INDEX, compareAll } from './comparisons.ts';
import { posteriors, runEm } from './em.ts';
import type { LevelProbabilities, PatternHistogram } from './em.ts';
import type { BlockingRule, MatchModel } from './model.ts';
import { keyPartValue } from './key-parts.ts';
import type { PreparedRecord } from './prepared.ts';

/**
 * People who live together share a family name far more often than two random people do: spouses, children,
 * parents. Scoring a shared family name with the population u when the address is also shared counts the
 * household twice (Fellegi-Sunter assumes the fields independent). Here we estimate u of the family-name
 * levels among non-matching pairs at the same address, from the data: pairs at one street address, with
 * duplicates removed by an E-step on the personal fields (given name, birth date, sex, SSN, email, middle name).
 */

/** Location levels that mean "same household" (same address, or same phone after a move). */
export const HOUSEHOLD_LEVELS = ['address_and_phone', 'address', 'phone'] as const;

/**
 * Largest same-address group expanded. Households are small; a bigger group is an apartment block, nursing
 * home or shelter, where the unit line decides and pairs are not households.
 */
const MAX_ADDRESS_GROUP = 30;
/** Pairs sampled at most: proportions settle long before. */
const MAX_ADDRESS_PAIRS = 1_000_000;
/** Pseudo-pairs pulling the estimate towards the population u when a dataset has few households. */
const SMOOTHING_PAIRS = 20;

/** A household: the records at one street address, and those that share a phone number. */
const SAME_ADDRESS: BlockingRule = { name: 'same_address', parts: ['streetNumber', 'streetName', 'postalCode'] };
const SAME_PHONE: BlockingRule = { name: 'same_phone', parts: ['phone'] };

const PERSONAL = new Set(['givenName', 'middleName', 'birthDate', 'sex', 'ssn', 'email']);
const WIDTH = COMPARISONS.length;
const FAMILY = COMPARISON_INDEX.get('familyName')!;
const LOCATION = COMPARISON_INDEX.get('location')!;

/**
 * Comparison patterns of pairs of records of one household whose location agrees as a household's does: the data
 * `householdFamilyU` fits. A household is the records at one street address, and those that share a phone number
 * without sharing an address (a household that moved, or a feed that sends a phone and no address); a pair at one
 * address is counted once. It depends on the records alone, so it can be built before (or beside) the blocking.
 */
export function sameAddressHistogram(batch: Pick<Batch, 'prepared' | 'sources' | 'mode'>): PatternHistogram {
  const householdLevel = new Set(HOUSEHOLD_LEVELS.map((l) => COMPARISONS[LOCATION]!.levels.indexOf(l) + 1));
  const counts = new Map<number, number>();
  const levels = new Uint8Array(WIDTH);
  const { sources, mode, prepared } = batch;
  let pairs = 0;
  for (const rule of [SAME_ADDRESS, SAME_PHONE]) {
    const byPhone = rule === SAME_PHONE;
    const blocks = groupByRule(prepared, rule);
    for (let k = 0; k < blocks.sizes.length && pairs < MAX_ADDRESS_PAIRS; k++) {
      const size = blocks.sizes[k]!;
      if (size < 2 || size > MAX_ADDRESS_GROUP) continue;
      const start = blocks.offsets[k]!;
      for (let x = start; x < start + size; x++) {
        for (let y = x + 1; y < start + size; y++) {
          const i = blocks.members[x]!;
          const j = blocks.members[y]!;
          if (sources && mode !== 'link-and-dedupe' && (sources[i] === sources[j]) === (mode === 'link')) continue;
          if (byPhone && sameAddress(prepared[i]!, prepared[j]!)) continue;
          compareAll(prepared[i]!, prepared[j]!, levels);
          if (!householdLevel.has(levels[LOCATION]!)) continue;
          const [lo, hi] = packLevels(levels);
          const key = hi * 4294967296 + lo;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          pairs++;
        }
      }
    }
  }
  return histogramFromMap(counts);
}

/** Whether two records are at one street address as the same-address grouping keys it (counted there). */
function sameAddress(a: PreparedRecord, b: PreparedRecord): boolean {
  return SAME_ADDRESS.parts.every((part) => {
    const value = keyPartValue(a, part);
    return value !== null && value === keyPartValue(b, part);
  });
}

/**
 * u of each family-name level among non-matches in one household, smoothed towards the population u
 * (`SMOOTHING_PAIRS`), as a model `conditionalU`.
 */
export function householdFamilyU(
  batch: Batch,
  params: { m: LevelProbabilities; u: LevelProbabilities },
  maxIterations: number,
  h: PatternHistogram = sameAddressHistogram(batch),
): NonNullable<MatchModel['comparisons'][number]['conditionalU']> {
  const free = COMPARISONS.map((c) => PERSONAL.has(c.name));
  const fit = runEm(h, { m: params.m, u: params.u, lambda: 0.5 }, { free, maxIterations, tolerance: 1e-6, updateM: false });
  const post = new Float64Array(h.size);
  posteriors(h, params.m, params.u, fit.lambda, free, post);
  const population = params.u[FAMILY]!;
  const sums = new Float64Array(population.length);
  let support = 0;
  for (let p = 0; p < h.size; p++) {
    const level = h.levels[p * WIDTH + FAMILY]!;
    if (level === 0) continue;
    const nonMatch = h.counts[p]! * (1 - post[p]!);
    sums[level]! += nonMatch;
    support += nonMatch;
  }
  const u = [...population.slice(1)].map((pu, i) => (sums[i + 1]! + SMOOTHING_PAIRS * pu) / (support + SMOOTHING_PAIRS));
  return { when: { comparison: 'location', levels: [...HOUSEHOLD_LEVELS] }, u, support };
}

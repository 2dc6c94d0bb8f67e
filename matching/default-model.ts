import { COMPARISONS } from './comparisons.ts';
import { CONFLICT_RULES } from './conflicts.ts';
import { MODEL_FORMAT } from './model.ts';
import type { BlockingRule, MatchModel } from './model.ts';
import { NORMALISER_VERSION } from './normalise.ts';

/**
 * Blocking rules, OR'ed so that one bad field cannot hide a true match: strong identifiers alone; the birth
 * date with either name, the postcode or the house number; both names (in either order) with the birth year
 * or the day of the year (for date typos); the postcode or street address with either name (for records whose
 * date is wrong or missing). Every rule keys on values that are rare in a population.
 *
 * Two rules near the end serve sparse sources (a lab or immunisation feed with names, birth date and sex only): the
 * mailbox part of an email (domains are where typos land, and are shared by millions), and both names alone,
 * for a record whose birth date is wrong in both year and day. They come last and were kept by a blocking
 * analysis (`npm run bench:accuracy` prints it, as Splink's cumulative comparison counts do): on the
 * 100,000-record synthetic registry they add 16% more pairs, on sparse sets 10-20 points of blocking recall.
 * The names block also gives EM a session in which the birth date is free, so its m is learnt rather than
 * assumed (Splink's guidance: train each comparison from a blocking rule that does not fix it). Blocks over
 * `MAX_BLOCK_SIZE` (a very common name) are skipped, which bounds the pair count.
 *
 * The last rule, for sparse sources too, keys on the given name's code, the family name's first three letters and the birth year: it
 * finds a record with a typo late in the family name (which changes its phonetic code) and one in the day or
 * month of birth at once, which no other rule survives (rldata500: Klein/Kleibn, the 20th against the 29th).
 * A prefix rather than the given name with the birth month, because the given name's code with a year and
 * month is shared by many strangers: on the 100,000-record registry that rule added 32,582 pairs, none true,
 * where this one adds 1,149.
 */
export const DEFAULT_BLOCKING_RULES: BlockingRule[] = [
  { name: 'ssn', parts: ['ssn'] },
  { name: 'phone', parts: ['phone'] },
  { name: 'email', parts: ['email'] },
  { name: 'dob_family', parts: ['birthDate', 'familyPhonetic'] },
  { name: 'dob_given', parts: ['birthDate', 'givenPhonetic'] },
  { name: 'dob_postal', parts: ['birthDate', 'postalCode'] },
  { name: 'names_year', parts: ['namePhonetics', 'birthYear'] },
  { name: 'names_day', parts: ['namePhonetics', 'birthMonthDay'] },
  { name: 'postal_given', parts: ['postalCode', 'givenPhonetic'] },
  { name: 'postal_family', parts: ['postalCode', 'familyPhonetic'] },
  { name: 'names_city', parts: ['namePhonetics', 'city'] },
  { name: 'street_family', parts: ['streetNumber', 'streetName', 'familyPhonetic'] },
  { name: 'street_given', parts: ['streetNumber', 'streetName', 'givenPhonetic'] },
  { name: 'dob_street', parts: ['birthDate', 'streetNumber'] },
  { name: 'email_local', parts: ['emailLocal'] },
  { name: 'names', parts: ['namePhonetics'] },
  { name: 'names_prefix_year', parts: ['givenPhonetic', 'familyPrefix', 'birthYear'] },
];

/**
 * Default thresholds. 0.95 auto-links only pairs at least 19:1 in favour (a false link merges two patients,
 * the costlier error); pairs from 0.5 (even odds) up go to a steward.
 */
export const DEFAULT_MATCH_THRESHOLD = 0.95;
export const DEFAULT_REVIEW_THRESHOLD = 0.5;

/**
 * Cold-start prior: the share of matching pairs in a registry of about 100,000 records of which half are
 * repeat registrations (5e4 matches among 5e9 pairs). Training replaces it with an estimate from the data.
 */
export const DEFAULT_PRIOR = 1e-5;

/**
 * Untrained m (share among matches) and u (share among non-matches) per level, in level order: round values of
 * the size trained person-linkage models show (names and dates agree in 80-90% of true matches; u follows the
 * spread of values in a population, e.g. one birth date in ~20,000). Training replaces them.
 */
const DEFAULT_LEVELS: Record<string, [m: number, u: number][]> = {
  givenName: [
    [0.82, 0.012],
    [0.04, 0.002],
    [0.06, 0.003],
    [0.01, 0.0001],
    [0.02, 0.004],
    [0.02, 0.03],
    [0.015, 0.02],
    [0.015, 0.9289],
  ],
  familyName: [
    [0.83, 0.006],
    [0.07, 0.002],
    [0.03, 0.002],
    [0.02, 0.004],
    [0.02, 0.03],
    [0.03, 0.956],
  ],
  middleName: [
    [0.8, 0.05],
    [0.12, 0.03],
    [0.03, 0.01],
    [0.05, 0.91],
  ],
  birthDate: [
    [0.9, 0.00005],
    [0.05, 0.0005],
    [0.01, 0.00002],
    [0.02, 0.003],
    [0.02, 0.99643],
  ],
  sex: [
    [0.98, 0.5],
    [0.02, 0.5],
  ],
  ssn: [
    [0.92, 0.000001],
    [0.05, 0.00002],
    [0.01, 0.0002],
    [0.02, 0.999777],
  ],
  email: [
    [0.8, 0.00001],
    [0.1, 0.001],
    [0.1, 0.99899],
  ],
  location: [
    [0.45, 0.00002],
    [0.25, 0.0001],
    [0.05, 0.0001],
    [0.08, 0.001],
    [0.02, 0.002],
    [0.06, 0.005],
    [0.04, 0.02],
    [0.05, 0.97178],
  ],
};

/** A sensible untrained model: usable by a cold-start service before any training run. */
export function defaultModel(options: { createdAt?: string; version?: string } = {}): MatchModel {
  const comparisons = COMPARISONS.map((c) => {
    const table = DEFAULT_LEVELS[c.name];
    if (!table || table.length !== c.levels.length) throw new Error(`default levels missing for ${c.name}`);
    return { name: c.name, levels: c.levels.map((id, i) => ({ id, m: table[i]![0], u: table[i]![1] })) };
  });
  // Built by our own code from typed constants, so it is valid by construction (a unit test parses it).
  return {
    format: MODEL_FORMAT,
    version: options.version ?? 'default-1',
    createdAt: options.createdAt ?? '1970-01-01T00:00:00.000Z',
    normaliserVersion: NORMALISER_VERSION,
    prior: DEFAULT_PRIOR,
    thresholds: { matchThreshold: DEFAULT_MATCH_THRESHOLD, reviewThreshold: DEFAULT_REVIEW_THRESHOLD },
    comparisons,
    blockingRules: DEFAULT_BLOCKING_RULES.map((r) => ({ name: r.name, parts: [...r.parts] })),
    conflictRules: [...CONFLICT_RULES],
  };
}

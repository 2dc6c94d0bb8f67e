import { describe, expect, test } from 'vitest';
import type { NormalisedRecord } from './normalise.ts';
import { linkRecords } from './link.ts';
import { parseModel } from './model.ts';
import type { RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { mulberry32 } from './random.ts';
import { compileModel, pairWeightsOf, recordsWeigher, weightOfLevels } from './scoring.ts';
import { buildBatch, unpackLevels } from './batch.ts';
import { COMPARISONS } from './comparisons.ts';
import { DEFAULT_BLOCKING_RULES } from './default-model.ts';
import {
  MAX_IDENTIFIER_DISAGREEMENT,
  addLevelCounts,
  anchoredDisagreement,
  anchoredGivenDisagreement,
  countClaimedChunks,
  countLevels,
  defaultRandomPairs,
  randomPairs,
  trainModel,
} from './training.ts';

const GIVEN = [
  'james',
  'mary',
  'john',
  'patricia',
  'robert',
  'jennifer',
  'michael',
  'linda',
  'david',
  'susan',
  'omar',
  'mei',
  'priya',
  'tomas',
  'ines',
];
const FAMILY = [
  'smith',
  'johnson',
  'garcia',
  'nguyen',
  'okafor',
  'kowalski',
  'haddad',
  'lindqvist',
  'ferreira',
  'tanaka',
  'obrien',
  'schmidt',
  'rossi',
  'moreau',
  'patel',
  'cohen',
  'silva',
  'novak',
];

/** `YYYY-MM-DD` of a year, month and day. */
const isoDate = (year: number, month: number, day: number) => `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

/** A birth date drawn from 1930-2009 (year, month, then day, from `rng`). */
const randomBirthDate = (rng: () => number) =>
  isoDate(1930 + Math.floor(rng() * 80), 1 + Math.floor(rng() * 12), 1 + Math.floor(rng() * 28));

function typo(value: string, rng: () => number): string {
  const i = Math.floor(rng() * value.length);
  return value.slice(0, i) + String.fromCharCode(97 + Math.floor(rng() * 26)) + value.slice(i + 1);
}

/** People with 1-3 records each and occasional typos or missing values; returns records and truth. */
function population(people: number, seed: number): { inputs: RecordInput[]; person: number[] } {
  const rng = mulberry32(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rng() * list.length)]!;
  const inputs: RecordInput[] = [];
  const person: number[] = [];
  for (let p = 0; p < people; p++) {
    const base = {
      givenName: pick(GIVEN),
      familyName: pick(FAMILY),
      birthDate: randomBirthDate(rng),
      ssn: `${100 + Math.floor(rng() * 800)}-${10 + Math.floor(rng() * 89)}-${1000 + Math.floor(rng() * 8999)}`,
      postalCode: String(10000 + Math.floor(rng() * 500)),
      addressLine1: `${1 + Math.floor(rng() * 900)} ${pick(['oak', 'elm', 'pine', 'main', 'lake'])} st`,
    };
    const copies = 1 + Math.floor(rng() * 3);
    for (let c = 0; c < copies; c++) {
      const r: RecordInput = { ...base };
      if (rng() < 0.15) r.givenName = typo(base.givenName, rng);
      if (rng() < 0.1) r.familyName = typo(base.familyName, rng);
      if (rng() < 0.2) r.ssn = null;
      if (rng() < 0.2) r.addressLine1 = null;
      inputs.push(r);
      person.push(p);
    }
  }
  return { inputs, person };
}

const { inputs, person } = population(800, 5);
const records = inputs.map((r) => normaliseRecord(r).record);

describe('trainModel', () => {
  const { model, summary } = trainModel(records, { seed: 3, createdAt: '2025-01-01T00:00:00.000Z' });

  test('learns that agreement is common among matches and rare among non-matches', () => {
    const level = (name: string, id: string) => model.comparisons.find((c) => c.name === name)!.levels.find((l) => l.id === id)!;
    expect(level('givenName', 'exact').m).toBeGreaterThan(0.7);
    expect(level('givenName', 'exact').u).toBeLessThan(0.15);
    expect(level('birthDate', 'exact').m).toBeGreaterThan(0.9);
    expect(level('birthDate', 'exact').u).toBeLessThan(0.001);
    expect(level('ssn', 'else').m).toBeLessThan(0.05);
  });

  test('estimates the number of matching pairs close to the truth', () => {
    const sizes = new Map<number, number>();
    for (const p of person) sizes.set(p, (sizes.get(p) ?? 0) + 1);
    const truePairs = [...sizes.values()].reduce((s, n) => s + (n * (n - 1)) / 2, 0);
    expect(summary.expectedMatches / truePairs).toBeGreaterThan(0.9);
    expect(summary.expectedMatches / truePairs).toBeLessThan(1.1);
  });

  test('produces a valid, JSON-serialisable model', () => {
    expect(parseModel(JSON.parse(JSON.stringify(model)))).toEqual(model);
    expect(model.createdAt).toBe('2025-01-01T00:00:00.000Z');
  });

  test('is deterministic for a seed', () => {
    const again = trainModel(records, { seed: 3, createdAt: '2025-01-01T00:00:00.000Z' }).model;
    expect(JSON.stringify(again)).toBe(JSON.stringify(model));
  });

  test.each([
    ['every pair of a small input', 300],
    ['a seeded sample', records.length],
  ])('trains the same model when the random pairs of %s are counted in shares elsewhere', (_, size) => {
    const some = records.slice(0, size);
    const batch = buildBatch(some, { rules: DEFAULT_BLOCKING_RULES });
    const pairs = randomPairs(batch, defaultRandomPairs(size), 3);
    const third = Math.floor(pairs.pairA.length / 3);
    const counts = countLevels(batch.prepared, pairs, third, pairs.pairA.length);
    addLevelCounts(counts, countLevels(batch.prepared, pairs, 0, third));
    const options = { seed: 3, createdAt: '2025-01-01T00:00:00.000Z' };
    const here = trainModel(batch, options).model;
    const shared = trainModel(batch, { ...options, randomLevels: { counts, sampled: pairs.pairA.length } }).model;
    expect(here.training?.randomPairs).toBe(Math.min((size * (size - 1)) / 2, defaultRandomPairs(size)));
    expect(JSON.stringify(shared)).toBe(JSON.stringify(here));
  });

  test('counts every chunk of the random pairs once, however the claims interleave', () => {
    const batch = buildBatch(records.slice(0, 400), { rules: DEFAULT_BLOCKING_RULES });
    const pairs = randomPairs(batch, 5_000, 3);
    const next = new Int32Array(new SharedArrayBuffer(4));
    // Two claimers: the first takes two chunks (as a thread that was busy), the second everything left.
    const first = countLevels(batch.prepared, pairs, 0, 0);
    for (let claim = 0; claim < 2; claim++) {
      const from = Atomics.add(next, 0, 1) * 700;
      addLevelCounts(first, countLevels(batch.prepared, pairs, from, Math.min(pairs.pairA.length, from + 700)));
    }
    const rest = countClaimedChunks(batch.prepared, pairs, next, 700);
    expect(countClaimedChunks(batch.prepared, pairs, next, 700)).toBeNull();
    addLevelCounts(first, rest!);
    const whole = countLevels(batch.prepared, pairs, 0, pairs.pairA.length);
    expect(first.map((c) => [...c])).toEqual(whole.map((c) => [...c]));
    expect(first[0]!.reduce((a, b) => a + b, 0)).toBe(pairs.pairA.length);
  });

  test('keeps the conflict rules when identifiers proved reliable', () => {
    expect(model.conflictRules).toEqual(expect.arrayContaining(['ssn_conflict', 'twin', 'generation_gap', 'generation_suffix']));
  });

  test('links the population accurately with the trained model', () => {
    const result = linkRecords(records, model);
    let wrong = 0;
    let pairs = 0;
    for (let k = 0; k < result.links.count; k++) {
      pairs++;
      if (person[result.links.a[k]!] !== person[result.links.b[k]!]) wrong++;
    }
    expect(pairs).toBeGreaterThan(0);
    expect(wrong / pairs).toBeLessThan(0.01);
  });

  test('links its own batch with the weights its threshold search worked out, as weighing them afresh does', () => {
    const trained = trainModel(records, { seed: 3 });
    const kept = pairWeightsOf(trained.batch, compileModel(trained.model));
    expect(kept).not.toBeNull();
    expect(kept!.length).toBe(trained.batch.pairCount);
    const reused = linkRecords(trained.batch, trained.model);
    // A copy of the model compiles anew, so nothing kept applies: every pair is weighed again.
    const copy = structuredClone(trained.model);
    expect(pairWeightsOf(trained.batch, compileModel(copy))).toBeNull();
    const afresh = linkRecords(trained.batch, copy);
    expect(reused.links.count).toBeGreaterThan(0);
    expect(Array.from(reused.links.weight)).toEqual(Array.from(afresh.links.weight));
    expect(Array.from(reused.links.a)).toEqual(Array.from(afresh.links.a));
    expect(Array.from(reused.links.b)).toEqual(Array.from(afresh.links.b));
    expect(reused.conflictVetoes).toBe(afresh.conflictVetoes);
    expect(Array.from(reused.clusterOf)).toEqual(Array.from(afresh.clusterOf));
  });

  test("weighs every pair to the last bit as weightOfLevels does, with each record's adjustments looked up once", () => {
    const { batch, model } = trainModel(records, { seed: 3 });
    const cm = compileModel(model);
    expect(cm.tf.filter((t) => t !== null).length + cm.rarity.filter((r) => r !== null).length).toBeGreaterThan(1);
    const weigh = recordsWeigher(cm, batch.prepared);
    const levels = new Uint8Array(COMPARISONS.length);
    let adjusted = 0;
    for (let p = 0; p < batch.pairCount; p++) {
      unpackLevels(batch.levelsLo[p]!, batch.levelsHi[p]!, levels);
      const a = batch.prepared[batch.pairA[p]!]!;
      const expected = weightOfLevels(cm, a, levels);
      // Twice: the second reads the adjustments the first looked up.
      expect(weigh(batch.pairA[p]!, levels)).toBe(expected);
      expect(weigh(batch.pairA[p]!, levels)).toBe(expected);
      if (levels.some((level, k) => level === 1 && (cm.tf[k] !== null || cm.rarity[k] !== null))) adjusted++;
    }
    expect(adjusted).toBeGreaterThan(100);
  });
});

test('counts m from labelled matches when labels are given', () => {
  const labels = [];
  for (let i = 0; i < records.length; i++) {
    for (let j = i + 1; j < Math.min(records.length, i + 4); j++) labels.push({ a: i, b: j, match: person[i] === person[j] });
  }
  const { summary, model } = trainModel(records, { seed: 3, labels });
  expect(summary.labelled).toBe(true);
  expect(model.comparisons.find((c) => c.name === 'birthDate')!.levels[0]!.m).toBeGreaterThan(0.9);
});

describe('the twin rule under many twins', () => {
  /** People with two records each (same SSN and birth date), and a co-twin for every second one. */
  function twinsRegistry(): NormalisedRecord[] {
    const rng = mulberry32(9);
    const out: NormalisedRecord[] = [];
    const names = ['ava', 'eva', 'liam', 'noah', 'mia', 'ella', 'owen', 'evan', 'lila', 'lily', 'jack', 'zack'];
    for (let p = 0; p < 400; p++) {
      const family = `${FAMILY[p % FAMILY.length]}${String.fromCharCode(97 + (p % 26))}`;
      const birthDate = isoDate(1950 + (p % 60), 1 + (p % 12), 1 + (p % 28));
      const address = `${p + 1} oak st`;
      const people = p % 2 === 0 ? [names[p % 12]!, names[(p + 1) % 12]!] : [names[p % 12]!];
      people.forEach((given, t) => {
        const ssn = `${100 + p}-${20 + t}-${1000 + Math.floor(rng() * 8999)}`;
        for (let c = 0; c < 2; c++) {
          const r: RecordInput = { givenName: given, familyName: family, birthDate, ssn, addressLine1: address, postalCode: '10001' };
          if (rng() < 0.02) r.givenName = typo(given, rng);
          out.push(normaliseRecord(r).record);
        }
      });
    }
    return out;
  }

  test('judges given-name reliability on pairs that agree on SSN and birth date, so twins cannot switch the rule off', () => {
    const records = twinsRegistry();
    const { model, batch } = trainModel(records, { seed: 2 });
    expect(anchoredGivenDisagreement(batch)).toBeLessThan(MAX_IDENTIFIER_DISAGREEMENT);
    expect(model.conflictRules).toContain('twin');
  });
});

describe('the middle-name twin rule', () => {
  /** People with two records each (same SSN and birth date) and a middle name that changes in `changed` of records. */
  function middleNames(changed: number): NormalisedRecord[] {
    const rng = mulberry32(5);
    const middles = ['rose', 'grace', 'james', 'lee', 'marie', 'ann', 'paul', 'jean', 'lynn', 'ray'];
    const out: NormalisedRecord[] = [];
    for (let p = 0; p < 400; p++) {
      const birthDate = isoDate(1950 + (p % 60), 1 + (p % 12), 1 + (p % 28));
      const base: RecordInput = {
        givenName: GIVEN[p % GIVEN.length]!,
        familyName: `${FAMILY[p % FAMILY.length]}${String.fromCharCode(97 + (p % 26))}`,
        middleName: middles[p % middles.length]!,
        birthDate,
        ssn: `${100 + p}-20-${1000 + Math.floor(rng() * 8999)}`,
        addressLine1: `${p + 1} elm st`,
        postalCode: '10001',
      };
      for (let c = 0; c < 2; c++) {
        const middleName = c === 1 && rng() < changed ? middles[(p + 3) % middles.length]! : base.middleName;
        out.push(normaliseRecord({ ...base, middleName }).record);
      }
    }
    return out;
  }

  test.each([
    ['keeps it where middle names agree among pairs that share SSN and birth date', 0.005, true],
    ['drops it where a tenth of those pairs disagree on the middle name', 0.1, false],
  ])('%s', (_label, changed, kept) => {
    const { model, batch } = trainModel(middleNames(changed), { seed: 4 });
    const disagreement = anchoredDisagreement(batch, 'middleName', ['else'])!;
    expect(disagreement > MAX_IDENTIFIER_DISAGREEMENT).toBe(!kept);
    expect(model.conflictRules.includes('twin_middle_name')).toBe(kept);
    expect(model.conflictRules).toContain('twin');
  });
});

const MIDDLE = ['ann', 'lee', 'marie', 'james', 'rose', 'ray', 'jean', 'paul', 'lynn', 'grace', 'dale', 'joy', 'may', 'kay'];

/**
 * People with two or three records each; every third also has a child named after them (given, middle and family
 * name), born 20-35 years later, with records of their own. With `ssn`, every record carries its person's SSN, and
 * `wrongDates` of second records an unrelated birth date, `wrongSsns` an unrelated SSN; without it the records
 * hold names, sex and birth date only, as a lab or immunisation feed sends them. Without `dates`, no birth date.
 */
function namesakes(
  ssn: boolean,
  wrongDates: number,
  { wrongSsns = 0, dates = true }: { wrongSsns?: number; dates?: boolean } = {},
): { records: NormalisedRecord[]; person: number[] } {
  const rng = mulberry32(12);
  const records: NormalisedRecord[] = [];
  const person: number[] = [];
  // Each person's own birth day: the year from p, the day of the year from p / 30.
  const date = (year: number, p: number) => isoDate(year, 1 + (Math.floor(p / 30) % 12), 1 + Math.floor(p / 30));
  const add = (id: number, base: RecordInput, copies: number) => {
    for (let c = 0; c < copies; c++) {
      const birthDate = c === 1 && rng() < wrongDates ? date(1920 + Math.floor(rng() * 90), Math.floor(rng() * 600)) : base.birthDate;
      const wrongSsn = base.ssn !== null && c === 1 && rng() < wrongSsns;
      const record = {
        ...base,
        birthDate: dates ? birthDate : null,
        ssn: wrongSsn ? `${300 + Math.floor(rng() * 300)}-50-${1000 + Math.floor(rng() * 8999)}` : base.ssn,
      };
      records.push(normaliseRecord(record).record);
      person.push(id);
    }
  };
  for (let p = 0; p < 600; p++) {
    const base: RecordInput = {
      givenName: GIVEN[p % GIVEN.length]!,
      middleName: MIDDLE[(p * 7) % MIDDLE.length]!,
      familyName: `${FAMILY[p % FAMILY.length]} ${FAMILY[Math.floor(p / FAMILY.length) % FAMILY.length]}`,
      sex: p % 2 === 0 ? 'M' : 'F',
      birthDate: date(1940 + (p % 30), p),
      ssn: ssn ? `${100 + (p % 500)}-30-${1000 + Math.floor(rng() * 8999)}` : null,
    };
    add(2 * p, base, 2 + (p % 2));
    if (p % 3 === 0) {
      const child = { ...base, birthDate: date(1940 + (p % 30) + 20 + (p % 16), p + 150) };
      add(2 * p + 1, { ...child, ssn: ssn ? `${600 + (p % 60)}-40-${1000 + Math.floor(rng() * 8999)}` : null }, 2);
    }
  }
  return { records, person };
}

/** Links of the trained model that join two people. */
function overlaysOf(result: ReturnType<typeof linkRecords>, person: number[]): number {
  let overlays = 0;
  for (let k = 0; k < result.links.count; k++) if (person[result.links.a[k]!] !== person[result.links.b[k]!]) overlays++;
  return overlays;
}

describe('the rules that parents and children who share their names would train away', () => {
  test.each([
    ['generation_gap', 'names, sex and birth date', 'birthDate', { ssn: false, dates: true }],
    ['ssn_conflict', 'names, sex and SSN', 'ssn', { ssn: true, dates: false }],
  ] as const)('keeps %s for %s alone, though EM counts each parent and child as one person', (rule, _feed, comparison, shape) => {
    const { records, person } = namesakes(shape.ssn, 0, { dates: shape.dates });
    const { model, batch } = trainModel(records, { seed: 6 });
    const trained = model.comparisons.find((c) => c.name === comparison)!;
    // What EM learnt: far more true matches that differ outright than any registry has.
    expect(trained.levels.find((l) => l.id === 'else')!.m).toBeGreaterThan(MAX_IDENTIFIER_DISAGREEMENT);
    expect(anchoredDisagreement(batch, comparison, ['else'])).toBeNull();
    expect(model.conflictRules).toContain(rule);
    const result = linkRecords(batch, model);
    expect(result.links.count).toBeGreaterThan(600);
    expect(overlaysOf(result, person)).toBe(0);
  });

  test.each([
    ['generation_gap', 'birthDate', 'keeps it where pairs that share an SSN agree on the birth date', 0, true],
    ['generation_gap', 'birthDate', 'drops it where one in five second records carries an unrelated birth date', 0.2, false],
    ['ssn_conflict', 'ssn', 'keeps it where pairs that share names and birth date agree on the SSN', 0, true],
    ['ssn_conflict', 'ssn', 'drops it where one in five second records carries an unrelated SSN', 0.2, false],
  ] as const)('%s (%s): %s', (rule, comparison, _label, wrong, kept) => {
    const options = comparison === 'ssn' ? { wrongSsns: wrong } : {};
    const { model, batch } = trainModel(namesakes(true, comparison === 'birthDate' ? wrong : 0, options).records, { seed: 6 });
    const disagreement = anchoredDisagreement(batch, comparison, ['else'])!;
    expect(disagreement > MAX_IDENTIFIER_DISAGREEMENT).toBe(!kept);
    expect(model.conflictRules.includes(rule)).toBe(kept);
  });
});

/**
 * 96 common names, each carried by six unrelated people with two records each: names, sex and birth date only,
 * with a middle name in 60% of records (`middle`) or in none.
 */
function commonNames(middle: boolean): { records: NormalisedRecord[]; person: number[] } {
  const rng = mulberry32(31);
  const male = ['james', 'john', 'robert', 'michael', 'david', 'omar', 'tomas', 'liam'];
  const female = ['mary', 'patricia', 'jennifer', 'linda', 'susan', 'mei', 'priya', 'ines'];
  const records: NormalisedRecord[] = [];
  const person: number[] = [];
  for (let n = 0; n < 96; n++) {
    const sex = n % 2 === 1 ? 'F' : 'M';
    const givenName = (sex === 'F' ? female : male)[Math.floor(n / 2) % 8]!;
    const familyName = FAMILY[n % FAMILY.length]!;
    for (let k = 0; k < 6; k++) {
      const birthDate = randomBirthDate(rng);
      const middleName = MIDDLE[Math.floor(rng() * MIDDLE.length)]!;
      for (let c = 0; c < 2; c++) {
        const kept = middle && rng() < 0.6 ? middleName : null;
        records.push(normaliseRecord({ givenName, middleName: kept, familyName, sex, birthDate }).record);
        person.push(n * 6 + k);
      }
    }
  }
  return { records, person };
}

describe('training on blocks of one given name', () => {
  test('holds the sex out with the given name, so namesakes in a common-name block are not taken for matches', () => {
    const { records, person } = commonNames(true);
    const { model, batch } = trainModel(records, { seed: 8 });
    const birthDate = model.comparisons.find((c) => c.name === 'birthDate')!;
    // Left free, sex agreement within the block read as evidence, and EM learnt that 90% of matches differ in birth date.
    expect(birthDate.levels.find((l) => l.id === 'else')!.m).toBeLessThan(0.1);
    const result = linkRecords(batch, model);
    expect(result.links.count).toBeGreaterThan(500);
    expect(overlaysOf(result, person)).toBe(0);
  });

  test('leaves out a session whose pairs carry one free comparison, which EM cannot split into two classes', () => {
    const { model, summary } = trainModel(commonNames(false).records, { seed: 8 });
    // The names rule holds the names and the sex; without middle names only the birth date is left to it.
    expect(summary.emSessions.map((s) => s.rule)).not.toContain('names');
    expect(summary.emSessions.map((s) => s.rule)).toContain('dob_family');
    const birthDate = model.comparisons.find((c) => c.name === 'birthDate')!;
    expect(birthDate.levels.find((l) => l.id === 'else')!.m).toBeLessThan(0.1);
  });
});

describe('conflict rules on a comparison no session could train', () => {
  test('keeps the twin rule for a feed of names and birth date alone, and no twins join', () => {
    const rng = mulberry32(41);
    const records: NormalisedRecord[] = [];
    const person: number[] = [];
    const given = GIVEN.slice(0, 12);
    // 300 families with twins of different given names, each twin with two records: given name, family name and
    // birth date only (no sex, no middle name), as some feeds send them.
    for (let f = 0; f < 300; f++) {
      const familyName = `${FAMILY[f % FAMILY.length]} ${FAMILY[Math.floor(f / FAMILY.length) % FAMILY.length]}`;
      // A birth date of each family's own: its year and month from f.
      const birthDate = isoDate(1930 + (f % 80), 1 + (Math.floor(f / 80) % 12), 1 + ((f * 7) % 28));
      const first = Math.floor(rng() * given.length);
      const names = [given[first]!, given[(first + 1 + Math.floor(rng() * (given.length - 1))) % given.length]!];
      names.forEach((givenName, t) => {
        for (let c = 0; c < 2; c++) {
          records.push(normaliseRecord({ givenName, familyName, birthDate }).record);
          person.push(2 * f + t);
        }
      });
    }
    const { model, batch, summary } = trainModel(records, { seed: 9 });
    // Every rule holds all but one of the three comparisons: no session runs, and m stays the default model's.
    expect(summary.emSessions).toEqual([]);
    expect(model.conflictRules).toContain('twin');
    const result = linkRecords(batch, model);
    expect(result.links.count).toBeGreaterThanOrEqual(600);
    expect(overlaysOf(result, person)).toBe(0);
  });
});

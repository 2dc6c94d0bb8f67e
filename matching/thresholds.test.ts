import { describe, expect, test } from 'vitest';
import { buildBatch, unpackLevels } from './batch.ts';
import { COMPARISONS } from './comparisons.ts';
import { DEFAULT_BLOCKING_RULES, DEFAULT_MATCH_THRESHOLD } from './default-model.ts';
import { linkRecords } from './link.ts';
import type { NormalisedRecord } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { mulberry32 } from './random.ts';
import { compileModel, weightOfLevels, weightToProbability } from './scoring.ts';
import { MIN_MATCH_THRESHOLD, TARGET_LINK_PRECISION, errorRateThreshold } from './thresholds.ts';
import { trainModel } from './training.ts';

const GIVEN = ['james', 'mary', 'john', 'patricia', 'robert', 'jennifer', 'michael', 'linda', 'david', 'susan', 'omar', 'mei'];
const FAMILY = ['smith', 'johnson', 'garcia', 'nguyen', 'okafor', 'kowalski', 'haddad', 'lindqvist', 'ferreira', 'tanaka'];

function typo(value: string, rng: () => number): string {
  const i = Math.floor(rng() * value.length);
  return value.slice(0, i) + String.fromCharCode(97 + Math.floor(rng() * 26)) + value.slice(i + 1);
}

/**
 * People with 1-3 records: `rich` ones carry an SSN, phone and address too; sparse ones (a lab feed) only names,
 * sex and a birth date, each field mistyped now and then.
 */
function population(people: number, rich: boolean): { records: NormalisedRecord[]; person: number[] } {
  const rng = mulberry32(11);
  const pick = <T>(list: T[]) => list[Math.floor(rng() * list.length)]!;
  const records: NormalisedRecord[] = [];
  const person: number[] = [];
  for (let p = 0; p < people; p++) {
    const year = 1930 + Math.floor(rng() * 80);
    const month = String(1 + Math.floor(rng() * 12)).padStart(2, '0');
    const day = String(1 + Math.floor(rng() * 28)).padStart(2, '0');
    const given = Math.floor(rng() * GIVEN.length);
    const sex = given % 2 === 0 ? 'M' : 'F';
    const base = { givenName: GIVEN[given]!, familyName: pick(FAMILY), sex, birthDate: `${year}-${month}-${day}` };
    const extra = rich
      ? {
          ssn: `${100 + Math.floor(rng() * 800)}-${10 + Math.floor(rng() * 89)}-${1000 + Math.floor(rng() * 8999)}`,
          phone: `503555${1000 + p}`,
        }
      : {};
    for (let c = 1 + Math.floor(rng() * 3); c > 0; c--) {
      const r = { ...base, ...extra };
      if (rng() < 0.3) r.givenName = typo(base.givenName, rng);
      if (rng() < 0.3) r.familyName = typo(base.familyName, rng);
      if (rng() < 0.3) r.birthDate = `${year + 1}-${month}-${day}`;
      records.push(normaliseRecord(r).record);
      person.push(p);
    }
  }
  return { records, person };
}

/** The model's own mean probability over the candidate pairs at or above `threshold`. */
function expectedPrecision(records: NormalisedRecord[], threshold: number, model: ReturnType<typeof trainModel>['model']): number {
  const batch = buildBatch(records, { rules: DEFAULT_BLOCKING_RULES });
  const cm = compileModel(model);
  const levels = new Uint8Array(COMPARISONS.length);
  let sum = 0;
  let count = 0;
  for (let p = 0; p < batch.pairCount; p++) {
    unpackLevels(batch.levelsLo[p]!, batch.levelsHi[p]!, levels);
    const probability = weightToProbability(weightOfLevels(cm, batch.prepared[batch.pairA[p]!]!, levels));
    if (probability >= threshold) {
      sum += probability;
      count++;
    }
  }
  return sum / count;
}

describe('the match threshold of a trained model', () => {
  test('stays at the default when rich records make every link near certain', () => {
    const { records } = population(600, true);
    expect(trainModel(records, { seed: 1 }).model.thresholds.matchThreshold).toBe(DEFAULT_MATCH_THRESHOLD);
  });

  test('comes down on sparse records as far as the links stay 99% right by the model, and they do', () => {
    const { records, person } = population(600, false);
    const { model, batch } = trainModel(records, { seed: 1 });
    const threshold = model.thresholds.matchThreshold;
    expect(threshold).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
    expect(threshold).toBeGreaterThanOrEqual(MIN_MATCH_THRESHOLD);
    expect(expectedPrecision(records, threshold, model)).toBeGreaterThanOrEqual(TARGET_LINK_PRECISION - 0.001);
    expect(errorRateThreshold(batch, model)).toBe(threshold);
    const linked = linkRecords(batch, model);
    let wrong = 0;
    for (let k = 0; k < linked.links.count; k++) if (person[linked.links.a[k]!] !== person[linked.links.b[k]!]) wrong++;
    expect(wrong / linked.links.count).toBeLessThan(0.02);
  });

  test('keeps fixed thresholds when they are given', () => {
    const { records } = population(200, false);
    const thresholds = { matchThreshold: 0.97, reviewThreshold: 0.6 };
    expect(trainModel(records, { seed: 1, thresholds }).model.thresholds).toEqual(thresholds);
  });
});

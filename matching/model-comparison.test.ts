import { describe, expect, test } from 'vitest';
import { buildBatch } from './batch.ts';
import { defaultModel } from './default-model.ts';
import { MIN_LINK_RETENTION, compareModels } from './model-comparison.ts';
import { normaliseRecord, type NormalisedRecord } from './normalise.ts';
import { mulberry32 } from './random.ts';
import { trainModel } from './training.ts';

const GIVEN = ['james', 'mary', 'john', 'patricia', 'robert', 'jennifer', 'michael', 'linda', 'omar', 'mei', 'priya', 'tomas'];
const FAMILY = ['smith', 'johnson', 'garcia', 'nguyen', 'okafor', 'kowalski', 'haddad', 'lindqvist', 'ferreira', 'tanaka', 'rossi'];

/** People with one to three records each, some with a typo in the family name or a missing phone. */
function population(people: number, seed: number): NormalisedRecord[] {
  const rng = mulberry32(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rng() * list.length)]!;
  const records: NormalisedRecord[] = [];
  for (let p = 0; p < people; p++) {
    const day = String(1 + Math.floor(rng() * 28)).padStart(2, '0');
    const month = String(1 + Math.floor(rng() * 12)).padStart(2, '0');
    const base = {
      givenName: pick(GIVEN),
      familyName: pick(FAMILY),
      birthDate: `${1940 + Math.floor(rng() * 60)}-${month}-${day}`,
      phone: `555${String(Math.floor(rng() * 1e7)).padStart(7, '0')}`,
      city: pick(['springfield', 'riverton', 'lakeside']),
    };
    const copies = 1 + Math.floor(rng() * 3);
    for (let c = 0; c < copies; c++) {
      const r = { ...base };
      if (c > 0 && rng() < 0.3) r.familyName = `${r.familyName}e`;
      if (c > 0 && rng() < 0.3) r.phone = '';
      records.push(normaliseRecord(r).record);
    }
  }
  return records;
}

describe('comparing a candidate model with the active one', () => {
  const records = population(400, 7);
  const rules = defaultModel().blockingRules;
  const batch = buildBatch(records, { rules });
  const trained = trainModel(records, { seed: 1, blockingRules: rules, createdAt: '2025-01-01T00:00:00.000Z' }).model;

  test('accepts a model compared with itself: full agreement, every link kept', () => {
    const result = compareModels(batch, trained, trained);
    expect(result).toMatchObject({ accept: true, reasons: [], agreement: 1, linkRetention: 1, linkGrowth: 1 });
    expect(result.comparedPairs).toBe(batch.pairCount);
    expect(result.candidate.links).toBeGreaterThan(0);
    expect(result.candidate.expectedPrecision).toBeGreaterThanOrEqual(0.99);
  });

  test('accepts a model trained on the records over the untrained default', () => {
    const result = compareModels(batch, defaultModel(), trained);
    expect(result.reasons).toEqual([]);
    expect(result.linkRetention).toBeGreaterThanOrEqual(MIN_LINK_RETENTION);
  });

  test('rejects a model trained on one record repeated, naming the criteria it fails', () => {
    const degenerate = trainModel(
      records.map(() => records[0]!),
      { seed: 1, blockingRules: rules },
    ).model;
    const result = compareModels(batch, trained, degenerate);
    expect(result.accept).toBe(false);
    expect(result.linkRetention).toBeLessThan(MIN_LINK_RETENTION);
    expect(result.reasons).toContainEqual(expect.stringMatching(/^keeps .* of the active model's links/));
  });

  test('rejects a model that blocks on other rules than the stored keys were made with', () => {
    const other = { ...trained, version: 'other', blockingRules: rules.slice(1) };
    expect(compareModels(batch, trained, other).reasons).toContain('blocking rules differ from those the stored keys were made with');
  });
});

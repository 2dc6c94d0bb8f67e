import { describe, expect, test } from 'vitest';
import { COMPARISONS } from './comparisons.ts';
import { sameAddressHistogram } from './household.ts';
import { linkRecords } from './link.ts';
import type { NormalisedRecord, RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';
import { mulberry32 } from './random.ts';
import { trainModel } from './training.ts';

const GIVEN = ['james', 'mary', 'noah', 'emma', 'liam', 'olivia', 'ethan', 'ava', 'lucas', 'mia', 'owen', 'ella', 'henry', 'zoe'];
const FAMILY = ['okafor', 'lindqvist', 'haddad', 'kowalski', 'tanaka', 'ferreira', 'moreau', 'novak', 'brennan', 'castillo'];
const FAMILY_SUFFIX = ['son', 'berg', 'ano', 'ski', 'ez', 'ova', 'er', 'ini', 'ley', 'ard', 'ic', 'sen', 'dottir'];

/**
 * Households of two parents and two or three children, who share a family name and a phone number, each person with
 * two records (one in ten with a given-name typo). With `address`, the household shares a street address too;
 * without it the records carry names, sex, birth date and phone only, as a lab feed sends them.
 */
function households(count: number, address: boolean): { records: NormalisedRecord[]; person: number[] } {
  const rng = mulberry32(21);
  const records: NormalisedRecord[] = [];
  const person: number[] = [];
  const date = (year: number) =>
    `${year}-${String(1 + Math.floor(rng() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rng() * 28)).padStart(2, '0')}`;
  let id = 0;
  for (let h = 0; h < count; h++) {
    const familyName = `${FAMILY[h % FAMILY.length]}${FAMILY_SUFFIX[Math.floor(h / FAMILY.length) % FAMILY_SUFFIX.length]}`;
    const phone = `212${String(5550000 + h * 7).padStart(7, '0')}`;
    const parentYear = 1950 + Math.floor(rng() * 30);
    const members = [
      { sex: 'M', year: parentYear },
      { sex: 'F', year: parentYear + 1 },
      ...Array.from({ length: 2 + (h % 2) }, (_, c) => ({ sex: c % 2 === 0 ? 'F' : 'M', year: parentYear + 25 + 2 * c })),
    ];
    members.forEach((member, m) => {
      const base: RecordInput = {
        givenName: GIVEN[(h + m * 3) % GIVEN.length]!,
        familyName,
        sex: member.sex,
        birthDate: date(member.year),
        phone,
        addressLine1: address ? `${100 + h} oak st` : null,
        postalCode: address ? '10001' : null,
      };
      for (let c = 0; c < 2; c++) {
        const givenName = c === 1 && rng() < 0.1 ? `${base.givenName}x` : base.givenName;
        records.push(normaliseRecord({ ...base, givenName }).record);
        person.push(id);
      }
      id++;
    });
  }
  return { records, person };
}

const FAMILY_K = COMPARISONS.findIndex((c) => c.name === 'familyName');

describe('the household model', () => {
  test('learns from records that share a phone without an address that a household shares its family name', () => {
    const { records, person } = households(150, false);
    const { model, batch } = trainModel(records, { seed: 2 });
    const family = model.comparisons[FAMILY_K]!;
    expect(family.conditionalU!.support).toBeGreaterThan(1000);
    // Among the non-matches of one household the family name is nearly always the same: no evidence of one person.
    expect(family.conditionalU!.u[0]).toBeGreaterThan(0.5);
    expect(family.levels[0]!.u).toBeLessThan(0.05);
    const result = linkRecords(batch, model);
    let overlays = 0;
    for (let k = 0; k < result.links.count; k++) if (person[result.links.a[k]!] !== person[result.links.b[k]!]) overlays++;
    // 675 people with two records each.
    expect(result.links.count).toBeGreaterThan(600);
    expect(overlays).toBe(0);
  });

  test('counts a pair that shares both an address and a phone once', () => {
    const withAddress = households(40, true).records.map((r) => prepareRecord(r));
    const phoneOnly = withAddress.map((r) => ({ ...r, streetNumber: null, streetName: null }));
    const total = (records: typeof withAddress) => {
      const h = sameAddressHistogram({ prepared: records, sources: undefined, mode: 'link-and-dedupe' });
      let pairs = 0;
      for (let p = 0; p < h.size; p++) pairs += h.counts[p]!;
      return pairs;
    };
    // Every pair of a household's records: 40 households of 8 or 10 records.
    const expected = 20 * ((8 * 7) / 2) + 20 * ((10 * 9) / 2);
    expect(total(withAddress)).toBe(expected);
    expect(total(phoneOnly)).toBe(expected);
  });

  test('falls back to the population u where nothing is shared', () => {
    const { records } = households(30, false);
    const solo = records.map((r, i) => ({ ...r, phone: `646${String(1000000 + i)}` }));
    const { model } = trainModel(solo, { seed: 2 });
    expect(model.comparisons[FAMILY_K]!.conditionalU!.support).toBe(0);
    const family = model.comparisons[FAMILY_K]!;
    family.levels.forEach((level, i) => expect(family.conditionalU!.u[i]).toBeCloseTo(level.u, 12));
  });
});

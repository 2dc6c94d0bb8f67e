import { describe, expect, test } from 'vitest';
import {
  buildGolden,
  decideField,
  decisionStands,
  DEFAULT_POLICY,
  effectiveRule,
  GOLDEN_FIELDS,
  type Contributor,
  type FieldRule,
} from './survivorship.ts';

const day = (d: number) => new Date(Date.UTC(2025, 0, d));

function contributor(recordId: string, trustRank: number, updatedOn: number, values: Contributor['values']): Contributor {
  return { recordId, sourceId: `source-${recordId}`, trustRank, updatedAt: day(updatedOn), values };
}

// Three sources disagree about a phone number: the lab is trusted most, the payer updated last, and two agree.
const ehr = contributor('a-ehr', 50, 1, { phone: '6175550100', addressLine1: '12 Harbor St' });
const lab = contributor('b-lab', 90, 2, { phone: '6175550199', addressLine1: '12 Harbor Street Apt 4' });
const payer = contributor('c-payer', 10, 3, { phone: '6175550100 ', addressLine1: '9 Elm Rd' });

describe('survivorship rules', () => {
  test.each<[string, FieldRule, string, string]>([
    ['source priority takes the most trusted source', { rule: 'SOURCE_PRIORITY' }, '6175550199', 'b-lab'],
    ['most recent takes the latest updated record', { rule: 'MOST_RECENT' }, '6175550100', 'c-payer'],
    ['most frequent takes the value most sources agree on, ignoring spacing', { rule: 'MOST_FREQUENT' }, '6175550100', 'a-ehr'],
    [
      'a steward override without a value falls back to its fallback rule',
      { rule: 'STEWARD_OVERRIDE', fallback: 'MOST_RECENT' },
      '6175550100',
      'c-payer',
    ],
  ])('%s', (_name, rule, value, recordId) => {
    const decision = decideField('phone', rule, [payer, lab, ehr]);
    expect(decision).toMatchObject({ value, recordId });
    expect(decision.rule).toBe(effectiveRule(rule));
  });

  test('most complete takes the longest value', () => {
    expect(decideField('addressLine1', { rule: 'MOST_COMPLETE' }, [ehr, lab, payer])).toMatchObject({
      value: '12 Harbor Street Apt 4',
      recordId: 'b-lab',
    });
  });

  test('most complete counts characters, not UTF-16 units', () => {
    const astral = contributor('a', 50, 1, { familyName: '\u{1D49C}\u{1D49C}' }); // two characters, four UTF-16 units
    const plain = contributor('b', 50, 1, { familyName: 'Abc' });
    expect(decideField('familyName', { rule: 'MOST_COMPLETE' }, [astral, plain]).recordId).toBe('b');
  });

  test('a steward override wins over every source and lists them all as competitors', () => {
    const decision = decideField('phone', { rule: 'STEWARD_OVERRIDE', value: '6175550000' }, [payer, ehr, lab]);
    expect(decision).toMatchObject({ value: '6175550000', recordId: null, sourceId: null, rule: 'STEWARD_OVERRIDE' });
    expect(decision.competitors.map((c) => c.recordId)).toEqual(['a-ehr', 'b-lab', 'c-payer']);
  });

  test('records the beaten values, trimmed and ordered by record id', () => {
    const decision = decideField('phone', { rule: 'SOURCE_PRIORITY' }, [payer, lab, ehr]);
    expect(decision.competitors).toEqual([
      { value: '6175550100', recordId: 'a-ehr', sourceId: 'source-a-ehr' },
      { value: '6175550100', recordId: 'c-payer', sourceId: 'source-c-payer' },
    ]);
  });

  test.each<[string, Contributor[], string]>([
    [
      'equal trust: the more recent record',
      [contributor('x', 50, 1, { city: 'Austin' }), contributor('y', 50, 2, { city: 'Boston' })],
      'y',
    ],
    [
      // Ids count up as records are stored: the later id is the record stored later (see platform/ids.ts).
      'equal trust and time: the later record id',
      [contributor('x', 50, 1, { city: 'Austin' }), contributor('y', 50, 1, { city: 'Boston' })],
      'y',
    ],
  ])('breaks ties deterministically (%s)', (_name, contributors, winner) => {
    expect(decideField('city', { rule: 'SOURCE_PRIORITY' }, contributors).recordId).toBe(winner);
    expect(decideField('city', { rule: 'SOURCE_PRIORITY' }, [...contributors].reverse()).recordId).toBe(winner);
  });

  test('ignores blank values and leaves a field nobody supplies empty', () => {
    const blank = contributor('a', 90, 1, { email: '   ', phone: null });
    expect(decideField('email', { rule: 'SOURCE_PRIORITY' }, [blank])).toMatchObject({ value: null, recordId: null, competitors: [] });
  });

  test('builds every golden field, following the default policy for fields a policy leaves out', () => {
    const { golden, decisions } = buildGolden([ehr, lab, payer], { version: 7, rules: { phone: { rule: 'MOST_RECENT' } } });
    expect(Object.keys(golden)).toEqual([...GOLDEN_FIELDS]);
    expect(golden.phone).toBe('6175550100');
    expect(decisions.find((d) => d.field === 'addressLine1')?.rule).toBe(DEFAULT_POLICY.rules.addressLine1!.rule);
  });
});

describe('whether a stored decision still stands', () => {
  const decision = decideField('phone', { rule: 'SOURCE_PRIORITY' }, [ehr, lab]);
  const stored = {
    value: decision.value,
    recordId: decision.recordId,
    rule: decision.rule,
    competitors: JSON.parse(JSON.stringify(decision.competitors)) as unknown,
  };

  test.each<[string, Partial<typeof stored>, boolean]>([
    ['the same decision stands', {}, true],
    ['another value does not', { value: '6175550000' }, false],
    ['another winning record does not', { recordId: 'a-ehr' }, false],
    ['another rule does not', { rule: 'MOST_RECENT' }, false],
    ['changed competitors do not', { competitors: [] }, false],
  ])('%s', (_name, change, stands) => {
    expect(decisionStands({ ...stored, ...change }, decision)).toBe(stands);
  });

  test('a field empty before and after stands whatever the rule', () => {
    const empty = decideField('email', { rule: 'MOST_RECENT' }, []);
    expect(decisionStands({ value: null, recordId: null, rule: 'SOURCE_PRIORITY', competitors: [] }, empty)).toBe(true);
  });
});

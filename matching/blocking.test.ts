import { describe, expect, test } from 'vitest';
import { candidatePairs } from './batch.ts';
import { blockingKeys, forEachCandidatePair, ruleKey } from './blocking.ts';
import { DEFAULT_BLOCKING_RULES } from './default-model.ts';
import type { BlockingRule } from './model.ts';
import type { RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { prepareRecord } from './prepared.ts';

const norm = (input: RecordInput) => normaliseRecord(input).record;

describe('blockingKeys', () => {
  test('prefixes each key with its rule and joins parts with |', () => {
    const keys = blockingKeys(
      norm({ givenName: 'Mitchell', familyName: 'Green', birthDate: '1956-04-09', ssn: '412-55-9034', postalCode: '2119' }),
    );
    expect(keys).toContain('ssn:412559034');
    expect(keys).toContain('dob_family:19560409|KRN');
    expect(keys).toContain('dob_postal:19560409|2119');
    expect(keys.every((k) => /^[a-z_]+:[^:]+$/.test(k))).toBe(true);
  });

  test('skips rules whose inputs are missing or placeholders, so no key gathers a crowd', () => {
    const keys = blockingKeys(norm({ givenName: 'Ann', ssn: '999-99-9999', phone: '555-555-5555', birthDate: '1980' }));
    expect(keys.some((k) => k.startsWith('ssn:') || k.startsWith('phone:') || k.startsWith('dob_'))).toBe(false);
  });

  test('gives the same names-and-year key when given and family names are swapped', () => {
    const a = blockingKeys(norm({ givenName: 'Oliver', familyName: 'Rickett', birthDate: '1943-10-20' }));
    const b = blockingKeys(norm({ givenName: 'Rickett', familyName: 'Oliver', birthDate: '1943-10-20' }));
    expect(a.find((k) => k.startsWith('names_year:'))).toBe(b.find((k) => k.startsWith('names_year:')));
  });

  test('still pairs records that carry only names when the birth year and day both differ', () => {
    const shared = (x: string[], y: string[]) => x.filter((k) => y.includes(k));
    const a = blockingKeys(norm({ givenName: 'Sabine', familyName: 'Hartmann', birthDate: '1939-06-16', sex: 'F' }));
    const b = blockingKeys(norm({ givenName: 'Sabine', familyName: 'Hartman', birthDate: '1943-07-16', sex: 'F' }));
    expect(shared(a, b)).toEqual([expect.stringMatching(/^names:/)]);
  });

  test('pairs a late family-name typo with a mistyped birth day through the family name prefix', () => {
    const shared = (x: string[], y: string[]) => x.filter((k) => y.includes(k));
    const a = blockingKeys(norm({ givenName: 'Karl', familyName: 'Klein', birthDate: '2002-06-20' }));
    const b = blockingKeys(norm({ givenName: 'Karl', familyName: 'Kleibn', birthDate: '2002-06-29' }));
    expect(shared(a, b)).toEqual([expect.stringMatching(/^names_prefix_year:.*\|kle\|2002$/)]);
  });

  test('keys no family name prefix on a name shorter than the prefix', () => {
    const keys = blockingKeys(norm({ givenName: 'Mei', familyName: 'Li', birthDate: '1990-03-04' }));
    expect(keys.some((k) => k.startsWith('names_prefix_year:'))).toBe(false);
  });

  test('keys an email on its mailbox so a mistyped domain still meets the same person', () => {
    const a = blockingKeys(norm({ email: 'e.rogers3@hopkins.org' }));
    const b = blockingKeys(norm({ email: 'e.rogers3@honkips.org' }));
    expect(a.filter((k) => b.includes(k))).toEqual(['email_local:e.rogers3']);
  });
});

describe('forEachCandidatePair', () => {
  const rules: BlockingRule[] = [
    { name: 'ssn', parts: ['ssn'] },
    { name: 'dob_family', parts: ['birthDate', 'familyPhonetic'] },
  ];
  const prep = (input: RecordInput) => prepareRecord(norm(input));
  const records = [
    prep({ familyName: 'Green', birthDate: '1956-04-09', ssn: '412-55-9034' }),
    prep({ familyName: 'Green', birthDate: '1956-04-09', ssn: '412-55-9034' }),
    prep({ familyName: 'Greene', birthDate: '1956-04-09', ssn: '530-12-7788' }),
    prep({ familyName: 'Brown', birthDate: '1956-04-09', ssn: null }),
  ];

  test('visits each pair once, by the first rule that finds it, with every rule that holds it', () => {
    const seen: string[] = [];
    const stats = forEachCandidatePair(records, rules, {}, (i, j, mask) => seen.push(`${i}-${j}:${mask}`));
    expect(seen).toEqual(['0-1:3', '0-2:2', '1-2:2']);
    expect(stats.map((s) => s.newPairs)).toEqual([1, 2]);
  });

  test('keeps only cross-source pairs in link mode and same-source pairs in dedupe mode', () => {
    const sources = [0, 1, 0, 1];
    const pairs = (mode: 'link' | 'dedupe') => {
      const out: string[] = [];
      forEachCandidatePair(records, rules, { sources, mode }, (i, j) => out.push(`${i}-${j}`));
      return out;
    };
    expect(pairs('link')).toEqual(['0-1', '1-2']);
    expect(pairs('dedupe')).toEqual(['0-2']);
  });

  test('keeps the bit of every rule that holds a pair beyond the sixteenth', () => {
    const many: BlockingRule[] = Array.from({ length: 20 }, (_, r) => ({ name: `family_${r}`, parts: ['familyPhonetic'] }));
    const pairs = candidatePairs(records.slice(0, 2), { rules: many });
    expect(pairs.count).toBe(1);
    expect(pairs.ruleMask[0]).toBe(2 ** 20 - 1);
  });

  test('skips blocks larger than the cap and reports them', () => {
    const crowd = Array.from({ length: 6 }, () => prep({ familyName: 'Lee', birthDate: '1970-01-01' }));
    let pairs = 0;
    const stats = forEachCandidatePair(crowd, DEFAULT_BLOCKING_RULES, { maxBlockSize: 5 }, () => pairs++);
    expect(pairs).toBe(0);
    expect(stats.find((s) => s.rule === 'dob_family')?.skippedBlocks).toBe(1);
  });
});

describe('hashed keys agree with the keys stored for online ingest', () => {
  // Small pools so that records share values often; empty strings, placeholders, short and non-ASCII names, and
  // swapped names are there so every branch of the hashed key parts is compared with its string key.
  const pools = {
    givenName: ['Ann', 'Anne', 'Jürgen', 'Jurgen', 'Zoë', 'Li', 'Mitchell', 'Baby Boy', '', "O'Neil", 'Ng'],
    familyName: ['Green', 'Greene', 'Müller', 'Mueller', 'Li', 'Ng', 'Klein', 'Kleibn', 'Øster', '', 'Smith-Jones', 'Ann'],
    birthDate: ['1956-04-09', '1956-09-04', '1980', '2002-06-20', '2002-06-29', '1900-01-01', '', '1943-10-20'],
    ssn: ['412-55-9034', '999-99-9999', '530-12-7788', '', '000-00-0000'],
    phone: ['555-555-5555', '617-555-0142', '+1 617 555 0142', '', '212-555-0199'],
    email: ['e.rogers3@hopkins.org', 'e.rogers3@honkips.org', 'ann@x.io', '', 'not-an-email'],
    postalCode: ['02119', '2119', '10001', '', 'SW1A 1AA'],
    city: ['Boston', 'boston', 'Zürich', '', 'New York'],
    addressLine1: ['12 Main St', '12 Main Street', '7 Elm Rd', '', 'PO Box 5'],
    sex: ['F', 'M', 'U', ''],
  } satisfies Record<string, string[]>;

  function randomRecords(count: number, seed: number): RecordInput[] {
    let state = seed >>> 0;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    return Array.from({ length: count }, () => {
      const input: Record<string, string> = {};
      for (const [field, values] of Object.entries(pools)) {
        const value = values[Math.floor(next() * values.length)]!;
        if (value !== '') input[field] = value;
      }
      return input as RecordInput;
    });
  }

  /** Candidate pairs from each rule's string key (`ruleKey`, what online ingest stores): `i-j:mask`. */
  function pairsFromStringKeys(records: RecordInput[], rules: readonly BlockingRule[]): string[] {
    const keys = records.map((r) => rules.map((rule) => ruleKey(norm(r), rule)));
    const pairs: string[] = [];
    for (let i = 0; i < records.length; i++)
      for (let j = i + 1; j < records.length; j++) {
        let mask = 0;
        rules.forEach((_, r) => {
          if (keys[i]![r] !== null && keys[i]![r] === keys[j]![r]) mask |= 1 << r;
        });
        if (mask) pairs.push(`${i}-${j}:${mask}`);
      }
    return pairs.sort();
  }

  test.each([1, 2, 3])('the batch engine finds exactly the pairs the string keys give (seed %i)', (seed) => {
    const inputs = randomRecords(300, seed);
    const prepared = inputs.map((r) => prepareRecord(norm(r)));
    const found: string[] = [];
    forEachCandidatePair(prepared, DEFAULT_BLOCKING_RULES, { maxBlockSize: inputs.length }, (i, j, mask) =>
      found.push(`${i}-${j}:${mask}`),
    );
    const expected = pairsFromStringKeys(inputs, DEFAULT_BLOCKING_RULES);
    expect(expected.length).toBeGreaterThan(300);
    expect(found.sort()).toEqual(expected);
  });
});

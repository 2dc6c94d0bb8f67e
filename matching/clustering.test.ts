import { describe, expect, test } from 'vitest';
import { clusterPairs, linkOrder, mergeAllowed } from './clustering.ts';
import type { Links, PairAssessor } from './clustering.ts';
import { defaultModel } from './default-model.ts';
import { linkRecords, recordsMayMerge } from './link.ts';
import type { RecordInput } from './normalise.ts';
import { normaliseRecord } from './normalise.ts';
import { mulberry32 } from './random.ts';

/** An assessor from a table of pair weights ("i-j": weight) and cannot-link pairs. */
function tableAssessor(weights: Record<string, number>, cannot: Record<string, string> = {}): PairAssessor {
  const key = (i: number, j: number) => `${Math.min(i, j)}-${Math.max(i, j)}`;
  return {
    weight: (i, j) => weights[key(i, j)] ?? -30,
    cannotLink: (i, j) => cannot[key(i, j)] ?? null,
  };
}

function links(list: [number, number, number][]): Links {
  return {
    a: Int32Array.from(list.map((l) => l[0])),
    b: Int32Array.from(list.map((l) => l[1])),
    weight: Float64Array.from(list.map((l) => l[2])),
    count: list.length,
  };
}

const GUARD = { minMeanWeight: 0 };

describe('clusterPairs', () => {
  test('joins records linked in a chain when the ends still look alike', () => {
    const result = clusterPairs(
      3,
      links([
        [0, 1, 20],
        [1, 2, 18],
      ]),
      tableAssessor({ '0-1': 20, '1-2': 18, '0-2': 6 }),
      GUARD,
    );
    expect(new Set(result.clusterOf).size).toBe(1);
  });

  test('does not chain A~B and B~C into one identity when A and C are clearly different people', () => {
    const result = clusterPairs(
      3,
      links([
        [0, 1, 20],
        [1, 2, 18],
      ]),
      tableAssessor({ '0-1': 20, '1-2': 18, '0-2': -60 }),
      GUARD,
    );
    expect(result.clusterOf[0]).toBe(result.clusterOf[1]);
    expect(result.clusterOf[2]).not.toBe(result.clusterOf[1]);
    expect(result.refused).toEqual({ chaining: 1 });
  });

  test('asks linkVeto, not cannotLink, about a link between two single records, and cannotLink about groups', () => {
    // 0-1 is a link the caller already checked for conflicts; 0-2 and 1-2 are not.
    const asked: string[] = [];
    const assessor: PairAssessor = {
      weight: () => 20,
      cannotLink: (i, j) => (asked.push(`cannotLink ${i}-${j}`), i + j === 1 ? 'twin' : null),
      linkVeto: (i, j) => (asked.push(`linkVeto ${i}-${j}`), null),
    };
    const result = clusterPairs(
      3,
      links([
        [0, 1, 20],
        [1, 2, 18],
      ]),
      assessor,
      GUARD,
    );
    expect(asked).toEqual(['linkVeto 0-1', 'cannotLink 0-2', 'cannotLink 1-2']);
    expect(new Set(result.clusterOf).size).toBe(1);
    // Without linkVeto the link is checked against cannotLink, which refuses it.
    const { linkVeto: _, ...withoutVeto } = assessor;
    expect(clusterPairs(2, links([[0, 1, 20]]), withoutVeto, GUARD).refused).toEqual({ twin: 1 });
  });

  test('never joins across a cannot-link pair, even through a third record', () => {
    const assessor = tableAssessor({ '0-1': 20, '1-2': 25, '0-2': 15 }, { '0-2': 'not_duplicate' });
    const result = clusterPairs(
      3,
      links([
        [0, 1, 20],
        [1, 2, 25],
        [0, 2, 15],
      ]),
      assessor,
      GUARD,
    );
    expect(result.clusterOf[0]).not.toBe(result.clusterOf[2]);
    expect(result.refused.not_duplicate).toBeGreaterThan(0);
  });

  test('follows the strongest links first, so the better match wins a contested record', () => {
    // Record 1 matches 0 strongly and 2 weakly; 0 and 2 cannot be one person.
    const assessor = tableAssessor({ '0-1': 30, '1-2': 12 }, { '0-2': 'twin' });
    const result = clusterPairs(
      3,
      links([
        [1, 2, 12],
        [0, 1, 30],
      ]),
      assessor,
      GUARD,
    );
    expect(result.clusterOf[1]).toBe(result.clusterOf[0]);
    expect(result.clusterOf[2]).not.toBe(result.clusterOf[0]);
  });

  test('numbers clusters by their first record and is deterministic', () => {
    const run = () =>
      clusterPairs(
        5,
        links([
          [3, 4, 10],
          [0, 2, 10],
        ]),
        tableAssessor({ '3-4': 10, '0-2': 10 }),
        GUARD,
      ).clusterOf;
    expect([...run()]).toEqual([0, 1, 0, 2, 2]);
    expect([...run()]).toEqual([...run()]);
  });
});

test('mergeAllowed explains why two groups may not form one identity', () => {
  const assessor = tableAssessor({ '0-2': 25, '1-2': 25, '0-3': 25, '1-3': 25 }, { '1-3': 'ssn_conflict' });
  expect(mergeAllowed([0, 1], [2, 3], assessor, GUARD)).toEqual({ allowed: false, reason: 'ssn_conflict' });
  expect(mergeAllowed([0], [2], assessor, GUARD)).toEqual({ allowed: true });
});

describe('linkRecords guards on realistic look-alikes', () => {
  const model = defaultModel();
  const home = {
    familyName: 'Okafor',
    addressLine1: '88 Birch Lane',
    city: 'Columbus',
    state: 'OH',
    postalCode: '43215',
    phone: '614-555-0111',
  };
  const records = (inputs: RecordInput[]) => inputs.map((r) => normaliseRecord(r).record);
  const cluster = (inputs: RecordInput[], cannotLink?: [number, number][]) => {
    const result = linkRecords(records(inputs), model, { cannotLink });
    return [...result.clusterOf];
  };

  test('does not link twins who share a birth date and address', () => {
    const ids = cluster([
      { ...home, givenName: 'Chidi', birthDate: '2012-05-05', sex: 'M' },
      { ...home, givenName: 'Chidi', birthDate: '2012-05-05', sex: 'M', phone: null },
      { ...home, givenName: 'Amara', birthDate: '2012-05-05', sex: 'F' },
    ]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  test('does not link a father and son who share a name and address', () => {
    const ids = cluster([
      { ...home, givenName: 'Emeka', suffix: 'Sr', birthDate: '1961-09-14', ssn: '301-22-4817' },
      { ...home, givenName: 'Emeka', suffix: 'Jr', birthDate: '1990-02-03', ssn: '301-77-1290' },
      { ...home, givenName: 'Emeka', birthDate: '1990-02-03' },
    ]);
    expect(ids[2]).toBe(ids[1]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  test('does not link spouses at one address', () => {
    const ids = cluster([
      { ...home, givenName: 'Ngozi', birthDate: '1965-01-30', sex: 'F' },
      { ...home, givenName: 'Emeka', birthDate: '1961-09-14', sex: 'M' },
    ]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  test('tells the service whether two identities matched by one record may be one person', () => {
    const twinA = records([{ ...home, givenName: 'Chidi', birthDate: '2012-05-05', sex: 'M' }]);
    const twinB = records([{ ...home, givenName: 'Amara', birthDate: '2012-05-05', sex: 'F' }]);
    const again = records([{ ...home, givenName: 'Chidi', birthDate: '2012-05-05', sex: 'M', phone: null }]);
    expect(recordsMayMerge(twinA, twinB, model)).toEqual({ allowed: false, reason: 'twin' });
    expect(recordsMayMerge(twinA, again, model)).toEqual({ allowed: true });
    expect(recordsMayMerge(twinA, again, model, () => true)).toEqual({ allowed: false, reason: 'not_duplicate' });
  });

  test("respects a steward's not-duplicate decision", () => {
    const inputs = [
      { ...home, givenName: 'Ngozi', birthDate: '1965-01-30', sex: 'F' },
      { ...home, givenName: 'Ngozi', birthDate: '1965-01-30', sex: 'F', phone: null },
    ];
    expect(new Set(cluster(inputs)).size).toBe(1);
    expect(new Set(cluster(inputs, [[0, 1]])).size).toBe(2);
  });
});

describe('linkOrder', () => {
  test('orders links strongest first, then by record a, then b, as a comparator sort does', () => {
    const rng = mulberry32(11);
    // Few distinct weights (ties), both signs, both zeros, extremes; record indices past one radix digit.
    const values = [-0, 0, 2.5, -2.5, 17.25, 1e-300, -1e300, 1e300, Number.MIN_VALUE, 3.0000000000000004, 3];
    const count = 30_000;
    const list: [number, number, number][] = [];
    for (let k = 0; k < count; k++) {
      list.push([Math.floor(rng() * 5_000_000), Math.floor(rng() * 300), values[Math.floor(rng() * values.length)]!]);
    }
    const l = links(list);
    const expected = Int32Array.from({ length: count }, (_, k) => k).sort(
      (x, y) => l.weight[y]! - l.weight[x]! || l.a[x]! - l.a[y]! || l.b[x]! - l.b[y]!,
    );
    expect(Array.from(linkOrder(l))).toEqual(Array.from(expected));
  });

  test('keeps the order of links that agree on every key, and takes no links', () => {
    expect(
      Array.from(
        linkOrder(
          links([
            [1, 2, 5],
            [1, 2, 5],
            [0, 9, 5],
          ]),
        ),
      ),
    ).toEqual([2, 0, 1]);
    expect(Array.from(linkOrder(links([])))).toEqual([]);
  });
});

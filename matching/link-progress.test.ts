import { describe, expect, test } from 'vitest';
import { phaseProgress } from './batch.ts';
import { defaultModel } from './default-model.ts';
import { linkRecords } from './link.ts';
import { normaliseRecord, type RecordInput } from './normalise.ts';
import { mulberry32 } from './random.ts';

/** Families sharing surnames, postal codes and birth years, so blocking finds many candidate pairs and links. */
function records(count: number) {
  const rng = mulberry32(11);
  const pick = <T>(list: T[]) => list[Math.floor(rng() * list.length)]!;
  const inputs: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const person = Math.floor(i / 2);
    inputs.push({
      givenName: pick(['ada', 'bo', 'cy', 'di', 'ed', 'flo']) + (person % 7),
      familyName: ['nash', 'ortiz', 'pike', 'quinn'][person % 4]!,
      birthDate: `19${50 + (person % 40)}-0${1 + (person % 9)}-1${person % 10}`,
      postalCode: String(30000 + (person % 25)),
    });
  }
  return inputs.map((r) => normaliseRecord(r).record);
}

describe('progress of a linkage run', () => {
  const calls: Array<[string, number, number]> = [];
  const result = linkRecords(records(6000), defaultModel(), { onProgress: (stage, done, total) => calls.push([stage, done, total]) });
  const of = (stage: string) => calls.filter(([s]) => s === stage);

  test('every phase with a known total moves between its start and its end, and ends at its total', () => {
    for (const stage of ['compare', 'score', 'cluster']) {
      const reports = of(stage);
      const total = reports[0]![2];
      expect(total, stage).toBeGreaterThan(1000);
      expect(reports[0]![1]).toBe(0);
      expect(reports.at(-1)).toEqual([stage, total, total]);
      const between = reports.filter(([, done]) => done > 0 && done < total);
      expect(between.length, `${stage} reports between start and end`).toBeGreaterThanOrEqual(50);
      const done = reports.map(([, d]) => d);
      expect(done).toEqual([...done].sort((a, b) => a - b));
    }
    expect(of('cluster')[0]![2]).toBe(result.links.count);
  });
});

describe('phaseProgress', () => {
  test.each([
    [0, [[0, 0]]],
    [
      3,
      [
        [0, 3],
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    ],
    [250, [[0, 250], ...Array.from({ length: 83 }, (_, i) => [(i + 1) * 3, 250]), [250, 250]]],
  ])('reports the start, about each hundredth and the end of %i items', (total, expected) => {
    const seen: Array<[number, number]> = [];
    const step = phaseProgress((_s, done, t) => seen.push([done, t]), 'x', total);
    for (let i = 0; i < total; i++) step();
    expect(seen).toEqual(expected);
  });
});

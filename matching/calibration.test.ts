import { describe, expect, test } from 'vitest';
import { calibratedProbability, isotonicSteps, roundedSteps, stepProbability } from './calibration.ts';
import type { Calibration } from './calibration.ts';

const points = (list: Array<[number, 0 | 1]>) => list.map(([weight, y]) => ({ weight, together: y === 1 }));

/** Outcomes that fall once as the weight rises (at 2), so the middle two pool into one step. */
const SAMPLE = points([
  [-10, 0],
  [-5, 0],
  [0, 1],
  [2, 0],
  [8, 1],
  [12, 1],
]);

describe('isotonicSteps', () => {
  test('pools weights whose outcomes fall as the weight rises into one step', () => {
    expect(isotonicSteps(SAMPLE)).toEqual([
      { fromWeight: -10, probability: 0 },
      { fromWeight: 0, probability: 0.5 },
      { fromWeight: 8, probability: 1 },
    ]);
  });

  test('treats pairs at one weight as one point, so no step starts between them', () => {
    expect(
      isotonicSteps(
        points([
          [1, 0],
          [1, 1],
          [1, 1],
          [3, 1],
        ]),
      ),
    ).toEqual([
      { fromWeight: 1, probability: 2 / 3 },
      { fromWeight: 3, probability: 1 },
    ]);
  });

  test('pools every pair at one weight into one point even when the pool reaches back past it', () => {
    // Arriving one by one, the first pair at weight 1 (apart) pools with weight 0 before its ties come in.
    expect(
      isotonicSteps(
        points([
          [0, 1],
          [1, 0],
          [1, 1],
          [1, 1],
        ]),
      ),
    ).toEqual([{ fromWeight: 0, probability: 0.75 }]);
  });

  test('reads the step a weight falls in, and the first step below it', () => {
    const steps = isotonicSteps(SAMPLE);
    expect([-20, 1, 7.9, 30].map((w) => stepProbability(steps, w))).toEqual([0, 0.5, 0.5, 1]);
    expect(stepProbability([], 3)).toBeNull();
  });

  test('merges steps that rounding for JSON makes equal', () => {
    expect(
      roundedSteps([
        { fromWeight: 1, probability: 0.50001 },
        { fromWeight: 2, probability: 0.50002 },
        { fromWeight: 3, probability: 0.9 },
      ]),
    ).toEqual([
      { fromWeight: 1, probability: 0.5 },
      { fromWeight: 3, probability: 0.9 },
    ]);
  });
});

describe('calibratedProbability', () => {
  const calibration: Calibration = {
    method: 'cluster-consistency',
    clear: [
      { fromWeight: -5, probability: 0 },
      { fromWeight: 10, probability: 0.99 },
    ],
    conflicted: [
      { fromWeight: -5, probability: 0 },
      { fromWeight: 25, probability: 0.8 },
    ],
    pairs: { clear: 1000, conflicted: 200 },
  };

  test('states less for a pair a conflict rule flags than for a clear pair at the same weight (a twin is not a duplicate)', () => {
    expect(calibratedProbability(calibration, 20, false)).toBe(0.99);
    expect(calibratedProbability(calibration, 20, true)).toBe(0);
  });

  test('has no say where its group was fitted on too few pairs', () => {
    expect(calibratedProbability({ ...calibration, conflicted: [] }, 20, true)).toBeNull();
  });
});

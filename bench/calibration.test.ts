import { describe, expect, test } from 'vitest';
import { isotonicSteps, stepProbability } from './calibration.ts';

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
    const steps = isotonicSteps(SAMPLE);
    expect(steps.map((s) => [s.fromWeight, s.probability, s.pairs])).toEqual([
      [-10, 0, 2],
      [0, 0.5, 2],
      [8, 1, 2],
    ]);
  });

  test('reads the step a weight falls in, and the first step below it', () => {
    const steps = isotonicSteps(SAMPLE);
    expect([stepProbability(steps, -20), stepProbability(steps, 1), stepProbability(steps, 7.9), stepProbability(steps, 30)]).toEqual([
      0, 0.5, 0.5, 1,
    ]);
  });
});

import { describe, expect, test } from 'vitest';
import { percentile, percentileChangeInterval } from './support.ts';

describe('percentileChangeInterval', () => {
  test('a change every value shares is the interval, to the digit', () => {
    const before = Array.from({ length: 300 }, () => 100);
    expect(
      percentileChangeInterval(
        before,
        before.map((x) => x * 1.5),
        99,
      ),
    ).toEqual([50, 50]);
  });

  test('two samples of one distribution give an interval around zero; a slower tail moves it above', () => {
    const spread = (n: number, offset: number) => Array.from({ length: n }, (_, i) => 50 + ((i * 37) % 100) + offset);
    const [low, high] = percentileChangeInterval(spread(400, 0), spread(400, 0), 99);
    expect(low).toBeLessThanOrEqual(0);
    expect(high).toBeGreaterThanOrEqual(0);
    const slower = spread(400, 0).map((x, i) => (i % 20 === 0 ? x + 200 : x));
    const [from, to] = percentileChangeInterval(spread(400, 0), slower, 99);
    const point = (100 * (percentile(slower, 99) - percentile(spread(400, 0), 99))) / percentile(spread(400, 0), 99);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(point);
    expect(to).toBeGreaterThanOrEqual(point);
  });
});

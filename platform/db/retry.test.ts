import { describe, expect, test } from 'vitest';
import type { Executor } from './client.ts';
import { withTransaction } from './retry.ts';

/** A driver error as drizzle surfaces it: the SQLSTATE sits on the wrapped cause. */
function driverError(code: string): Error {
  return new Error('Failed query', { cause: Object.assign(new Error('driver'), { code }) });
}

/** A database whose transactions fail with the given errors, in order, and then succeed. */
function failingDb(errors: Error[]): { db: Executor; runs: () => number } {
  let runs = 0;
  const db = {
    transaction: async <T>(work: (tx: Executor) => Promise<T>): Promise<T> => {
      runs += 1;
      const error = errors[runs - 1];
      if (error) throw error;
      return work(db as unknown as Executor);
    },
  };
  return { db: db as unknown as Executor, runs: () => runs };
}

describe('withTransaction', () => {
  test.each([
    ['a serialisation failure', '40001'],
    ['a deadlock', '40P01'],
  ])('runs the work again after %s', async (_name, code) => {
    const { db, runs } = failingDb([driverError(code), driverError(code)]);
    await expect(withTransaction(db, async () => 'done', { baseDelayMs: 0 })).resolves.toBe('done');
    expect(runs()).toBe(3);
  });

  test.each([
    ['a unique violation', '23505'],
    ['a foreign-key violation', '23503'],
    ['a check violation', '23514'],
  ])('surfaces %s from the first run', async (_name, code) => {
    const { db, runs } = failingDb([driverError(code)]);
    await expect(withTransaction(db, async () => 'done', { baseDelayMs: 0 })).rejects.toMatchObject({ cause: { code } });
    expect(runs()).toBe(1);
  });

  test('surfaces an error without a SQLSTATE from the first run', async () => {
    const { db, runs } = failingDb([new Error('not a database error')]);
    await expect(withTransaction(db, async () => 'done', { baseDelayMs: 0 })).rejects.toThrow('not a database error');
    expect(runs()).toBe(1);
  });

  test('gives up after the configured number of attempts with the last error', async () => {
    const { db, runs } = failingDb([driverError('40P01'), driverError('40P01'), driverError('40001')]);
    await expect(withTransaction(db, async () => 'done', { attempts: 3, baseDelayMs: 0 })).rejects.toMatchObject({
      cause: { code: '40001' },
    });
    expect(runs()).toBe(3);
  });

  test('waits longer before each retry', async () => {
    const { db } = failingDb([driverError('40001'), driverError('40001'), driverError('40001')]);
    const started = performance.now();
    await withTransaction(db, async () => 'done', { attempts: 4, baseDelayMs: 10 });
    // 10 + 20 + 40 ms at least (jitter only adds).
    expect(performance.now() - started).toBeGreaterThanOrEqual(68);
  });
});

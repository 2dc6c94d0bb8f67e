import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { qualityRuns } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { TEST_DB_KIND, openTestDatabase } from '../test/db.ts';
import { startQualitySchedule } from './quality-service.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`quality schedule on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  const logger = createLogger('silent');
  const runs = async () => handle.db.select().from(qualityRuns);

  beforeAll(async () => {
    handle = await openTestDatabase();
  });
  afterAll(async () => {
    await handle?.close();
  });

  test('does nothing when the schedule is off (0 minutes)', async () => {
    const schedule = startQualitySchedule(handle.db, 0, logger);
    await sleep(300);
    await schedule.stop();
    expect(await runs()).toEqual([]);
  });

  test('runs on one of two replicas every interval, and on the other once the first stops', async () => {
    // 0.005 minutes = 300 ms; leases of 1 s, renewed every third of that.
    const every = 0.005;
    const a = startQualitySchedule(handle.db, every, logger, { holder: 'replica-a', leaseMs: 1000 });
    await sleep(100);
    const b = startQualitySchedule(handle.db, every, logger, { holder: 'replica-b', leaseMs: 1000 });
    await sleep(1500);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    const ranWhileALed = (await runs()).length;
    // Twice the runs would mean both replicas ran it: at most one run per 300 ms in 1.5 s.
    expect(ranWhileALed).toBeGreaterThanOrEqual(2);
    expect(ranWhileALed).toBeLessThanOrEqual(6);
    expect((await runs()).every((r) => r.trigger === 'SCHEDULE')).toBe(true);

    await a.stop();
    await sleep(1500);
    expect(b.isLeader).toBe(true);
    expect((await runs()).length).toBeGreaterThan(ranWhileALed);
    await b.stop();
    const after = (await runs()).length;
    await sleep(700);
    expect(await runs()).toHaveLength(after);
  });
});

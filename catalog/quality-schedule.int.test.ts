import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { qualityRuns } from '../platform/db/schema/index.ts';
import { createLogger } from '../platform/logger.ts';
import { TEST_DB_KIND, openTestDatabase } from '../test/db.ts';
import { startQualitySchedule } from './quality-service.ts';

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
  afterEach(() => {
    vi.useRealTimers();
  });

  test('does nothing when the schedule is off (0 minutes)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const schedule = startQualitySchedule(handle.db, 0, logger);
    vi.advanceTimersByTime(24 * 60 * 60_000);
    schedule.stop();
    expect(await runs()).toEqual([]);
  });

  test('stores a SCHEDULE run every interval until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const schedule = startQualitySchedule(handle.db, 15, logger);
    vi.advanceTimersByTime(14 * 60_000);
    expect(await runs()).toEqual([]);
    vi.advanceTimersByTime(60_000);
    await vi.waitFor(async () => expect((await runs()).filter((r) => r.status === 'SUCCEEDED')).toHaveLength(1));
    expect((await runs())[0]!.trigger).toBe('SCHEDULE');
    schedule.stop();
    vi.advanceTimersByTime(60 * 60_000);
    expect(await runs()).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows, type DatabaseHandle } from '../platform/db/client.ts';
import { openTestDatabase, TEST_DB_KIND } from '../test/db.ts';
import { until } from '../test/wait.ts';
import { lockKeys, storedSinceMark } from './store.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A bulk load's chunk takes the ingest lock exclusively. Queued behind the ingests running, it would make every
// ingest arriving meanwhile queue behind it too; taken politely, those pass first.
describe.skipIf(TEST_DB_KIND !== 'postgres')('the ingest lock a load takes on postgres', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openTestDatabase();
  });
  afterAll(async () => {
    await handle?.close();
  });

  const notGranted = async () =>
    (
      await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)
    )[0]!.n;

  /** Who gets the lock first: the load, or an ingest that arrives while the load waits for one running. */
  async function whoFirst(polite: boolean): Promise<string[]> {
    const { db } = handle;
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const running = db.transaction(async (tx) => {
      await lockKeys(tx, ['running-ingest']);
      holding();
      await released;
    });
    await held;
    const load = db.transaction(async (tx) => {
      await storedSinceMark(tx, { polite });
      order.push('load');
    });
    // The load is now waiting in line (queued) or trying (polite).
    if (!polite) await until(async () => (await notGranted()) >= 1, 2_000);
    if (polite) await sleep(50);
    const arriving = db.transaction(async (tx) => {
      await lockKeys(tx, ['arriving-ingest']);
      order.push('online');
    });
    await until(async () => order.includes('online') || (await notGranted()) >= 2, 2_000);
    release();
    await Promise.all([running, load, arriving]);
    return order;
  }

  test('queued, the load makes an ingest arriving meanwhile wait for it', async () => {
    expect(await whoFirst(false)).toEqual(['load', 'online']);
  });

  test('politely, the load lets an ingest arriving meanwhile pass first', async () => {
    expect(await whoFirst(true)).toEqual(['online', 'load']);
  });
});

import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordChanges } from '../events/index.ts';
import { headPosition, publishRound } from '../events/store.ts';
import type { DatabaseHandle } from '../platform/db/client.ts';
import { changeEvents } from '../platform/db/schema/index.ts';
import { openTestDatabase, TEST_DB_KIND } from './db.ts';

describe(`a publishing round of the change-event outbox on ${TEST_DB_KIND}`, () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openTestDatabase();
  });
  afterAll(async () => {
    await handle?.close();
  });

  const write = (actors: string[]) =>
    handle.db.transaction((tx) =>
      recordChanges(
        tx,
        actors.map((actor) => ({ type: 'MODEL_ACTIVATED', actor, data: { version: actor } })),
      ),
    );
  const stored = () =>
    handle.db.select({ actor: changeEvents.actor, position: changeEvents.position }).from(changeEvents).orderBy(asc(changeEvents.seq));

  test('with nothing pending it publishes nothing and reports the head', async () => {
    expect(await publishRound(handle.db, 10)).toEqual({ published: 0, head: 0 });
  });

  test('gives at most a batch of pending rows the next positions in the order they were written', async () => {
    await write(['a', 'b', 'c']);
    await write(['d', 'e']);
    expect(await publishRound(handle.db, 4)).toEqual({ published: 4, head: 4 });
    expect(await stored()).toEqual([
      { actor: 'a', position: 1 },
      { actor: 'b', position: 2 },
      { actor: 'c', position: 3 },
      { actor: 'd', position: 4 },
      { actor: 'e', position: null },
    ]);
    // A short round: the last row, then the dispatcher knows it has caught up.
    expect(await publishRound(handle.db, 4)).toEqual({ published: 1, head: 5 });
    expect(await publishRound(handle.db, 4)).toEqual({ published: 0, head: 5 });
    expect(await headPosition(handle.db)).toBe(5);
  });

  test('a row whose transaction has not committed waits for a later round; positions stay unique and gapless', async () => {
    await write(['f']);
    // Rows of a transaction still open are invisible to the round; they are published once it commits.
    const open = handle.db.transaction(async (tx) => {
      await recordChanges(tx, [{ type: 'MODEL_ACTIVATED', actor: 'late' }]);
      if (TEST_DB_KIND === 'postgres') expect(await publishRound(handle.db, 10)).toEqual({ published: 1, head: 6 });
    });
    await open;
    const round = await publishRound(handle.db, 10);
    expect(round.head).toBe(7);
    const positions = (await stored()).map((r) => r.position);
    expect(positions).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

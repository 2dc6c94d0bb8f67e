import { describe, expect, test } from 'vitest';
import { leasedBuckets, leaseSize, memoryBuckets, type RateBuckets } from './rate-buckets.ts';

/** A shared store (in memory, on a clock the test moves) that counts the calls replicas make to it. */
function countedStore(clock: { now: number }): RateBuckets & { calls: number } {
  const store = memoryBuckets(() => clock.now);
  const counted = {
    ...store,
    calls: 0,
    take(key: string, capacity: number, cost: number) {
      counted.calls += 1;
      return store.take(key, capacity, cost);
    },
  };
  return counted;
}

async function admitted(replica: RateBuckets, key: string, capacity: number, requests: number): Promise<number> {
  let granted = 0;
  for (let i = 0; i < requests; i += 1) if ((await replica.take(key, capacity, 1)).granted) granted += 1;
  return granted;
}

describe('leased rate-limit buckets', () => {
  test('leases a hundredth of the limit at once, between 1 and 100 tokens', () => {
    expect([10, 199, 200, 6000, 10_000_000].map(leaseSize)).toEqual([1, 1, 2, 60, 100]);
  });

  test('two replicas leasing from one bucket admit a key its limit once, not once each', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const replicas = [leasedBuckets(store, () => clock.now), leasedBuckets(store, () => clock.now)];
    let granted = 0;
    for (let i = 0; i < 3000; i += 1) if ((await replicas[i % 2]!.take('req:k', 1000, 1)).granted) granted += 1;
    expect(granted).toBe(1000);
  });

  test('touches the shared store once per lease, not once per request', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    expect(
      await admitted(
        leasedBuckets(store, () => clock.now),
        'req:k',
        1000,
        500,
      ),
    ).toBe(500);
    expect(store.calls).toBe(50); // leases of 10
  });

  test('concurrent requests of one key wait for one lease instead of each asking the store', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const replica = leasedBuckets(store, () => clock.now);
    const states = await Promise.all(Array.from({ length: 30 }, () => replica.take('req:k', 1000, 1)));
    expect(states.every((s) => s.granted)).toBe(true);
    expect(store.calls).toBe(3);
  });

  test('near the limit a replica leases the whole tokens that are left', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    await store.take('req:k', 1000, 995); // another replica's draws
    expect(
      await admitted(
        leasedBuckets(store, () => clock.now),
        'req:k',
        1000,
        20,
      ),
    ).toBe(5);
  });

  test('a replica holding a lease leaves at most one lease unspent while another is refused', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const [a, b] = [leasedBuckets(store, () => clock.now), leasedBuckets(store, () => clock.now)];
    expect(await admitted(a, 'req:k', 1000, 991)).toBe(991); // a has leased all 1000 and holds 9
    expect((await b.take('req:k', 1000, 1)).granted).toBe(false);
    expect(await admitted(a, 'req:k', 1000, 20)).toBe(9);
  });

  test('refuses over the limit without asking the store until the refill makes a token due', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const replica = leasedBuckets(store, () => clock.now);
    expect(await admitted(replica, 'req:k', 60, 60)).toBe(60); // 1 token a second, leases of 1
    const calls = store.calls;
    const refused = await replica.take('req:k', 60, 1);
    expect(refused.granted).toBe(false);
    clock.now += 500;
    const again = await replica.take('req:k', 60, 1);
    expect(again.granted).toBe(false);
    expect(again.tokens).toBeCloseTo(0.5);
    expect(store.calls).toBe(calls + 1);
    clock.now += 500;
    expect((await replica.take('req:k', 60, 1)).granted).toBe(true);
  });

  test('reading the level counts the replica’s own leased tokens, then the store’s', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const replica = leasedBuckets(store, () => clock.now);
    await replica.take('req:k', 1000, 1);
    expect(await replica.take('req:k', 1000, 0)).toEqual({ granted: true, tokens: 9 });
    expect((await replica.take('req:other', 1000, 0)).tokens).toBe(1000);
  });

  test('drops unspent leased tokens a minute old and prunes them with the store', async () => {
    const clock = { now: 0 };
    const store = countedStore(clock);
    const replica = leasedBuckets(store, () => clock.now);
    await replica.take('req:k', 1000, 1);
    clock.now += 60_000;
    expect(await replica.prune()).toBe(2); // the replica's lease and the store's bucket
    expect((await replica.take('req:k', 1000, 0)).tokens).toBe(1000);
  });
});

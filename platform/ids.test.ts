import { describe, expect, test } from 'vitest';
import { timeOrderedUuid, uuidTime } from './ids.ts';

describe('timeOrderedUuid', () => {
  test('is a version 7 UUID of the RFC 9562 variant that PostgreSQL accepts as uuid text', () => {
    const id = timeOrderedUuid();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('carries its creation time, so ids made later sort after earlier ones', () => {
    const times = [1_700_000_000_000, 1_700_000_000_001, 1_764_000_000_000, 2_000_000_000_000];
    const ids = times.map((t) => timeOrderedUuid(t));
    expect(ids.map(uuidTime)).toEqual(times);
    expect([...ids].reverse().sort()).toEqual(ids);
  });

  test('differs between ids made in the same millisecond, and sorts in the order they were made', () => {
    const ids = Array.from({ length: 10_000 }, () => timeOrderedUuid(1_764_000_000_000));
    expect(new Set(ids).size).toBe(10_000);
    expect(new Set(ids.map(uuidTime))).toEqual(new Set([1_764_000_000_000]));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('starts each millisecond at a random point, so ids of two processes in one millisecond do not follow each other', () => {
    const a = timeOrderedUuid(1_764_000_000_005);
    const b = timeOrderedUuid(1_764_000_000_006);
    const c = timeOrderedUuid(1_764_000_000_007);
    // The counter (after the version digit) of consecutive milliseconds: random starts, not 0, 1, 2.
    const counters = [a, b, c].map((id) => id.replace(/-/g, '').slice(13, 24));
    expect(new Set(counters).size).toBe(3);
    expect(counters.every((x) => Number.parseInt(x, 16) > 0)).toBe(true);
  });
});

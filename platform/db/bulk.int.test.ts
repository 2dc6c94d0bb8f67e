import { randomUUID } from 'node:crypto';
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase } from '../../test/db.ts';
import { anyOf, copyRows, insertRows } from './bulk.ts';
import type { DatabaseHandle } from './client.ts';
import { queryRows } from './client.ts';
import { fieldProvenance, identities, identityEvents } from './schema/index.ts';

let handle: DatabaseHandle;
beforeAll(async () => {
  handle = await openTestDatabase();
});
afterAll(async () => {
  await handle.close();
});

describe('insertRows', () => {
  test('stores every row with nested JSON, nulls and column defaults, whatever the count', async () => {
    const identityId = randomUUID();
    const rows = Array.from({ length: 1500 }, (_, i) => ({
      identityId,
      type: 'LINKED' as const,
      actor: `pipeline-${i}`,
      recordId: i % 2 === 0 ? randomUUID() : null,
      evidence:
        i % 3 === 0
          ? { probability: 0.97, explanation: { contributions: [{ comparison: 'ssn', level: 'exact' }] }, quote: 'O"Brien \\ x' }
          : undefined,
    }));
    await handle.db.execute(insertRows(identityEvents, rows));
    const stored = await handle.db
      .select()
      .from(identityEvents)
      .where(sql`${identityEvents.identityId} = ${identityId}`)
      .orderBy(asc(identityEvents.id));
    expect(stored).toHaveLength(1500);
    expect(stored[0]!.actor).toBe('pipeline-0');
    expect(stored[0]!.evidence).toEqual({
      probability: 0.97,
      explanation: { contributions: [{ comparison: 'ssn', level: 'exact' }] },
      quote: 'O"Brien \\ x',
    });
    expect(stored[1]!.evidence).toBeNull();
    expect(stored[1]!.recordId).toBeNull();
    expect(stored[1499]!.actor).toBe('pipeline-1499');
    // `at` was set by no row: its default applies.
    expect(stored.every((e) => e.at instanceof Date && Date.now() - e.at.getTime() < 60_000)).toBe(true);
  });

  test('keeps a timestamp given in its text form to the microsecond', async () => {
    const identityId = randomUUID();
    const validFrom = '2026-03-04 05:06:07.123456+00';
    await handle.db.execute(
      insertRows(fieldProvenance, [
        {
          identityId,
          field: 'familyName',
          value: 'Okafor',
          rule: 'MOST_RECENT',
          policyVersion: 1,
          competitors: [{ value: 'Okafor' }],
          validFrom,
        },
      ]),
    );
    const [row] = await queryRows<{ t: string; competitors: unknown }>(
      handle.db,
      sql`select to_char(valid_from at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as t, competitors from field_provenance where identity_id = ${identityId}`,
    );
    expect(row?.t).toBe('2026-03-04 05:06:07.123456');
    expect(row?.competitors).toEqual([{ value: 'Okafor' }]);
  });

  test('takes a suffix, such as an on conflict clause', async () => {
    const id = randomUUID();
    await handle.db.execute(insertRows(identities, [{ id, version: 1 }]));
    await handle.db.execute(insertRows(identities, [{ id, version: 7 }], sql` on conflict (id) do update set version = excluded.version`));
    const rows = await handle.db
      .select()
      .from(identities)
      .where(anyOf(identities.id, [id, id], 'uuid'));
    expect(rows.map((r) => r.version)).toEqual([7]);
  });

  test('refuses rows that set no column', () => {
    expect(() => insertRows(identities, [{}])).toThrow(/identities.*no column/);
  });
});

describe('copyRows', () => {
  test('stores every byte of every value: escapes, multibyte text across buffer ends, nulls, JSON, a value larger than a buffer', async () => {
    const identityId = randomUUID();
    const large = 'é'.repeat(700_000);
    // Actors of one to four bytes a character, with the characters COPY reserves, so rows end at every offset of
    // a buffer and some characters straddle where one is sent.
    const actor = (i: number) => `${'ä😀\\t\t\n\r'.repeat(i % 7)}Ōkafor-${i}-${'x'.repeat(i % 13)}`;
    const rows = Array.from({ length: 40_000 }, (_, i) => ({
      identityId,
      type: 'LINKED' as const,
      actor: actor(i),
      recordId: i % 2 === 0 ? randomUUID() : null,
      evidence: i === 20_000 ? { note: large } : i % 3 === 0 ? { quote: 'O"Brien \\ x\ty', n: i } : undefined,
    }));
    await handle.db.transaction((tx) => copyRows(tx, identityEvents, rows));
    const stored = await handle.db
      .select()
      .from(identityEvents)
      .where(sql`${identityEvents.identityId} = ${identityId}`)
      .orderBy(asc(identityEvents.id));
    expect(stored).toHaveLength(rows.length);
    const byActor = new Map(stored.map((e) => [e.actor, e]));
    expect(byActor.size).toBe(rows.length);
    for (const [i, row] of rows.entries()) {
      const got = byActor.get(row.actor);
      expect(got, `row ${i}`).toBeDefined();
      expect(got!.recordId).toBe(row.recordId);
      expect(got!.evidence).toEqual(row.evidence ?? null);
    }
  });
});

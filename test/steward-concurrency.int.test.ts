import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import { queryRows } from '../platform/db/client.ts';
import { DomainError } from '../platform/errors.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person, seedSources } from './fixtures.ts';

// Steward decisions racing each other and the ingest pipeline. On PostgreSQL the operations run from several
// pooled connections at once; on PGlite (one connection) the same operations run one after another.
describe(`concurrent steward decisions on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  const actor = { actor: 'local:steward', reason: 'concurrency test' };
  let seq = 5000;

  beforeAll(async () => {
    app = await createTestApp();
    await seedSources(app, ['ehr', 'lab']);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** One identity with `n` records of one synthetic patient; returns its id and record ids. */
  async function patient(n: number): Promise<{ identityId: string; records: string[]; localIds: string[]; seed: number }> {
    const seed = (seq += 1);
    const results = await app.services.ingest.ingestMany(
      Array.from({ length: n }, (_, i) => ({ source: i % 2 ? 'lab' : 'ehr', localId: `C-${seed}-${i}`, ...person(seed) }) as never),
      { actor: 'local:pipeline' },
    );
    expect(new Set(results.map((r) => r.identityId)).size).toBe(1);
    return {
      identityId: results[0]!.identityId,
      records: results.map((r) => r.recordId),
      localIds: results.map((_, i) => `C-${seed}-${i}`),
      seed,
    };
  }

  /** Settles every operation; an expected refusal (a typed domain error) is fine, anything else fails the test. */
  async function race(...ops: Array<() => Promise<unknown>>): Promise<PromiseSettledResult<unknown>[]> {
    const settled = await Promise.allSettled(ops.map((op) => op()));
    for (const s of settled) if (s.status === 'rejected' && !(s.reason instanceof DomainError)) throw s.reason;
    return settled;
  }

  /** The index's invariants, as a list of violations (empty when the index is consistent). */
  async function violations(): Promise<string[]> {
    const db = app.services.database.db;
    const found: string[] = [];
    const orphans = await queryRows<{ id: string }>(
      db,
      sql`
      select r.id from source_records r left join links l on l.record_id = r.id left join identities i on i.id = l.identity_id
      where r.deleted_at is null and (i.id is null or i.status <> 'ACTIVE')`,
    );
    for (const o of orphans) found.push(`live record ${o.id} is not in a live identity`);
    const ghosts = await queryRows<{ id: string }>(
      db,
      sql`
      select i.id from identities i where i.status = 'ACTIVE'
        and not exists (select 1 from links l join source_records r on r.id = l.record_id where l.identity_id = i.id and r.deleted_at is null)
        and (jsonb_strip_nulls(i.golden) <> '{}'::jsonb or not exists (select 1 from links l where l.identity_id = i.id))`,
    );
    for (const g of ghosts) found.push(`live identity ${g.id} has no records`);
    const redirects = await queryRows<{ id: string }>(
      db,
      sql`
      select m.id from identities m left join identities s on s.id = m.merged_into
      where m.status = 'MERGED' and (s.id is null or s.status <> 'ACTIVE' or exists (select 1 from links l where l.identity_id = m.id))`,
    );
    for (const r of redirects) found.push(`merged identity ${r.id} does not redirect to a live identity holding its records`);
    const active = await queryRows<{ id: string; golden: unknown }>(
      db,
      sql`select id, golden from identities where status = 'ACTIVE' order by id`,
    );
    await db
      .transaction(async (tx) => {
        await rebuildGoldenMany(
          tx,
          active.map((a) => a.id),
          { policy: await loadActivePolicy(tx) },
        );
        const rebuilt = new Map(
          (await queryRows<{ id: string; golden: unknown }>(tx, sql`select id, golden from identities where status = 'ACTIVE'`)).map(
            (r) => [r.id, r.golden],
          ),
        );
        for (const a of active)
          if (JSON.stringify(rebuilt.get(a.id)) !== JSON.stringify(a.golden)) found.push(`golden record of ${a.id} differs from a rebuild`);
        tx.rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error && /rollback/i.test(`${error.name} ${error.message}`))) throw error;
      });
    return found;
  }

  test('a record unlinked twice at once leaves no empty identity behind', async () => {
    for (let i = 0; i < 8; i += 1) {
      const p = await patient(2);
      const settled = await race(
        () => app.services.steward.unlink(p.records[0]!, null, actor),
        () => app.services.steward.unlink(p.records[0]!, null, actor),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    }
    expect(await violations()).toEqual([]);
  });

  test('an unlink during a merge never redirects the merged identity to another patient', async () => {
    for (let i = 0; i < 8; i += 1) {
      const a = await patient(2);
      const b = await patient(1);
      const c = await patient(1);
      await race(
        () => app.services.steward.merge(b.identityId, a.identityId, actor),
        () => app.services.steward.unlink(a.records[0]!, c.identityId, actor),
      );
      const [merged] = await queryRows<{ status: string; merged_into: string | null }>(
        app.services.database.db,
        sql`select status, merged_into from identities where id = ${a.identityId}`,
      );
      if (merged?.status === 'MERGED') {
        // Merged by the steward: it redirects to the survivor, which holds its other record.
        const [link] = await queryRows<{ identity_id: string }>(
          app.services.database.db,
          sql`select identity_id from links where record_id = ${a.records[1]}`,
        );
        expect(merged.merged_into).toBe(b.identityId);
        expect(link?.identity_id).toBe(b.identityId);
      }
    }
    expect(await violations()).toEqual([]);
  });

  test('moving the last live record out takes the deleted ones along, so none stays in the retired identity', async () => {
    const a = await patient(2);
    const b = await patient(1);
    await app.services.ingest.deleteRecord('lab', a.localIds[1]!, actor);
    // A split of the last live record is refused (the identity would be left with deleted records only).
    await expect(app.services.steward.unlink(a.records[0]!, null, actor)).rejects.toMatchObject({ code: 'ONLY_RECORD' });
    const moved = await app.services.steward.unlink(a.records[0]!, b.identityId, actor);
    expect(moved).toEqual({ from: a.identityId, to: b.identityId });
    {
      const [p, to] = [a, b.identityId];
      const [retired] = await queryRows<{ status: string; merged_into: string | null }>(
        app.services.database.db,
        sql`select status, merged_into from identities where id = ${p.identityId}`,
      );
      expect(retired).toEqual({ status: 'MERGED', merged_into: to });
      const linked = await queryRows<{ record_id: string; identity_id: string }>(
        app.services.database.db,
        sql`select record_id, identity_id from links where record_id = any(${sql.param(p.records)}::uuid[]) order by record_id`,
      );
      expect(linked.map((l) => l.identity_id)).toEqual([to, to]);
    }
    // The deleted record, sent again, joins a live identity.
    const again = await app.services.ingest.ingest({ source: 'lab', localId: a.localIds[1]!, ...person(a.seed) } as never, {
      actor: 'local:pipeline',
    });
    const [rejoined] = await queryRows<{ status: string }>(
      app.services.database.db,
      sql`select status from identities where id = ${again.identityId}`,
    );
    expect(rejoined?.status).toBe('ACTIVE');
    expect(await violations()).toEqual([]);
  });

  test.each([42, 1, 2, 3])(
    'random interleavings of merge, unlink, not-duplicate, review decisions, delete and re-ingest keep the index consistent (seed %i)',
    async (seed) => {
      const people = await Promise.all(Array.from({ length: 6 }, () => patient(2)));
      let state = seed;
      const rand = (n: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % n;
      };
      const pick = <T>(list: T[]) => list[rand(list.length)]!;
      const liveIdentities = async () =>
        (await queryRows<{ id: string }>(app.services.database.db, sql`select id from identities where status = 'ACTIVE'`)).map(
          (r) => r.id,
        );
      const allRecords = people.flatMap((p) => p.records);
      const allLocal = people.flatMap((p) => p.localIds.map((localId, i) => ({ source: i % 2 ? 'lab' : 'ehr', localId })));
      for (let round = 0; round < 8; round += 1) {
        const ids = await liveIdentities();
        const openReviews = (
          await queryRows<{ id: string }>(app.services.database.db, sql`select id from review_items where status = 'OPEN'`)
        ).map((r) => r.id);
        const ops = Array.from({ length: 6 }, () => {
          const kind = rand(7);
          if (kind === 0) return () => app.services.steward.merge(pick(ids), pick(ids), actor);
          if (kind === 1) return () => app.services.steward.unlink(pick(allRecords), null, actor);
          if (kind === 2) return () => app.services.steward.unlink(pick(allRecords), pick(ids), actor);
          if (kind === 3) return () => app.services.steward.markNotDuplicate(pick(ids), pick(ids), actor);
          if (kind === 4 && openReviews.length > 0)
            return () => app.services.steward.resolveReviewItem(pick(openReviews), rand(2) ? 'MATCH' : 'NOT_MATCH', actor);
          const target = pick(allLocal);
          if (kind === 5) return () => app.services.ingest.deleteRecord(target.source, target.localId, actor);
          // Re-ingest (also restores a deleted record), sometimes as another of the patients.
          return () => app.services.ingest.ingest({ ...target, ...person(pick(people).seed) } as never, { actor: 'local:pipeline' });
        });
        await race(...ops);
        expect({ round, violations: await violations() }).toEqual({ round, violations: [] });
      }
    },
  );
});

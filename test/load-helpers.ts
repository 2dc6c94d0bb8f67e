import { sql } from 'drizzle-orm';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import { queryRows } from '../platform/db/client.ts';
import type { TestApp } from './app.ts';

/** What `mpi load` tests compare between a loaded index and one ingested record by record. */

/** Local ids grouped by identity, as a canonical set of groups (identity ids differ between databases). */
export async function partition(app: TestApp): Promise<string[]> {
  const rows = await queryRows<{ local_id: string; identity_id: string }>(
    app.services.database.db,
    sql`select r.local_id, coalesce(i.merged_into, l.identity_id) as identity_id
        from source_records r join links l on l.record_id = r.id join identities i on i.id = l.identity_id`,
  );
  const groups = new Map<string, string[]>();
  for (const r of rows) groups.set(r.identity_id, [...(groups.get(r.identity_id) ?? []), r.local_id]);
  return [...groups.values()].map((g) => g.sort().join(' ')).sort();
}

/**
 * The identities whose golden record or provenance a rebuild from the stored records would change (rolled back):
 * none, when the load wrote them as online ingest's rebuild would.
 */
export async function staleGoldens(app: TestApp): Promise<number> {
  const db = app.services.database.db;
  let stale = -1;
  await db
    .transaction(async (tx) => {
      const ids = await queryRows<{ id: string }>(tx, sql`select id from identities where status = 'ACTIVE'`);
      const policy = await loadActivePolicy(tx);
      stale = (
        await rebuildGoldenMany(
          tx,
          ids.map((r) => r.id),
          { policy },
        )
      ).size;
      throw new Error('roll back');
    })
    .catch(() => undefined);
  return stale;
}

/** Open review items as (kind, the local id of the record that raised it). */
export async function reviews(app: TestApp): Promise<string[]> {
  const rows = await queryRows<{ kind: string; local_id: string }>(
    app.services.database.db,
    sql`select v.kind, r.local_id from review_items v join source_records r on r.id = v.record_id where v.status = 'OPEN'`,
  );
  return rows.map((r) => `${r.kind} ${r.local_id}`).sort();
}

export async function count(app: TestApp, table: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(app.services.database.db, sql.raw(`select count(*)::int as n from ${table}`));
  return row!.n;
}

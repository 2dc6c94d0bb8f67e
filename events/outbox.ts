import { sql } from 'drizzle-orm';
import type { Executor } from '../platform/db/client.ts';
import { insertRows, type InsertRow } from '../platform/db/bulk.ts';
import { changeEvents } from '../platform/db/schema/index.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import type { NewChange } from './types.ts';

/**
 * The notification channel of the outbox: `written` when a transaction that wrote events commits, `published` when
 * the dispatcher gave events their positions. PostgreSQL delivers a NOTIFY only when its transaction commits, so a
 * listener hears of committed events at once instead of at its next poll.
 */
export const OUTBOX_CHANNEL = 'mpi_change_events';

/**
 * Writes change events into the outbox with the transaction that makes the change, so a change and its event
 * commit or roll back together. One statement whatever the number of events; it also queues the `written`
 * notification, which the dispatcher hears when the transaction commits.
 */
export async function recordChanges(tx: Executor, changes: readonly NewChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.execute(sql`with written as (${insertRows(changeEvents, changeRows(changes))}) select pg_notify(${OUTBOX_CHANNEL}, 'written')`);
}

/** The outbox rows of changes, each with its time-ordered id (the bulk load copies them). */
export function changeRows(changes: readonly NewChange[]): Array<InsertRow<typeof changeEvents>> {
  return changes.map((c) => ({
    id: timeOrderedUuid(),
    type: c.type,
    actor: c.actor,
    identityId: c.identityId ?? null,
    recordId: c.recordId ?? null,
    data: c.data ?? {},
    versions: c.versions ?? {},
  }));
}

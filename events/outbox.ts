import type { Executor } from '../platform/db/client.ts';
import { insertRows, type InsertRow } from '../platform/db/bulk.ts';
import { changeEvents } from '../platform/db/schema/index.ts';
import { timeOrderedUuid } from '../platform/ids.ts';
import type { NewChange } from './types.ts';

/**
 * Writes change events into the outbox with the transaction that makes the change, so a change and its event
 * commit or roll back together. One statement whatever the number of events.
 */
export async function recordChanges(tx: Executor, changes: readonly NewChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.execute(insertRows(changeEvents, changeRows(changes)));
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

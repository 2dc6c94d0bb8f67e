import { recordChanges, type NewChange } from '../events/index.ts';
import type { InsertRow } from '../platform/db/bulk.ts';
import type { Executor } from '../platform/db/client.ts';
import type { fieldProvenance } from '../platform/db/schema/index.ts';
import {
  closeProvenanceRows,
  loadContributorsMany,
  lockIdentitiesAndStamp,
  openProvenanceOf,
  openProvenanceRows,
  PROVENANCE_COPY_ROWS,
  provenanceRow,
  writeGoldens,
} from './store.ts';
import { buildGolden, decisionStands, type Contributor, type GoldenRecord, type SurvivorshipPolicy } from './survivorship.ts';

/**
 * Rebuilds the golden records of many identities with a fixed number of statements, whatever their count:
 * the set-based counterpart of `rebuildGolden`, used by batch ingest. Identities are locked in id order (the
 * count makes the lock cover every row, not only the first one read) and stamped with one provenance clock
 * reading taken after, so provenance intervals stay ordered per identity.
 * Returns the ids whose golden values changed; each gets a GOLDEN_RECORD_CHANGED event naming the fields.
 * `changes` are the caller's change events of the same transaction still to be written: they go into the outbox
 * ahead of the golden ones, in the same statement (one insert and one commit notice per transaction).
 */
export async function rebuildGoldenMany(
  tx: Executor,
  identityIds: string[],
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null; actor?: string; changes?: readonly NewChange[] },
): Promise<Set<string>> {
  const ids = [...new Set(identityIds)].sort();
  if (ids.length === 0) {
    await recordChanges(tx, options.changes ?? []);
    return new Set();
  }
  // Pipelined: the reads run after the lock statement, so they see the identities as they are once locked.
  const [{ now, at, versions: locked }, contributors, openRows] = await Promise.all([
    lockIdentitiesAndStamp(tx, ids),
    loadContributorsMany(tx, ids),
    openProvenanceOf(tx, ids),
  ]);
  const openByIdentity = new Map<string, Map<string, (typeof openRows)[number]>>();
  for (const row of openRows) {
    let byField = openByIdentity.get(row.identityId);
    if (!byField) openByIdentity.set(row.identityId, (byField = new Map()));
    byField.set(row.field, row);
  }
  const { toClose, toOpen, goldens, changedFields, changed } = planGoldenRows(ids, contributors, openByIdentity, {
    ...options,
    now,
  });
  // Pipelined in this order: golden records, then rows close before new ones open (at most one open row per
  // identity and field), then the change events. Each golden record written gets the version after the one locked.
  const writes: Array<Promise<unknown>> = [];
  if (goldens.length > 0) writes.push(writeGoldens(tx, goldens, at));
  if (toClose.length > 0) writes.push(closeProvenanceRows(tx, toClose, at));
  // Many rows go in by COPY, which holds the connection alone: it starts once the statements queued here are done.
  const copy = toOpen.length >= PROVENANCE_COPY_ROWS;
  if (toOpen.length > 0 && !copy) writes.push(openProvenanceRows(tx, toOpen));
  writes.push(
    recordChanges(tx, [
      ...(options.changes ?? []),
      ...goldens
        .filter(({ id }) => locked.has(id))
        .map(({ id }) => ({
          type: 'GOLDEN_RECORD_CHANGED' as const,
          actor: options.actor ?? 'system',
          identityId: id,
          data: { fields: changedFields.get(id) ?? [] },
          versions: { identity: locked.get(id)! + 1, policy: options.policy.version },
        })),
    ]),
  );
  await Promise.all(writes);
  if (copy) await openProvenanceRows(tx, toOpen);
  return changed;
}

/** What rebuilding the golden records of `ids` writes, computed without I/O from their contributors and open rows. */
export interface GoldenRows {
  toClose: number[];
  toOpen: Array<InsertRow<typeof fieldProvenance>>;
  goldens: Array<{ id: string; golden: GoldenRecord }>;
  changedFields: Map<string, string[]>;
  changed: Set<string>;
}

/**
 * The provenance rows to close and open and the golden records that change, for identities whose contributors
 * and open provenance rows (by field) are given; `now` stamps the rows opened. The bulk load calls it for the
 * identities it creates, with no open rows.
 */
export function planGoldenRows(
  ids: string[],
  contributors: Map<string, Contributor[]>,
  openByIdentity: Map<string, Map<string, typeof fieldProvenance.$inferSelect>>,
  options: { policy: SurvivorshipPolicy; ingestRunId?: string | null; now: string },
): GoldenRows {
  const { now } = options;
  const changed = new Set<string>();
  const toClose: number[] = [];
  const toOpen: Array<InsertRow<typeof fieldProvenance>> = [];
  const goldens: Array<{ id: string; golden: GoldenRecord }> = [];
  const changedFields = new Map<string, string[]>();
  for (const identityId of ids) {
    const { golden, decisions } = buildGolden(contributors.get(identityId) ?? [], options.policy);
    const open = openByIdentity.get(identityId) ?? new Map();
    let valueChanged = false;
    for (const d of decisions) {
      const current = open.get(d.field);
      if (current ? decisionStands(current, d) : d.value === null) continue;
      if ((current?.value ?? null) !== d.value) {
        valueChanged = true;
        changedFields.set(identityId, [...(changedFields.get(identityId) ?? []), d.field]);
      }
      if (current) toClose.push(current.id);
      toOpen.push(provenanceRow(identityId, d, options, now));
    }
    if (valueChanged) {
      changed.add(identityId);
      goldens.push({ id: identityId, golden });
    }
  }
  return { toClose, toOpen, goldens, changedFields, changed };
}

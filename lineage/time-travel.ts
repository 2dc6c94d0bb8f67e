/**
 * Rebuilding which records an identity held at a past instant from its append-only events. Pure: events in,
 * membership out. The identity service writes these events on every link change (see identity/):
 *   CREATED, LINKED, SPLIT, RECORD_UPDATED (identity, record): the record is in the identity and active;
 *   UNLINKED (identity, record, other): the record left for `other`;
 *   RECORD_DELETED (identity, record): the record was soft-deleted;
 *   MERGED on the survivor, with `after.movedRecords`: those records moved in from `other`;
 *   MERGED as an identity's last event of that type, once it is merged away: it redirects to `other` from then.
 */

export interface HistoryEvent {
  id: number;
  identityId: string;
  type: string;
  recordId: string | null;
  otherIdentityId: string | null;
  after: unknown;
  at: Date;
}

interface RecordState {
  identityId: string;
  deleted: boolean;
}

const JOINING = new Set(['CREATED', 'LINKED', 'SPLIT', 'RECORD_UPDATED']);

function movedRecords(event: HistoryEvent): string[] {
  const moved = (event.after as { movedRecords?: unknown } | null)?.movedRecords;
  return Array.isArray(moved) ? moved.filter((m): m is string => typeof m === 'string') : [];
}

function byTime(a: HistoryEvent, b: HistoryEvent): number {
  return a.at.getTime() - b.at.getTime() || a.id - b.id;
}

/**
 * When and into which identity `identityId` was merged away, given that it is merged now (a merged identity
 * never comes back, so its last MERGED event is the one that merged it).
 */
export function mergedAway(identityId: string, events: HistoryEvent[]): { into: string; at: Date } | null {
  const last = events
    .filter((e) => e.identityId === identityId && e.type === 'MERGED' && e.otherIdentityId)
    .sort(byTime)
    .at(-1);
  return last ? { into: last.otherIdentityId!, at: last.at } : null;
}

/**
 * The identity `requestedId` stood for at `at`: itself, or — if it had been merged away by then — the identity
 * it was merged into, followed as far as merges had happened by `at`. `mergedNow` holds the ids that are
 * merged today; only those can have been merged away.
 */
export function resolveAsOf(
  requestedId: string,
  at: Date,
  events: HistoryEvent[],
  mergedNow: Set<string>,
): { identityId: string; redirectedFrom: string[] } {
  const redirectedFrom: string[] = [];
  let current = requestedId;
  while (mergedNow.has(current) && redirectedFrom.length < 20) {
    const away = mergedAway(current, events);
    if (!away || away.at.getTime() > at.getTime() || redirectedFrom.includes(away.into)) break;
    redirectedFrom.push(current);
    current = away.into;
  }
  return { identityId: current, redirectedFrom };
}

/**
 * The active records of `identityId` at `at`, replaying every event up to then in order. Events of other
 * identities may be included: they only ever move records elsewhere, which is true history too.
 */
export function membersAsOf(identityId: string, at: Date, events: HistoryEvent[]): string[] {
  const states = new Map<string, RecordState>();
  const until = at.getTime();
  for (const e of [...events].sort(byTime)) {
    if (e.at.getTime() > until) break;
    if (e.type === 'MERGED') {
      for (const recordId of movedRecords(e)) {
        // Only the survivor's event moves records; the merged side carries `mergedInto`.
        if ((e.after as { mergedInto?: unknown }).mergedInto !== undefined) continue;
        const state = states.get(recordId);
        states.set(recordId, { identityId: e.identityId, deleted: state?.deleted ?? false });
      }
      continue;
    }
    if (!e.recordId) continue;
    if (JOINING.has(e.type)) states.set(e.recordId, { identityId: e.identityId, deleted: false });
    else if (e.type === 'UNLINKED')
      states.set(e.recordId, { identityId: e.otherIdentityId ?? '', deleted: states.get(e.recordId)?.deleted ?? false });
    else if (e.type === 'RECORD_DELETED') states.set(e.recordId, { identityId: e.identityId, deleted: true });
  }
  return [...states.entries()]
    .filter(([, s]) => s.identityId === identityId && !s.deleted)
    .map(([id]) => id)
    .sort();
}

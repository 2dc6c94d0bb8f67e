import type { Executor } from '../platform/db/client.ts';
import { identityById, identityEventsOf, mergeFamily, provenanceAt, type FieldProvenanceRow } from './store.ts';
import { GOLDEN_FIELDS, type Competitor, type GoldenField, type GoldenRecord } from './survivorship.ts';
import { membersAsOf, resolveAsOf, type HistoryEvent } from './time-travel.ts';

/** An identity as it stood at a past instant. */
export interface IdentitySnapshot {
  requestedId: string;
  /** The identity `requestedId` stood for at `at` (itself, unless it had been merged away by then). */
  identityId: string;
  /** Merged identities followed from `requestedId` to `identityId`, in order. */
  redirectedFrom: string[];
  at: Date;
  golden: GoldenRecord;
  /** The provenance rows in force at `at`, in golden-field order. */
  provenance: FieldProvenanceRow[];
  /** The records linked at `at`, each with the golden-field values it held then (as provenance recorded them). */
  records: Array<{ recordId: string; values: Partial<GoldenRecord> }>;
}

/** Every record value a provenance row recorded: the winner's and the competitors'. */
function recordedValues(rows: FieldProvenanceRow[]): Map<string, Partial<GoldenRecord>> {
  const byRecord = new Map<string, Partial<GoldenRecord>>();
  const put = (recordId: string | null, field: GoldenField, value: string | null) => {
    if (!recordId) return;
    const values = byRecord.get(recordId) ?? {};
    values[field] = value;
    byRecord.set(recordId, values);
  };
  for (const row of rows) {
    const field = row.field as GoldenField;
    put(row.recordId, field, row.value);
    for (const c of row.competitors as Competitor[]) put(c.recordId, field, c.value);
  }
  return byRecord;
}

/**
 * An identity as it stood at `at`, rebuilt from history: membership by replaying identity events (following
 * merges), golden values and provenance from the provenance intervals in force then. Null when the identity
 * did not exist yet. Records a provenance row names are members too: it was written in the same transaction
 * as the change that brought the record in.
 */
export async function identityAsOf(db: Executor, requestedId: string, at: Date): Promise<IdentitySnapshot | null> {
  const requested = await identityById(db, requestedId);
  if (!requested || requested.createdAt.getTime() > at.getTime()) return null;
  // Everything the requested identity could have been part of lives in its current survivor's merge family.
  const survivorId = requested.status === 'MERGED' && requested.mergedInto ? requested.mergedInto : requested.id;
  const family = await mergeFamily(db, survivorId, requested.id);
  const events: HistoryEvent[] = await identityEventsOf(
    db,
    family.map((f) => f.id),
  );
  const mergedNow = new Set(family.filter((f) => f.status === 'MERGED').map((f) => f.id));
  const { identityId, redirectedFrom } = resolveAsOf(requestedId, at, events, mergedNow);
  const provenance = await provenanceAt(db, identityId, at);
  const values = recordedValues(provenance);
  const members = new Set([...membersAsOf(identityId, at, events), ...values.keys()]);
  const golden = Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, provenance.find((p) => p.field === f)?.value ?? null])) as GoldenRecord;
  return {
    requestedId,
    identityId,
    redirectedFrom,
    at,
    golden,
    provenance,
    records: [...members].sort().map((recordId) => ({ recordId, values: values.get(recordId) ?? {} })),
  };
}

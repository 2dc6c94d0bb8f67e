import { recordChanges } from '../events/index.ts';
import { appendAuditInTransaction } from '../platform/audit.ts';
import type { Executor } from '../platform/db/client.ts';
import type { MergeEvidence, PlannedOp } from './plan.ts';
import * as store from './store.ts';
import type { Actor } from './types.ts';

/**
 * Merges of two identities that the matcher decides on its own: a record matched both above the match threshold
 * and the merge guard of `mpi link` passed on all their records (see `mergeIfAllowed` in `plan.ts`). Each is
 * written as a steward's merge is (links moved, the merged identity redirected to its survivor, not-duplicate
 * decisions carried over, reviews between the two closed, events on both identities, a change event and an
 * audit entry), under the matcher's name, with the evidence.
 */

/** Who the matcher's own decisions name as their actor (the ingest's caller is named as `triggeredBy`). */
export const MATCHER_ACTOR = 'matcher';
/** The role an automatic decision is audited under. */
const MATCHER_ROLE = 'system';
const MERGE_REASON = 'a record matched both identities above the match threshold and the merge guard passed on all their records';

type MergeOp = Extract<PlannedOp, { kind: 'MERGE' }>;

/**
 * A planned merge whose identities another transaction merged since the plan read them: the guard weighed records
 * that are no longer all there. Carries SQLSTATE 40001 (serialization_failure), so `withTransaction` rolls the
 * ingest back and runs it again, planned against the identities as they now are.
 */
export class StaleMergeError extends Error {
  readonly code = '40001';
  constructor() {
    super('identities of a planned merge were merged by another transaction since they were read');
    this.name = 'StaleMergeError';
  }
}

/**
 * Checks the plan's merges against the identities as locked (`redirect`: each locked identity's survivor) and
 * returns, for each, the merged identity's survivor; throws `StaleMergeError` when one is out of date.
 */
export function checkMerges(ops: readonly PlannedOp[], redirect: ReadonlyMap<string, string>): Map<string, string> {
  const into = new Map<string, string>();
  for (const op of ops) {
    if (op.kind !== 'MERGE') continue;
    const moved = (id: string) => (redirect.get(id) ?? id) !== id;
    if (moved(op.survivorId) || moved(op.mergedId)) throw new StaleMergeError();
    into.set(op.mergedId, op.survivorId);
  }
  return into;
}

/** Follows the plan's merges, then the database's redirects, to the identity an id now is. */
export function mergedTarget(into: ReadonlyMap<string, string>, redirect: ReadonlyMap<string, string>): (id: string) => string {
  return (id) => {
    let current = id;
    for (let next = into.get(current); next !== undefined; next = into.get(current)) current = next;
    return redirect.get(current) ?? current;
  };
}

/** The merges of a plan. */
export function mergeOps(ops: readonly PlannedOp[]): MergeOp[] {
  return ops.filter((op): op is MergeOp => op.kind === 'MERGE');
}

/** What the events and the audit entry say about a merge. */
function evidenceOf(op: MergeOp, actor: Actor): Record<string, unknown> {
  const side = (c: MergeEvidence['survivor']) => ({
    matchedRecordId: c.recordId,
    probability: c.probability,
    weight: c.weight,
    grade: c.grade,
    explanation: c.explanation,
  });
  return {
    automatic: true,
    decision: 'MERGE',
    bridgingRecordId: op.recordId,
    survivor: side(op.evidence.survivor),
    merged: side(op.evidence.merged),
    guard: { passed: true, survivorRecords: op.evidence.survivorRecords, mergedRecords: op.evidence.mergedRecords },
    triggeredBy: actor.actor,
  };
}

/**
 * Writes the plan's merges in order (a later one may absorb an earlier survivor), after the batch's links: each
 * moves every link of the merged identity, so records of the batch placed there move too.
 */
export async function writeMerges(
  tx: Executor,
  ops: MergeOp[],
  context: { actor: Actor; modelVersion: string; reason?: string },
): Promise<void> {
  const reason = context.reason ?? MERGE_REASON;
  for (const op of ops) {
    const { survivorId, mergedId } = op;
    const movedRecords = await store.moveLinks(tx, mergedId, survivorId, null);
    await store.markIdentityMerged(tx, mergedId, survivorId);
    await store.moveNotDuplicates(tx, mergedId, survivorId);
    await store.decideOpenReviewsBetween(tx, survivorId, mergedId, { decision: 'MATCH', reason, decidedBy: MATCHER_ACTOR });
    const evidence = evidenceOf(op, context.actor);
    const base = { actor: MATCHER_ACTOR, reason, modelVersion: context.modelVersion, evidence, recordId: op.recordId };
    await store.addEvents(tx, [
      { ...base, identityId: survivorId, type: 'MERGED', otherIdentityId: mergedId, after: { movedRecords } },
      { ...base, identityId: mergedId, type: 'MERGED', otherIdentityId: survivorId, after: { mergedInto: survivorId, movedRecords } },
    ]);
    await recordChanges(tx, [
      {
        type: 'IDENTITIES_MERGED',
        actor: MATCHER_ACTOR,
        identityId: mergedId,
        recordId: op.recordId,
        data: { retiredId: mergedId, survivingId: survivorId, movedRecords, automatic: true },
        versions: { model: context.modelVersion },
      },
    ]);
  }
}

/**
 * One audit entry per automatic merge, chained inside the ingest's transaction (so it commits with the merge).
 * Holds the audit chain's lock until the commit: call it last.
 */
export async function auditMerges(tx: Executor, ops: MergeOp[], context: { actor: Actor; modelVersion: string }): Promise<void> {
  for (const op of ops) {
    await appendAuditInTransaction(tx, {
      actor: MATCHER_ACTOR,
      role: MATCHER_ROLE,
      action: 'autoMerge',
      objectType: 'identity',
      objectIds: [`identity:${op.survivorId}`, `identity:${op.mergedId}`, `record:${op.recordId}`],
      outcome: 'SUCCESS',
      requestId: context.actor.requestId ?? null,
      details: {
        survivorId: op.survivorId,
        mergedId: op.mergedId,
        bridgingRecordId: op.recordId,
        modelVersion: context.modelVersion,
        probabilities: [op.evidence.survivor.probability, op.evidence.merged.probability],
        triggeredBy: context.actor.actor,
      },
    });
  }
}

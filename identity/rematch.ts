import { gradeOf, recordsMayMerge, scorePair } from '../matching/index.ts';
import type { MatchModel, NormalisedRecord } from '../matching/index.ts';
import type { Database } from '../platform/db/client.ts';
import { auditMerges, writeMerges } from './auto-merge.ts';
import { IN_PROCESS_COMPUTE, type ModelCompute } from './model-compute.ts';
import { MAX_TRAINING_RECORDS } from './model-store.ts';
import type { MergeEvidence, PlannedOp } from './plan.ts';
import * as store from './store.ts';
import type { Actor, ScoredCandidate } from './types.ts';

/**
 * Re-matching after a model activation. Records are linked by the model active when they arrive, so a feed's
 * early records stay as its first, weaker model left them, and online would never end where `mpi link` with the
 * new model does. When a model activates, `mpi link`'s clustering runs with it over the stored records; every
 * two identities it puts into one cluster are merged when the merge guard passes on all their records (as an
 * ingest's bridging merge is), unless a steward stands between them: a not-duplicate decision, or a record a
 * steward placed (a manual link) in either. Merge only: an identity the new model would split stays whole and
 * is left to the review queue, because splitting moves records that other systems already reference.
 */

/** Why re-matching did not merge two identities the new model's clustering joins. */
export type RematchRefusal = 'not_duplicate' | 'manual_link' | 'gone' | string;

export interface RematchSummary {
  /** Records the clustering read. */
  records: number;
  /** Identity pairs the new model's clustering joins. */
  proposed: number;
  merged: number;
  refused: Record<RematchRefusal, number>;
}

const REMATCH_REASON = 'a newly activated match model links records of both identities and the merge guard passed on all their records';

function candidate(identityId: string, recordId: string, score: ReturnType<typeof scorePair>, model: MatchModel): ScoredCandidate {
  return {
    identityId,
    recordId,
    probability: score.probability,
    weight: score.weight,
    grade: gradeOf(score.probability, model),
    explanation: score.explanation,
    blockers: [],
  };
}

/**
 * Re-matches the stored records with `model` (just activated): merges what it joins, where the guard allows.
 * Past `maxRecords` the newest are re-matched: those that arrived since the last training, linked only by an
 * older model, are the ones a new model can change. The clustering runs where `compute` runs it (a worker
 * thread in the service); the merges run here, one transaction each.
 */
export async function rematchIdentities(
  db: Database,
  model: MatchModel,
  actor: Actor,
  options: { maxRecords?: number; compute?: ModelCompute } = {},
): Promise<RematchSummary> {
  const rows = await store.linkedRecords(db, options.maxRecords ?? MAX_TRAINING_RECORDS);
  const records = rows.map((r) => r.normalised as NormalisedRecord);
  const compute = options.compute ?? IN_PROCESS_COMPUTE;
  const proposals = await compute.proposeMerges(
    records,
    rows.map((r) => r.identityId),
    model,
  );
  const summary: RematchSummary = { records: rows.length, proposed: proposals.length, merged: 0, refused: {} };
  const refuse = (reason: RematchRefusal) => (summary.refused[reason] = (summary.refused[reason] ?? 0) + 1);
  // Identities merged earlier in this pass point to their survivor.
  const survivorOf = new Map<string, string>();
  const current = (id: string) => {
    while (survivorOf.has(id)) id = survivorOf.get(id)!;
    return id;
  };
  for (const p of proposals) {
    const [ia, ib] = [current(p.identityA), current(p.identityB)];
    if (ia === ib) continue;
    const outcome = await db.transaction(async (tx) => {
      const locked = await store.lockIdentities(tx, [ia, ib]);
      if (locked.length !== 2 || locked.some((r) => r.status !== 'ACTIVE')) return 'gone';
      if (await store.isNotDuplicate(tx, ia, ib)) return 'not_duplicate';
      const members = await store.recordsOfIdentities(tx, [ia, ib]);
      if (members.some((m) => m.link.linkSource === 'MANUAL')) return 'manual_link';
      const sideA = members.filter((m) => m.link.identityId === ia);
      const sideB = members.filter((m) => m.link.identityId === ib);
      const normalised = (side: typeof members) => side.map((m) => m.record.normalised as unknown as NormalisedRecord);
      const decision = recordsMayMerge(normalised(sideA), normalised(sideB), model);
      if (!decision.allowed) return decision.reason;
      const [survivorId, mergedId] = sideA.length >= sideB.length ? [ia, ib] : [ib, ia];
      const [survivorRecord, mergedRecord] = survivorId === ia ? [p.recordA, p.recordB] : [p.recordB, p.recordA];
      const score = scorePair(records[survivorRecord]!, records[mergedRecord]!, model);
      const evidence: MergeEvidence = {
        survivor: candidate(survivorId, rows[survivorRecord]!.recordId, score, model),
        merged: candidate(mergedId, rows[mergedRecord]!.recordId, score, model),
        survivorRecords: Math.max(sideA.length, sideB.length),
        mergedRecords: Math.min(sideA.length, sideB.length),
      };
      const op: Extract<PlannedOp, { kind: 'MERGE' }> = {
        kind: 'MERGE',
        recordId: rows[mergedRecord]!.recordId,
        survivorId,
        mergedId,
        evidence,
      };
      const context = { actor, modelVersion: model.version, reason: REMATCH_REASON };
      await writeMerges(tx, [op], context);
      await auditMerges(tx, [op], context);
      survivorOf.set(mergedId, survivorId);
      return 'merged';
    });
    if (outcome === 'merged') summary.merged++;
    else refuse(outcome);
  }
  return summary;
}

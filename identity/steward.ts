import { recordChanges } from '../events/index.ts';
import { loadActivePolicy, rebuildGoldenMany } from '../lineage/index.ts';
import type { Executor } from '../platform/db/client.ts';
import { ConflictError, NotFoundError, StaleVersionError, ValidationError } from '../platform/errors.ts';
import { requireUuid } from '../platform/ids.ts';
import type { IdentityService } from './service.ts';
import * as store from './store.ts';
import type { Actor } from './types.ts';

export const REVIEW_DECISIONS = ['MATCH', 'NOT_MATCH'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

function requireReason(reason: string | null | undefined, field = 'reason'): string {
  const text = reason?.trim();
  if (!text) throw ValidationError.of(field, 'REQUIRED', 'a reason is required for steward decisions');
  if (text.length > 1000) throw ValidationError.of(field, 'TOO_LONG', 'must be at most 1000 characters');
  return text;
}

function checkVersion(row: store.IdentityRow, expected: number | null | undefined, field: string): void {
  if (expected !== null && expected !== undefined && row.version !== expected) {
    throw new StaleVersionError(row.id, expected, row.version, field);
  }
}

/**
 * The stewards' decisions. Every one is a single transaction that locks the identities involved, writes
 * append-only events with the actor and reason, and rebuilds the affected golden records.
 */
/** Options of a manual merge: optimistic versions, and consent to overrule a not-duplicate decision. */
export interface MergeOptions {
  survivorVersion?: number | null;
  mergedVersion?: number | null;
  overrideNotDuplicate?: boolean | null;
}

export class StewardService {
  constructor(private readonly identities: IdentityService) {}

  /** Every decision runs alone (see `lockForStewardDecision`) and reads what it decides on after the lock. */
  private tx<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.identities.transaction(async (tx) => {
      await store.lockForStewardDecision(tx);
      return work(tx);
    });
  }

  /** Merges `mergedId` into `survivorId`: all its records move, and its ID redirects to the survivor. */
  async merge(survivorId: string, mergedId: string, actor: Actor, versions: MergeOptions = {}): Promise<store.IdentityRow> {
    const reason = requireReason(actor.reason);
    requireUuid(survivorId, 'survivorId', 'an identity id');
    requireUuid(mergedId, 'mergedId', 'an identity id');
    if (survivorId === mergedId) throw ValidationError.of('mergedId', 'SAME_IDENTITY', 'cannot merge an identity into itself');
    return this.tx((tx) => this.mergeIn(tx, survivorId, mergedId, { ...actor, reason }, versions));
  }

  private async mergeIn(
    tx: Executor,
    survivorId: string,
    mergedId: string,
    actor: Actor,
    versions: MergeOptions = {},
  ): Promise<store.IdentityRow> {
    const policy = await loadActivePolicy(tx);
    const rows = await store.lockIdentities(tx, [survivorId, mergedId]);
    const survivor = rows.find((r) => r.id === survivorId);
    const merged = rows.find((r) => r.id === mergedId);
    if (!survivor) throw new NotFoundError('Identity', 'survivorId');
    if (!merged) throw new NotFoundError('Identity', 'mergedId');
    if (survivor.status !== 'ACTIVE') throw new ConflictError('NOT_ACTIVE', 'Survivor identity was already merged', 'survivorId');
    if (merged.status !== 'ACTIVE') throw new ConflictError('NOT_ACTIVE', 'Identity was already merged', 'mergedId');
    checkVersion(survivor, versions.survivorVersion, 'survivorVersion');
    checkVersion(merged, versions.mergedVersion, 'mergedVersion');
    const markedDistinct = await store.isNotDuplicate(tx, survivorId, mergedId);
    if (markedDistinct && !versions.overrideNotDuplicate) {
      throw new ConflictError(
        'MARKED_NOT_DUPLICATE',
        'These identities were marked as different people; merge with overrideNotDuplicate: true to overrule that decision',
        'mergedId',
      );
    }
    await this.mergeLocked(tx, survivorId, mergedId, actor, policy, { overrodeNotDuplicate: markedDistinct });
    return (await store.getIdentity(tx, survivorId))!;
  }

  private async mergeLocked(
    tx: Executor,
    survivorId: string,
    mergedId: string,
    actor: Actor,
    policy: Awaited<ReturnType<typeof loadActivePolicy>>,
    evidence: Record<string, unknown> = {},
  ): Promise<void> {
    const moved = await store.moveLinks(tx, mergedId, survivorId, 'MANUAL');
    await store.markIdentityMerged(tx, mergedId, survivorId);
    await store.deleteNotDuplicate(tx, survivorId, mergedId);
    await store.moveNotDuplicates(tx, mergedId, survivorId);
    await store.closeReviewItemsFor(tx, [mergedId], 'MERGED', actor.actor);
    const decided = await this.decision(tx, actor, { decision: 'MERGE', ...evidence });
    await store.addEvents(tx, [
      { ...decided, identityId: survivorId, type: 'MERGED', otherIdentityId: mergedId, after: { movedRecords: moved } },
      {
        ...decided,
        identityId: mergedId,
        type: 'MERGED',
        otherIdentityId: survivorId,
        after: { mergedInto: survivorId, movedRecords: moved },
      },
    ]);
    await recordChanges(tx, [
      {
        type: 'IDENTITIES_MERGED',
        actor: actor.actor,
        identityId: mergedId,
        data: { retiredId: mergedId, survivingId: survivorId, movedRecords: moved },
      },
    ]);
    await rebuildGoldenMany(tx, [mergedId, survivorId], { policy, actor: actor.actor });
  }

  /**
   * Moves a record out of its identity, to `toIdentityId` or to a new identity. The link becomes manual, so
   * the matcher never moves it back. Both golden records are rebuilt.
   */
  async unlink(recordId: string, toIdentityId: string | null, actor: Actor): Promise<{ from: string; to: string }> {
    const reason = requireReason(actor.reason);
    requireUuid(recordId, 'recordId', 'a source record id');
    if (toIdentityId !== null) requireUuid(toIdentityId, 'toIdentityId', 'an identity id');
    return this.tx((tx) => this.unlinkIn(tx, recordId, toIdentityId, { ...actor, reason }));
  }

  private async unlinkIn(tx: Executor, recordId: string, toIdentityId: string | null, actor: Actor): Promise<{ from: string; to: string }> {
    const reason = actor.reason ?? null;
    const policy = await loadActivePolicy(tx);
    const found = await store.findRecordById(tx, recordId);
    if (!found?.link || found.record.deletedAt) throw new NotFoundError('Source record', 'recordId');
    const from = found.link.identityId;
    const locked = await store.lockIdentities(tx, toIdentityId ? [from, toIdentityId] : [from]);
    // Re-check under the locks: the record may have moved, or its identity been merged, since it was read.
    const current = await store.findRecordById(tx, recordId);
    if (current?.link?.identityId !== from || current.record.deletedAt)
      throw new ConflictError('RECORD_MOVED', 'Record changed since it was read; reload and retry', 'recordId');
    if (locked.find((r) => r.id === from)?.status !== 'ACTIVE')
      throw new ConflictError('NOT_ACTIVE', "The record's identity was merged; reload and retry", 'recordId');
    if (toIdentityId) {
      const target = locked.find((r) => r.id === toIdentityId);
      if (!target) throw new NotFoundError('Identity', 'toIdentityId');
      if (target.status !== 'ACTIVE') throw new ConflictError('NOT_ACTIVE', 'Target identity was merged', 'toIdentityId');
      if (toIdentityId === from) throw ValidationError.of('toIdentityId', 'SAME_IDENTITY', 'record is already linked to this identity');
    }
    const remaining = (await store.recordIdsOfIdentity(tx, from)).filter((id) => id !== recordId);
    if (!toIdentityId && remaining.length === 0) {
      throw new ConflictError('ONLY_RECORD', 'Record is the only record of its identity', 'recordId');
    }
    const to = toIdentityId ?? (await store.createIdentity(tx)).id;
    await store.upsertLink(tx, {
      recordId,
      identityId: to,
      matchResult: 'MATCH',
      linkSource: 'MANUAL',
      modelVersion: found.link.modelVersion,
    });
    const decided = await this.decision(tx, actor, { decision: toIdentityId ? 'MOVE' : 'SPLIT' });
    const events: store.NewIdentityEvent[] = [
      { ...decided, identityId: from, type: 'UNLINKED', recordId, otherIdentityId: to },
      { ...decided, identityId: to, type: toIdentityId ? 'LINKED' : 'SPLIT', recordId, otherIdentityId: from },
    ];
    if (!toIdentityId) events.splice(1, 0, { ...decided, identityId: to, type: 'CREATED', recordId });
    if (remaining.length === 0) {
      // Its last live record left: the emptied identity redirects to where the record went, and its deleted
      // records go along, as in any merge (one sent again must rejoin a live identity, not the retired one).
      await store.markIdentityMerged(tx, from, to);
      await store.moveLinks(tx, from, to, null);
      await store.moveNotDuplicates(tx, from, to);
      events.push({ ...decided, identityId: from, type: 'MERGED', otherIdentityId: to });
    } else {
      await store.insertNotDuplicate(tx, from, to, actor.actor, reason);
    }
    await store.addEvents(tx, events);
    const moved = { fromIdentityId: from, toIdentityId: to, linkSource: 'MANUAL' };
    await recordChanges(tx, [
      { type: toIdentityId ? 'RECORD_UNLINKED' : 'IDENTITY_SPLIT', actor: actor.actor, identityId: from, recordId, data: moved },
      ...(remaining.length === 0
        ? [{ type: 'IDENTITIES_MERGED' as const, actor: actor.actor, identityId: from, data: { retiredId: from, survivingId: to } }]
        : []),
    ]);
    await rebuildGoldenMany(tx, [from, to], { policy, actor: actor.actor });
    return { from, to };
  }

  /** Who decided, why, under which model version, and on what evidence: every manual decision event carries them. */
  private async decision(
    tx: Executor,
    actor: Actor,
    evidence: Record<string, unknown>,
  ): Promise<Pick<store.NewIdentityEvent, 'actor' | 'reason' | 'modelVersion' | 'evidence'>> {
    const modelVersion = await this.identities.models.activeVersion(tx);
    return { actor: actor.actor, reason: actor.reason ?? null, modelVersion, evidence: { manual: true, ...evidence } };
  }

  /** Records that two identities are different people; the matcher never links or flags them again. */
  async markNotDuplicate(a: string, b: string, actor: Actor): Promise<void> {
    const reason = requireReason(actor.reason);
    requireUuid(a, 'a', 'an identity id');
    requireUuid(b, 'b', 'an identity id');
    if (a === b) throw ValidationError.of('b', 'SAME_IDENTITY', 'an identity cannot be a duplicate of itself');
    await this.tx((tx) => this.markNotDuplicateIn(tx, a, b, { ...actor, reason }));
  }

  private async markNotDuplicateIn(tx: Executor, a: string, b: string, actor: Actor): Promise<void> {
    const reason = actor.reason ?? null;
    const rows = await store.lockIdentities(tx, [a, b]);
    if (!rows.find((r) => r.id === a)) throw new NotFoundError('Identity', 'a');
    if (!rows.find((r) => r.id === b)) throw new NotFoundError('Identity', 'b');
    await store.insertNotDuplicate(tx, a, b, actor.actor, reason);
    await store.decideOpenReviewsBetween(tx, a, b, { decision: 'NOT_MATCH', reason, decidedBy: actor.actor });
    const decided = await this.decision(tx, actor, { decision: 'NOT_DUPLICATE' });
    await store.addEvents(tx, [
      { ...decided, identityId: a, type: 'NOT_DUPLICATE', otherIdentityId: b },
      { ...decided, identityId: b, type: 'NOT_DUPLICATE', otherIdentityId: a },
    ]);
    await recordChanges(tx, [{ type: 'NOT_DUPLICATE_MARKED', actor: actor.actor, identityId: a, data: { identityA: a, identityB: b } }]);
  }

  /**
   * Decides a review item. RECORD_MATCH: MATCH moves the record into the candidate identity; NOT_MATCH keeps
   * it apart for good. POSSIBLE_DUPLICATE: MATCH merges the second identity into the first; NOT_MATCH marks
   * them not-duplicate.
   */
  async resolveReviewItem(id: string, decision: ReviewDecision, actor: Actor): Promise<store.ReviewItemRow> {
    const reason = requireReason(actor.reason);
    requireUuid(id, 'id', 'a review item id');
    const who = { ...actor, reason };
    return this.tx(async (tx) => {
      const item = await store.lockReviewItem(tx, id);
      if (!item) throw new NotFoundError('Review item', 'id');
      if (item.status !== 'OPEN') throw new ConflictError('ALREADY_RESOLVED', 'Review item was already resolved', 'id');
      const a = (await store.resolveSurvivor(tx, item.identityA))?.id ?? item.identityA;
      const b = item.identityB ? ((await store.resolveSurvivor(tx, item.identityB))?.id ?? item.identityB) : null;
      if (item.kind === 'RECORD_MATCH' && item.recordId) {
        const current = (await store.findRecordById(tx, item.recordId))?.link?.identityId;
        if (decision === 'MATCH' && current && current !== a) await this.unlinkIn(tx, item.recordId, a, who);
        else if (decision === 'NOT_MATCH' && current && current !== a) await this.markNotDuplicateIn(tx, a, current, who);
      } else if (b && a !== b) {
        if (decision === 'MATCH') await this.mergeIn(tx, a, b, who);
        else await this.markNotDuplicateIn(tx, a, b, who);
      }
      const updated = await store.decideReviewItem(tx, id, { decision, reason, decidedBy: actor.actor });
      // The evidence a steward decided on: the matcher's score and explanation under the model that raised the item.
      await store.addEvents(tx, [
        {
          identityId: a,
          type: 'REVIEW_DECIDED',
          otherIdentityId: b,
          recordId: item.recordId,
          actor: actor.actor,
          reason,
          modelVersion: item.modelVersion,
          evidence: { manual: true, decision, probability: item.probability, weight: item.weight, explanation: item.explanation },
          after: { reviewItemId: id, decision },
        },
      ]);
      await recordChanges(tx, [
        {
          type: 'REVIEW_RESOLVED',
          actor: actor.actor,
          identityId: a,
          recordId: item.recordId,
          data: { reviewItemId: id, kind: item.kind, decision, identityA: a, identityB: b },
        },
      ]);
      return updated;
    });
  }
}

import type { MatchModel, MergeDecision, NormalisedRecord, PairVerdict } from '../matching/index.ts';
import { recordsMayMerge, scorePairVerdict } from '../matching/index.ts';
import { decide, rankIdentities, reviewPriority, type Decision } from './decide.ts';
import type { IngestOutcome, ScoredCandidate } from './types.ts';

/**
 * Planning of a batch's match decisions, in memory and without I/O: the batch engine loads everything a
 * batch needs in a few set-based queries, plans here, then applies the plan in a few set-based writes.
 */

/** A stored record that shares a blocking key with the batch. */
export interface StoredCandidate {
  recordId: string;
  identityId: string;
  normalised: NormalisedRecord;
  keys: string[];
}

/**
 * A stored record of a candidate identity that shares no blocking key with the batch: the merge guard weighs a
 * record against every member of the identity it would join, not only the members it was found by.
 */
export interface StoredMember {
  recordId: string;
  identityId: string;
  normalised: NormalisedRecord;
}

/** A batch record to decide: new, or changed and previously linked by the matcher. */
export interface PlanInput {
  index: number;
  recordId: string;
  normalised: NormalisedRecord;
  keys: string[];
  /** The identity the matcher had linked this record to, if any (after following merges). */
  currentIdentity: string | null;
  /** Whether the record counted as an active member of `currentIdentity` before this batch. */
  wasActive: boolean;
}

export type PlannedOp =
  | { kind: 'CREATE_IDENTITY'; identityId: string; recordId: string }
  | { kind: 'LINK'; recordId: string; identityId: string; matchResult: 'MATCH' | 'POSSIBLE_MATCH'; evidence: ScoredCandidate | null }
  | { kind: 'REVIEW_RECORD'; recordId: string; recordIdentity: string; target: ScoredCandidate; priority: number }
  | { kind: 'REVIEW_DUPLICATE'; recordId: string; identityA: string; candidate: ScoredCandidate }
  | { kind: 'UNLINKED'; recordId: string; fromIdentity: string }
  | { kind: 'ABSORB'; recordId: string; fromIdentity: string; intoIdentity: string }
  | { kind: 'MERGE'; recordId: string; survivorId: string; mergedId: string; evidence: MergeEvidence };

/**
 * Why the matcher merged two identities: the record that matched both above the match threshold, its best
 * match in each, and the merge guard's verdict on the two identities' records (no conflict, no not-duplicate
 * decision, cross pairs averaging at least the review threshold).
 */
export interface MergeEvidence {
  survivor: ScoredCandidate;
  merged: ScoredCandidate;
  /** Records on each side of the join the guard weighed (the survivor's side includes the bridging record). */
  survivorRecords: number;
  mergedRecords: number;
}

export interface PlannedRecord {
  index: number;
  outcome: IngestOutcome;
  identityId: string;
  candidates: ScoredCandidate[];
  /** Index into the ops of this record's review op, when one was opened. */
  reviewOp: number | null;
}

export interface PlanState {
  /** Stored candidates by blocking key (records in this batch excluded: they are indexed as they are placed). */
  storedByKey: Map<string, StoredCandidate[]>;
  /** Further active members of the candidates' identities (the guard's view of them is whole). */
  members?: StoredMember[];
  /** Active records per identity before the batch, for re-evaluation and review priority. */
  memberCount: Map<string, number>;
  /** `a|b` (sorted) pairs a steward declared different people. */
  notDuplicates: Set<string>;
  /** Open reviews already raised: `record|identity` and `identityA|identityB` (sorted). */
  openReviews: Set<string>;
  newId: () => string;
  /**
   * Most records of the batch kept as candidates per key (default: all). A bulk load plans a whole file as one
   * batch and passes the cap online ingest puts on stored candidates, so a record meets the candidates it would
   * have met had the records before it been ingested one by one.
   */
  maxPlacedPerKey?: number;
  /** False: leave each record's top candidates out of the result (a bulk load writes none, and holds millions). */
  keepCandidates?: boolean;
  /**
   * False: a record matching two identities opens a possible-duplicate review instead of merging them (the
   * bulk load, which writes new identities with COPY and moves no stored links). Default true.
   */
  mergeIdentities?: boolean;
  /** Scores a batch record against a candidate (default `scorePairVerdict`); a bulk load passes scores made ahead. */
  verdict?: (input: PlanInput, candidate: StoredCandidate) => PairVerdict;
  /**
   * Where each batch record's candidates come from (default: a `CandidateIndex` of `storedByKey` capped at
   * `maxPlacedPerKey`); a bulk load passes the candidates it listed while scoring ahead, so they are not listed twice.
   */
  candidates?: Candidates;
}

/** The candidates a batch record meets, and the placed batch records that become candidates of later ones. */
export interface Candidates {
  candidates(input: PlanInput): StoredCandidate[];
  place(entry: StoredCandidate): void;
}

export const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

export interface Plan {
  records: PlannedRecord[];
  ops: PlannedOp[];
  /**
   * Identities whose members the merge guard weighed (a record joining them or merging them with another):
   * the plan depends on the members of these only (`PlanState.members`), never on those of other identities.
   */
  guarded: ReadonlySet<string>;
}

/** Plans every record of the batch in order; later records see earlier ones as candidates. */
export function planBatch(inputs: PlanInput[], state: PlanState, model: MatchModel): Plan {
  const ops: PlannedOp[] = [];
  const records: PlannedRecord[] = [];
  const index = state.candidates ?? new CandidateIndex(state.storedByKey, state.maxPlacedPerKey);
  const counts = new Map(state.memberCount);
  const bump = (id: string, by: number) => counts.set(id, (counts.get(id) ?? 0) + by);
  const membership = new Membership(state);
  const merges = new Merges(state, membership, counts);
  const verdict = state.verdict ?? ((input: PlanInput, c: StoredCandidate) => scorePairVerdict(input.normalised, c.normalised, model));
  for (const input of inputs) {
    const scores = index
      .candidates(input)
      .map((c) => ({ recordId: c.recordId, identityId: merges.survivorOf(c.identityId), ...verdict(input, c) }));
    const excluded = new Set<string>();
    if (input.currentIdentity) {
      for (const s of scores) if (state.notDuplicates.has(pairKey(input.currentIdentity, s.identityId))) excluded.add(s.identityId);
    }
    const ranked = rankIdentities(scores, model.thresholds, excluded);
    const before = ops.length;
    const mayJoin = (identityId: string) => membership.mayJoin(input, identityId, model);
    const guard: Guards = { mayJoin, merges: state.mergeIdentities === false ? null : merges, membership };
    const placed = input.currentIdentity
      ? reevaluate(input, ranked, model, counts, ops, state, guard)
      : place(input, ranked, model, counts, ops, state, guard);
    membership.move(input, placed.identityId);
    if (input.currentIdentity && input.wasActive) bump(input.currentIdentity, -1);
    bump(placed.identityId, 1);
    // Only this record's ops: a scan from the start would cost the whole plan so far for every record.
    let reviewOp = -1;
    for (let i = before; i < ops.length && reviewOp < 0; i++) if (ops[i]!.kind === 'REVIEW_RECORD') reviewOp = i;
    records.push({
      index: input.index,
      outcome: placed.outcome,
      identityId: placed.identityId,
      candidates: state.keepCandidates === false ? [] : ranked.slice(0, 5),
      reviewOp: reviewOp >= 0 ? reviewOp : null,
    });
    index.place({ recordId: input.recordId, identityId: placed.identityId, normalised: input.normalised, keys: input.keys });
  }
  return { records, ops, guarded: membership.weighed };
}

/**
 * The candidates each batch record meets, in order: per key, the stored records, then the batch records placed
 * before it (at most the cap less the stored ones, as online ingest caps stored candidates per key). Which
 * records a record meets depends only on the keys and the order, never on the decisions: so the pairs of a
 * whole batch can be listed, and scored elsewhere, before it is planned (the bulk load's `scoreAhead`).
 */
export class CandidateIndex implements Candidates {
  private readonly placedByKey = new Map<string, StoredCandidate[]>();

  constructor(
    private readonly storedByKey: Map<string, StoredCandidate[]>,
    private readonly cap = Number.POSITIVE_INFINITY,
  ) {}

  /** The distinct records a batch record meets (never itself), stored ones of a key before placed ones. */
  candidates(input: Pick<PlanInput, 'recordId' | 'keys'>): StoredCandidate[] {
    const seen = new Set<string>([input.recordId]);
    const out: StoredCandidate[] = [];
    for (const key of input.keys) {
      for (const list of [this.storedByKey.get(key), this.placedByKey.get(key)]) {
        for (const c of list ?? []) {
          if (seen.has(c.recordId)) continue;
          seen.add(c.recordId);
          out.push(c);
        }
      }
    }
    return out;
  }

  /** Makes a placed batch record a candidate for the records after it. */
  place(entry: StoredCandidate): void {
    for (const key of entry.keys) {
      // Online, the cap counts the stored records before the batch's: so does the room left here.
      const room = this.cap - (this.storedByKey.get(key)?.length ?? 0);
      const list = this.placedByKey.get(key);
      if (!list) {
        if (room > 0) this.placedByKey.set(key, [entry]);
      } else if (list.length < room) list.push(entry);
    }
  }
}

type Placement = { outcome: IngestOutcome; identityId: string };
type JoinGuard = (identityId: string) => MergeDecision;
/** The guards a placement consults; `merges` is null when identities are not merged (see `PlanState.mergeIdentities`). */
interface Guards {
  mayJoin: JoinGuard;
  merges: Merges | null;
  membership: Membership;
}

/**
 * The records of each identity the batch may touch, kept as the plan places records, so a record is weighed
 * against an identity's members as `mpi link` weighs a record against a cluster (`recordsMayMerge`).
 */
class Membership {
  private readonly byIdentity = new Map<string, Map<string, NormalisedRecord>>();
  /** Identities whose members a guard has weighed. */
  readonly weighed = new Set<string>();

  constructor(state: PlanState) {
    for (const list of state.storedByKey.values()) for (const c of list) this.add(c.identityId, c.recordId, c.normalised);
    for (const m of state.members ?? []) this.add(m.identityId, m.recordId, m.normalised);
  }

  private add(identityId: string, recordId: string, normalised: NormalisedRecord): void {
    const members = this.byIdentity.get(identityId);
    if (members) members.set(recordId, normalised);
    else this.byIdentity.set(identityId, new Map([[recordId, normalised]]));
  }

  /** Records the placement of a batch record (leaving the identity it was in, if another). */
  move(input: PlanInput, identityId: string): void {
    if (input.currentIdentity && input.currentIdentity !== identityId) this.byIdentity.get(input.currentIdentity)?.delete(input.recordId);
    this.add(identityId, input.recordId, input.normalised);
  }

  /** The identity's members other than the record. */
  private others(identityId: string, recordId: string): NormalisedRecord[] {
    this.weighed.add(identityId);
    return [...(this.byIdentity.get(identityId) ?? new Map<string, NormalisedRecord>()).entries()]
      .filter(([id]) => id !== recordId)
      .map(([, normalised]) => normalised);
  }

  /** The merge guard of `mpi link` between the record and the identity's other members. */
  mayJoin(input: PlanInput, identityId: string, model: MatchModel): MergeDecision {
    const members = this.others(identityId, input.recordId);
    return members.length === 0 ? { allowed: true } : recordsMayMerge([input.normalised], members, model);
  }

  /**
   * The merge guard of `mpi link` between two identities, the record joining the first: may the survivor's
   * records with the record and the other identity's records be one person?
   */
  mayMerge(input: PlanInput, survivorId: string, mergedId: string, model: MatchModel): MergeDecision & { sizes: [number, number] } {
    const a = [input.normalised, ...this.others(survivorId, input.recordId)];
    const b = this.others(mergedId, input.recordId);
    return { ...recordsMayMerge(a, b, model), sizes: [a.length, b.length] };
  }

  /** Moves every member of `mergedId` to `survivorId`. */
  absorb(mergedId: string, survivorId: string): void {
    for (const [recordId, normalised] of this.byIdentity.get(mergedId) ?? []) this.add(survivorId, recordId, normalised);
    this.byIdentity.delete(mergedId);
  }
}

/**
 * Identities the plan merged, so later records of the batch meet the survivor where they would have met either,
 * and the survivor inherits the counts and not-duplicate decisions of the identity it absorbed.
 */
class Merges {
  private readonly into = new Map<string, string>();

  constructor(
    private readonly state: PlanState,
    private readonly membership: Membership,
    private readonly counts: Map<string, number>,
  ) {}

  /** The identity an identity of the plan now is (itself unless merged). */
  readonly survivorOf = (identityId: string): string => {
    let id = identityId;
    for (let next = this.into.get(id); next !== undefined; next = this.into.get(id)) id = next;
    return id;
  };

  /** Records that `mergedId` is now part of `survivorId`. */
  merge(mergedId: string, survivorId: string): void {
    this.into.set(mergedId, survivorId);
    this.membership.absorb(mergedId, survivorId);
    this.counts.set(survivorId, (this.counts.get(survivorId) ?? 0) + (this.counts.get(mergedId) ?? 0));
    this.counts.set(mergedId, 0);
    for (const pair of [...this.state.notDuplicates]) {
      const [a, b] = pair.split('|') as [string, string];
      if (a === mergedId || b === mergedId)
        this.state.notDuplicates.add(pairKey(a === mergedId ? survivorId : a, b === mergedId ? survivorId : b));
    }
  }
}

/**
 * The Fellegi-Sunter decision (`decide`) under the merge guard: the record joins the strongest identity above
 * the match threshold that it may join as a whole. One it may not join (a conflict with another of its
 * records, or too weak a match with them on average: chaining) gets the guard's reason as a blocker; if none is
 * left, a steward decides.
 */
function guardedDecision(ranked: ScoredCandidate[], model: MatchModel, { mayJoin }: Guards): Decision {
  const decision = decide(ranked, model.thresholds);
  if (decision.kind !== 'LINK') return decision;
  const linkable = [decision.target, ...decision.alsoMatching];
  for (const candidate of linkable) {
    const verdict = mayJoin(candidate.identityId);
    if (verdict.allowed) {
      const alsoMatching = linkable.filter((c) => c !== candidate && c.blockers.length === 0);
      return { kind: 'LINK', target: candidate, alsoMatching };
    }
    candidate.blockers.push(verdict.reason);
  }
  return { kind: 'REVIEW', target: decision.target };
}

/** A record with no identity yet: link, open a review with a provisional identity, or create one. */
function place(
  input: PlanInput,
  ranked: ScoredCandidate[],
  model: MatchModel,
  counts: Map<string, number>,
  ops: PlannedOp[],
  state: PlanState,
  guards: Guards,
): Placement {
  const decision = guardedDecision(ranked, model, guards);
  if (decision.kind === 'LINK') {
    const target = decision.target.identityId;
    ops.push({ kind: 'LINK', recordId: input.recordId, identityId: target, matchResult: 'MATCH', evidence: decision.target });
    // The identity the record is in, as the candidate that stands for it (the survivor of any merge so far).
    let joined = decision.target;
    for (const other of decision.alsoMatching) {
      const pair = pairKey(joined.identityId, other.identityId);
      if (state.notDuplicates.has(pair)) continue;
      if (guards.merges) {
        const survivor = mergeIfAllowed(input, joined, other, model, counts, ops, guards);
        if (survivor !== null) {
          joined = survivor;
          continue;
        }
      }
      if (state.openReviews.has(pair)) continue;
      state.openReviews.add(pair);
      ops.push({ kind: 'REVIEW_DUPLICATE', recordId: input.recordId, identityA: joined.identityId, candidate: other });
    }
    return { outcome: 'LINKED', identityId: joined.identityId };
  }
  const identityId = state.newId();
  ops.push({ kind: 'CREATE_IDENTITY', identityId, recordId: input.recordId });
  ops.push({
    kind: 'LINK',
    recordId: input.recordId,
    identityId,
    matchResult: decision.kind === 'REVIEW' ? 'POSSIBLE_MATCH' : 'MATCH',
    evidence: null,
  });
  if (decision.kind === 'NEW') return { outcome: 'CREATED', identityId };
  openRecordReview(input, identityId, decision.target, counts, ops, state);
  return { outcome: 'REVIEW', identityId };
}

/**
 * A record that matches two identities above the match threshold bridges them. As `mpi link` would join their
 * clusters through the record, the plan merges them when the merge guard passes on all their records (see
 * `Membership.mayMerge`); the larger identity survives (fewer links move), the record's own on a tie. Returns the
 * survivor, or null with the guard's reason added to the candidate's blockers (a steward then reviews the pair).
 */
function mergeIfAllowed(
  input: PlanInput,
  joined: ScoredCandidate,
  other: ScoredCandidate,
  model: MatchModel,
  counts: Map<string, number>,
  ops: PlannedOp[],
  guards: Guards,
): ScoredCandidate | null {
  const verdict = guards.membership.mayMerge(input, joined.identityId, other.identityId, model);
  if (!verdict.allowed) {
    other.blockers.push(verdict.reason);
    return null;
  }
  const otherIsLarger = (counts.get(other.identityId) ?? 0) > (counts.get(joined.identityId) ?? 0);
  const [survivor, merged] = otherIsLarger ? [other, joined] : [joined, other];
  const [survivorRecords, mergedRecords] = otherIsLarger ? [verdict.sizes[1], verdict.sizes[0]] : verdict.sizes;
  ops.push({
    kind: 'MERGE',
    recordId: input.recordId,
    survivorId: survivor.identityId,
    mergedId: merged.identityId,
    evidence: { survivor, merged, survivorRecords, mergedRecords },
  });
  guards.merges!.merge(merged.identityId, survivor.identityId);
  return survivor;
}

function openRecordReview(
  input: PlanInput,
  recordIdentity: string,
  target: ScoredCandidate,
  counts: Map<string, number>,
  ops: PlannedOp[],
  state: PlanState,
): boolean {
  const key = `${input.recordId}|${target.identityId}`;
  if (state.openReviews.has(key)) return false;
  state.openReviews.add(key);
  ops.push({
    kind: 'REVIEW_RECORD',
    recordId: input.recordId,
    recordIdentity,
    target,
    priority: reviewPriority(target.probability, (counts.get(target.identityId) ?? 1) + 1),
  });
  return true;
}

/**
 * A changed record the matcher had linked. It stays while it still matches the rest of its identity; alone in
 * its identity and now matching another, it joins that one (its old identity redirects there); otherwise it
 * is split out and placed afresh.
 */
function reevaluate(
  input: PlanInput,
  ranked: ScoredCandidate[],
  model: MatchModel,
  counts: Map<string, number>,
  ops: PlannedOp[],
  state: PlanState,
  guards: Guards,
): Placement {
  const current = input.currentIdentity!;
  const own = ranked.find((c) => c.identityId === current);
  const others = (counts.get(current) ?? 0) - (input.wasActive ? 1 : 0);
  const stays =
    own !== undefined &&
    own.probability >= model.thresholds.reviewThreshold &&
    own.blockers.length === 0 &&
    guards.mayJoin(current).allowed;
  const decision = guardedDecision(ranked, model, guards);
  if (others > 0 && (stays || (decision.kind === 'LINK' && decision.target.identityId === current))) {
    return { outcome: 'LINKED', identityId: current };
  }
  if (others <= 0) {
    if (decision.kind === 'LINK' && decision.target.identityId !== current) {
      ops.push({
        kind: 'LINK',
        recordId: input.recordId,
        identityId: decision.target.identityId,
        matchResult: 'MATCH',
        evidence: decision.target,
      });
      ops.push({ kind: 'ABSORB', recordId: input.recordId, fromIdentity: current, intoIdentity: decision.target.identityId });
      return { outcome: 'LINKED', identityId: decision.target.identityId };
    }
    const reviewed =
      decision.kind === 'REVIEW' &&
      decision.target.identityId !== current &&
      openRecordReview(input, current, decision.target, counts, ops, state);
    return { outcome: reviewed ? 'REVIEW' : 'LINKED', identityId: current };
  }
  ops.push({ kind: 'UNLINKED', recordId: input.recordId, fromIdentity: current });
  const fresh = decision.kind === 'LINK' && decision.target.identityId === current ? [] : ranked.filter((c) => c.identityId !== current);
  return place(input, fresh, model, counts, ops, state, guards);
}

import { gradeOf, type MatchModel } from '../matching/index.ts';
import type { Explanation, ScoredCandidate } from './types.ts';

export type Thresholds = MatchModel['thresholds'];

export interface RecordScore {
  recordId: string;
  identityId: string;
  probability: number;
  weight: number;
  explanation: Explanation;
}

/**
 * Collapses record-level scores into one candidate per identity: the best-scoring record speaks for the
 * identity, and any hard conflict with any of its records blocks automatic linking to it.
 */
export function rankIdentities(scores: RecordScore[], t: Thresholds, excluded: ReadonlySet<string> = new Set()): ScoredCandidate[] {
  const byIdentity = new Map<string, ScoredCandidate>();
  for (const s of scores) {
    if (excluded.has(s.identityId)) continue;
    const current = byIdentity.get(s.identityId);
    const conflicts = s.explanation.conflicts;
    if (!current) {
      byIdentity.set(s.identityId, {
        identityId: s.identityId,
        recordId: s.recordId,
        probability: s.probability,
        weight: s.weight,
        grade: gradeOf(s.probability, { thresholds: t }),
        explanation: s.explanation,
        blockers: [...conflicts],
      });
      continue;
    }
    for (const c of conflicts) if (!current.blockers.includes(c)) current.blockers.push(c);
    if (s.weight > current.weight) {
      Object.assign(current, {
        recordId: s.recordId,
        probability: s.probability,
        weight: s.weight,
        grade: gradeOf(s.probability, { thresholds: t }),
        explanation: s.explanation,
      });
    }
  }
  return [...byIdentity.values()].sort((a, b) => b.weight - a.weight || (a.identityId < b.identityId ? -1 : 1));
}

export type Decision =
  | { kind: 'LINK'; target: ScoredCandidate; alsoMatching: ScoredCandidate[] }
  | { kind: 'REVIEW'; target: ScoredCandidate }
  | { kind: 'NEW' };

/**
 * Fellegi-Sunter decision: link at or above the match threshold when nothing blocks it; between the
 * thresholds, or above them with a blocker, ask a steward; below, a new identity. Other identities that also
 * clear the match threshold are reported so they can be raised as possible duplicates.
 */
export function decide(ranked: ScoredCandidate[], t: Thresholds): Decision {
  const best = ranked[0];
  if (!best || best.probability < t.reviewThreshold) return { kind: 'NEW' };
  if (best.probability >= t.matchThreshold && best.blockers.length === 0) {
    const alsoMatching = ranked.slice(1).filter((c) => c.probability >= t.matchThreshold && c.blockers.length === 0);
    return { kind: 'LINK', target: best, alsoMatching };
  }
  return { kind: 'REVIEW', target: best };
}

/** Review priority: most uncertain first (probability near 0.5), weighted by how many records are at stake. */
export function reviewPriority(probability: number, recordsAffected: number): number {
  const uncertainty = 1 - Math.abs(2 * probability - 1);
  return Number((uncertainty * (1 + Math.log2(Math.max(1, recordsAffected)))).toFixed(6));
}

import { gradeOf, type MatchModel } from '../matching/index.ts';
import type { Explanation, ScoredCandidate } from './types.ts';

export type Thresholds = MatchModel['thresholds'];

/** A record's score against one candidate record (`scorePairVerdict`): the waterfall is built on demand. */
export interface RecordScore {
  recordId: string;
  identityId: string;
  probability: number;
  weight: number;
  conflicts: readonly string[];
  explain: () => Explanation;
}

/**
 * Collapses record-level scores into one candidate per identity: the best-scoring record speaks for the
 * identity, and any hard conflict with any of its records blocks automatic linking to it. A candidate's
 * `explanation` (its best record's waterfall) is built the first time it is read: a planner ranks many
 * identities and keeps few.
 */
export function rankIdentities(scores: RecordScore[], t: Thresholds, excluded: ReadonlySet<string> = new Set()): ScoredCandidate[] {
  const best = new Map<string, { score: RecordScore; blockers: string[] }>();
  for (const s of scores) {
    if (excluded.has(s.identityId)) continue;
    const current = best.get(s.identityId);
    if (!current) {
      best.set(s.identityId, { score: s, blockers: [...s.conflicts] });
      continue;
    }
    for (const c of s.conflicts) if (!current.blockers.includes(c)) current.blockers.push(c);
    if (s.weight > current.score.weight) current.score = s;
  }
  return [...best.values()]
    .map(({ score, blockers }) => candidateOf(score, blockers, t))
    .sort((a, b) => b.weight - a.weight || (a.identityId < b.identityId ? -1 : 1));
}

function candidateOf(s: RecordScore, blockers: string[], t: Thresholds): ScoredCandidate {
  let explanation: Explanation | undefined;
  const candidate = {
    identityId: s.identityId,
    recordId: s.recordId,
    probability: s.probability,
    weight: s.weight,
    grade: gradeOf(s.probability, { thresholds: t }),
    blockers,
  } as ScoredCandidate;
  // Enumerable, so the candidate serialises (and compares) as a plain object with its explanation.
  Object.defineProperty(candidate, 'explanation', {
    enumerable: true,
    configurable: true,
    get: () => (explanation ??= s.explain()),
    set: (value: Explanation) => (explanation = value),
  });
  return candidate;
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

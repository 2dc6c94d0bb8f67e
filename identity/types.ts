import type { Explanation, Grade, RecordInput } from '../matching/index.ts';

export type { Explanation, Grade };

/** One record as a source sends it: the source's code, its local id and the canonical fields. */
export interface SourceRecordInput extends RecordInput {
  source: string;
  localId: string;
}

export const INGEST_OUTCOMES = ['LINKED', 'CREATED', 'REVIEW', 'UNCHANGED'] as const;
export type IngestOutcome = (typeof INGEST_OUTCOMES)[number];

/** An identity that an incoming record may belong to, with the evidence. */
export interface ScoredCandidate {
  identityId: string;
  /** The identity's record that scored best against the input. */
  recordId: string;
  probability: number;
  weight: number;
  grade: Grade;
  explanation: Explanation;
  /** Reasons this identity must not be linked automatically (hard conflicts, steward decisions). */
  blockers: string[];
}

/** Who did it and why; stored on every event. */
export interface Actor {
  actor: string;
  reason?: string | null;
  requestId?: string | null;
}

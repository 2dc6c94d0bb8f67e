import type { changeEvents } from '../platform/db/schema/index.ts';

/**
 * Every change event, named in the past tense, with the family that groups it into one NATS stream and the
 * FHIR topic (if any) it notifies. The one list: GraphQL enums, NATS subjects and validation derive from it.
 */
export const CHANGE_EVENT_TYPES = {
  IDENTITY_CREATED: { family: 'identity', description: 'A new golden identity was created for a record.' },
  GOLDEN_RECORD_CHANGED: { family: 'identity', description: 'Golden values of an identity changed; `data.fields` names which.' },
  IDENTITIES_MERGED: {
    family: 'identity',
    description: 'An identity was retired into a surviving one (`data.retiredId` -> `data.survivingId`).',
  },
  IDENTITY_SPLIT: {
    family: 'identity',
    description: 'A record was split out of its identity into a new one (`data.fromIdentityId` -> `data.toIdentityId`).',
  },
  NOT_DUPLICATE_MARKED: { family: 'identity', description: 'Two identities were declared different people.' },
  RECORD_LINKED: { family: 'record', description: 'A source record was linked to an identity.' },
  RECORD_UNLINKED: { family: 'record', description: 'A source record left an identity (`data.fromIdentityId`, `data.toIdentityId`).' },
  RECORD_DELETED: { family: 'record', description: 'A source record was deleted; its identity no longer uses it.' },
  REVIEW_OPENED: { family: 'review', description: 'A possible match was queued for a steward.' },
  REVIEW_RESOLVED: { family: 'review', description: 'A steward decided a review item.' },
  MODEL_ACTIVATED: { family: 'model', description: 'A match model version became the active one.' },
  QUALITY_THRESHOLD_BREACHED: { family: 'quality', description: 'A quality measurement crossed its threshold.' },
} as const satisfies Record<string, { family: string; description: string }>;

export type ChangeEventType = keyof typeof CHANGE_EVENT_TYPES;
export const CHANGE_EVENT_TYPE_NAMES = Object.keys(CHANGE_EVENT_TYPES) as ChangeEventType[];
export type EventFamily = (typeof CHANGE_EVENT_TYPES)[ChangeEventType]['family'];
export const EVENT_FAMILIES = [...new Set(CHANGE_EVENT_TYPE_NAMES.map((t) => CHANGE_EVENT_TYPES[t].family))] as EventFamily[];

/** Versions an event was decided under: the identity after the change, the match model, the survivorship policy. */
export type EventVersions = (typeof changeEvents.$inferSelect)['versions'];

/** A change as the transaction that makes it records it. */
export interface NewChange {
  type: ChangeEventType;
  actor: string;
  identityId?: string | null;
  recordId?: string | null;
  data?: Record<string, unknown>;
  versions?: EventVersions;
}

/** A published change event, as every channel delivers it. Ids and versions only: no patient data. */
export interface ChangeEvent {
  position: number;
  id: string;
  type: ChangeEventType;
  occurredAt: Date;
  actor: string;
  identityId: string | null;
  recordId: string | null;
  /** The record's source code and its local id there, when the event concerns a record. */
  source: string | null;
  localId: string | null;
  data: Record<string, unknown>;
  versions: EventVersions;
}

/** Which events a consumer wants; every given part must match. */
export interface EventFilter {
  types?: readonly ChangeEventType[] | null | undefined;
  source?: string | null | undefined;
  identityId?: string | null | undefined;
}

/** The key within which delivery keeps order: the identity, or the type for events without one. */
export function orderingKey(event: Pick<ChangeEvent, 'identityId' | 'type'>): string {
  return event.identityId ?? event.type;
}

/** `mpi.identity.identities_merged`: the NATS subject of an event type (`prefix` from `MPI_NATS_SUBJECT_PREFIX`). */
export function subjectOf(type: ChangeEventType, prefix = 'mpi'): string {
  return `${prefix}.${CHANGE_EVENT_TYPES[type].family}.${type.toLowerCase()}`;
}

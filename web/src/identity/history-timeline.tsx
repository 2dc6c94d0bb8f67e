import { Timeline } from '@mantine/core';
import { memo, useDeferredValue, type CSSProperties } from 'react';
import { Link } from 'react-router';
import { CompactButton, textLook } from '../shell/compact-button.tsx';
import { formatDateTime } from '../shell/format.ts';

export interface HistoryEvent {
  id: string;
  type: string;
  at: string;
  actor: string;
  reason?: string | null;
  otherIdentityId?: string | null;
}

const CLASSES = Timeline.classes;
/** The variables `<Timeline bulletSize={14} lineWidth={2}>` sets. */
const ROOT_STYLE = {
  '--tl-bullet-size': 'calc(0.875rem * var(--mantine-scale))',
  '--tl-line-width': 'calc(0.125rem * var(--mantine-scale))',
} as CSSProperties;
const DIMMED_XS = textLook('xs', true);
const NO_EVENTS: readonly HistoryEvent[] = [];
const SM = textLook('sm');

/** One event: the elements and classes of a Mantine `Timeline.Item`, every item active (all have happened). */
const HistoryItem = memo(function HistoryItem({ event, onTravel }: { event: HistoryEvent; onTravel: (at: string) => void }) {
  return (
    <div className={CLASSES.item} data-line-active data-active>
      <div className={CLASSES.itemBullet} data-align="left" data-active />
      <div className={CLASSES.itemBody}>
        <div className={CLASSES.itemTitle}>{event.type.replace(/_/g, ' ').toLowerCase()}</div>
        <div>
          <p {...DIMMED_XS}>
            {formatDateTime(event.at)} · {event.actor}
          </p>
          {event.reason && <p {...SM}>Reason: {event.reason}</p>}
          {event.otherIdentityId && (
            <p {...SM}>
              Other identity: <Link to={`/identities/${event.otherIdentityId}`}>{event.otherIdentityId}</Link>
            </p>
          )}
          <CompactButton look="subtle-indigo" onClick={() => onTravel(event.at)}>
            View as of this moment
          </CompactButton>
        </div>
      </div>
    </div>
  );
});

/**
 * An identity's events as Mantine's timeline draws them, from plain elements: an identity with a long history
 * (one event per linked record) rendered a component tree per event before, the slowest part of the page.
 */
export function HistoryTimeline({ events, onTravel }: { events: readonly HistoryEvent[]; onTravel: (at: string) => void }) {
  // The history sits below the golden record and linked records: the page shows those first and draws the
  // timeline in a render of its own right after (React's deferred value), so a long history never delays them.
  const shown = useDeferredValue(events, NO_EVENTS);
  if (shown !== events && shown.length === 0) return <p {...DIMMED_XS}>Loading the history…</p>;
  return (
    <div className={CLASSES.root} data-align="left" style={ROOT_STYLE} aria-label="Identity history">
      {shown.map((event) => (
        <HistoryItem key={event.id} event={event} onTravel={onTravel} />
      ))}
    </div>
  );
}

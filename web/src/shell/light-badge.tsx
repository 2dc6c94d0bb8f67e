import { Badge } from '@mantine/core';
import type { CSSProperties, ReactNode } from 'react';

type Tone = 'indigo' | 'gray' | 'green' | 'red' | 'orange' | 'yellow';

/** The CSS variables Mantine's light badge variant sets, per colour, made once. */
const TONE_STYLE = Object.fromEntries(
  (['indigo', 'gray', 'green', 'red', 'orange', 'yellow'] as const).map((tone) => [
    tone,
    {
      '--badge-bg': `var(--mantine-color-${tone}-light)`,
      '--badge-color': `var(--mantine-color-${tone}-light-color)`,
      '--badge-bd': 'calc(0.0625rem * var(--mantine-scale)) solid transparent',
    } as CSSProperties,
  ]),
) as Record<Tone, CSSProperties>;

/**
 * A light badge for table cells: the same elements and classes as Mantine's `<Badge variant="light">`, as two
 * plain spans, because a page of rows with a full component (props, theme and styles resolved) in each made the
 * long screens slow to render.
 */
export function LightBadge({ tone = 'indigo', children }: { tone?: Tone; children: ReactNode }) {
  return (
    <span className={Badge.classes.root} data-variant="light" style={TONE_STYLE[tone]}>
      <span className={Badge.classes.label}>{children}</span>
    </span>
  );
}

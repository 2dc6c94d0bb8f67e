import { Button, Text, UnstyledButton } from '@mantine/core';
import type { ComponentPropsWithoutRef, CSSProperties } from 'react';

const BORDER = 'calc(0.0625rem * var(--mantine-scale)) solid transparent';
const SIZE = {
  '--button-height': 'var(--button-height-compact-xs)',
  '--button-padding-x': 'var(--button-padding-x-compact-xs)',
  '--button-fz': 'var(--mantine-font-size-xs)',
};
/** The CSS variables Mantine's Button sets for `size="compact-xs"` and these variants and colours. */
const LOOK = {
  'light-red': {
    ...SIZE,
    '--button-bg': 'var(--mantine-color-red-light)',
    '--button-hover': 'var(--mantine-color-red-light-hover)',
    '--button-color': 'var(--mantine-color-red-light-color)',
    '--button-bd': BORDER,
  },
  'subtle-indigo': {
    ...SIZE,
    '--button-bg': 'transparent',
    '--button-hover': 'var(--mantine-color-indigo-light-hover)',
    '--button-color': 'var(--mantine-color-indigo-light-color)',
    '--button-bd': BORDER,
  },
} as Record<string, CSSProperties>;
const CLASS = `mantine-focus-auto mantine-active ${Button.classes.root} ${UnstyledButton.classes.root}`;

/**
 * A small button for a row of a long list: the same element, classes and variables as Mantine's
 * `<Button size="compact-xs">`, without the component (props, theme, styles and a loader transition resolved per
 * row), which made pages of fifty rows slow to render.
 */
export function CompactButton({
  look,
  children,
  ...button
}: { look: 'light-red' | 'subtle-indigo' } & Omit<ComponentPropsWithoutRef<'button'>, 'className' | 'style' | 'type'>) {
  const [variant] = look.split('-');
  return (
    <button type="button" className={CLASS} style={LOOK[look]} data-variant={variant} data-size="compact-xs" {...button}>
      <span className={Button.classes.inner}>
        <span className={Button.classes.label}>{children}</span>
      </span>
    </button>
  );
}

/** Props that make a plain element look like Mantine's `<Text size="xs|sm">` (dimmed or not), for long lists. */
export function textLook(size: 'xs' | 'sm', dimmed = false) {
  return {
    className: Text.classes.root,
    'data-size': size,
    style: {
      '--text-fz': `var(--mantine-font-size-${size})`,
      '--text-lh': `var(--mantine-line-height-${size})`,
      ...(dimmed ? { color: 'var(--mantine-color-dimmed)' } : {}),
    } as CSSProperties,
  };
}

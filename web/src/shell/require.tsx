import { Alert } from '@mantine/core';
import type { ComponentType, ReactNode } from 'react';
import { useSession } from '../auth/session-context.tsx';
import type { Capability } from '../auth/capabilities.ts';
import { screenAt } from '../screens.ts';
import { usePageTitle } from './use-page-title.ts';

/** Renders its children only for roles with the capability; others are told why (a bookmark may lead here). */
export function RequireCapability({ capability, children }: { capability: Capability; children: ReactNode }) {
  const session = useSession();
  if (session.can(capability)) return <>{children}</>;
  return (
    <Alert color="yellow" title="Not available for your role" role="alert">
      Your role ({session.roles.join(', ')}) may not open this screen.
    </Alert>
  );
}

/**
 * The route `Component` of the menu screen at `path`: the tab title is its menu label, and only roles with its
 * capability see `Screen` (both from SCREENS, so menu, title and guard cannot disagree).
 */
export function screenComponent(path: string, Screen: ComponentType): ComponentType {
  const { label, capability } = screenAt(path);
  return function Component() {
    usePageTitle(label);
    return (
      <RequireCapability capability={capability}>
        <Screen />
      </RequireCapability>
    );
  };
}

import { Alert } from '@mantine/core';
import type { ReactNode } from 'react';
import { useSession } from '../auth/session-context.tsx';
import type { Capability } from '../auth/capabilities.ts';

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

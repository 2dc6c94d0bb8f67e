import { Anchor, AppShell, Badge, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { memo, Suspense, useEffect } from 'react';
import { NavLink as RouterNavLink, Outlet, useNavigation } from 'react-router';
import { can } from '../auth/capabilities.ts';
import { useSession } from '../auth/session-context.tsx';
import { prefetchScreenCode } from '../screen-code.ts';
import { SCREENS } from '../screens.ts';
import { LoadingState } from './states.tsx';

/**
 * Once a screen is up, the other screens' code loads in idle time; a navigation pauses it (its own chunk and data
 * come first), and a change of role starts it again.
 */
function ScreenCodePrefetch({ roles }: { roles: string }) {
  const settled = useNavigation().state === 'idle';
  useEffect(() => (settled ? prefetchScreenCode((capability) => can(roles.split(' '), capability)) : undefined), [roles, settled]);
  return null;
}

/**
 * The current screen, marked busy while a navigation loads. Only this (and the menu's links) follows the navigation's
 * state: when the frame did, every click re-rendered the header, menu and shell twice before the next screen came.
 */
function ScreenOutlet() {
  const navigation = useNavigation();
  return (
    <div aria-busy={navigation.state === 'loading'}>
      <Suspense fallback={<LoadingState />}>
        <Outlet />
      </Suspense>
    </div>
  );
}

/**
 * The frame of every screen: who you are and your role, the screens your role may open, sign-out. Memoised: the
 * router renders its route elements anew on every change of its state, and the frame needs none of it.
 */
export const Layout = memo(function Layout() {
  const session = useSession();
  const roles = session.roles.join(' ');
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 0 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Title order={1} size="h4">
              MPI console
            </Title>
            <Text size="xs" c="dimmed">
              v{session.serverVersion}
            </Text>
          </Group>
          <Group gap="sm" data-testid="who-am-i">
            <Text size="sm">
              Signed in as <strong>{session.name}</strong>
            </Text>
            {session.roles.map((role) => (
              <Badge key={role} variant="light" aria-label={`role ${role}`}>
                {role}
              </Badge>
            ))}
            <Anchor href="/graphql" size="sm" target="_blank" rel="noopener">
              GraphiQL
            </Anchor>
            {session.kind !== 'local' && (
              <Button size="xs" variant="default" onClick={session.signOut}>
                Sign out
              </Button>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Screens">
        {SCREENS.filter((s) => session.can(s.capability)).map((screen) => (
          <NavLink key={screen.path} component={RouterNavLink} to={screen.path} label={screen.label} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <ScreenOutlet />
      </AppShell.Main>
      <ScreenCodePrefetch roles={roles} />
    </AppShell>
  );
});

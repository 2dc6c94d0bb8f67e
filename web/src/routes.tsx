import { createBrowserRouter, Navigate } from 'react-router';
import { useSession } from './auth/session-context.tsx';
import { SCREENS } from './screens.ts';
import { Layout } from './shell/layout.tsx';
import { RouteError } from './shell/route-error.tsx';
import { LoadingState } from './shell/states.tsx';

/** `/` opens the first screen the caller's role may use. */
function Home() {
  const session = useSession();
  const first = SCREENS.find((s) => session.can(s.capability));
  return first ? <Navigate to={first.path} replace /> : <Navigate to="/nothing" replace />;
}

export function createConsoleRouter() {
  return createBrowserRouter([
    {
      path: '/',
      Component: Layout,
      ErrorBoundary: RouteError,
      HydrateFallback: LoadingState,
      children: [
        { index: true, Component: Home },
        { path: 'review', lazy: () => import('./review/queue-route.tsx') },
        { path: 'review/:id', lazy: () => import('./review/item-route.tsx') },
        { path: 'find', lazy: () => import('./find/find-route.tsx') },
        { path: 'identities/:id', lazy: () => import('./identity/identity-route.tsx') },
        { path: 'catalog', lazy: () => import('./catalog/catalog-route.tsx') },
        { path: 'quality', lazy: () => import('./quality/quality-route.tsx') },
        { path: 'audit', lazy: () => import('./audit/audit-route.tsx') },
        { path: 'runs', lazy: () => import('./runs/runs-route.tsx') },
        { path: '*', lazy: () => import('./shell/not-found.tsx') },
      ],
    },
  ]);
}

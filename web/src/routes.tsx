import { createBrowserRouter, Navigate, type LoaderFunctionArgs } from 'react-router';
import type { Client } from 'urql';
import { signedInCan, useSession } from './auth/session-context.tsx';
import type { Capability } from './auth/capabilities.ts';
import { currentApiClient } from './client.ts';
import { IdentityPageQuery, identityPageVariables } from './identity/queries.ts';
import { queueVariables, ReviewQueueQuery } from './review/queue-query.ts';
import { SCREEN_CODE } from './screen-code.ts';
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

/**
 * Fetches a screen's main query from the network when the navigation starts, alongside the download of the
 * screen's code, for a caller who may use the screen (the query documents are in the first bundle, so nothing
 * waits for a download). The screen's own `useQuery` (same query and variables, `cache-first`) joins the request
 * in flight or reads its result, instead of sending it only after its first render; when the loader did not
 * fetch (first load, an age filter), the screen's cache miss fetches. Returns nothing for the route: the screen
 * shows its own loading and error states.
 */
function startQuery(capability: Capability, start: (client: Client) => Promise<unknown>): null {
  const client = currentApiClient();
  if (client && signedInCan(capability)) start(client).catch(() => undefined);
  return null;
}

/** The review queue's page the URL names (an age filter's cut-off instant is taken by the screen itself). */
function loadQueue({ request }: LoaderFunctionArgs) {
  return startQuery('workQueue', async (client) => {
    const params = new URL(request.url).searchParams;
    if (params.get('age')) return;
    await client.query(ReviewQueueQuery, queueVariables(params, null), { requestPolicy: 'network-only' }).toPromise();
  });
}

/** The identity page's data. */
function loadIdentity({ params }: LoaderFunctionArgs) {
  return startQuery('readIdentities', async (client) => {
    await client.query(IdentityPageQuery, identityPageVariables(params.id ?? ''), { requestPolicy: 'network-only' }).toPromise();
  });
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
        { path: 'review', loader: loadQueue, lazy: SCREEN_CODE.review.load },
        { path: 'review/:id', lazy: SCREEN_CODE['review/:id'].load },
        { path: 'find', lazy: SCREEN_CODE.find.load },
        {
          path: 'identities/:id',
          loader: loadIdentity,
          // Time travel changes only `?asOf`, which the page's own query does not depend on.
          shouldRevalidate: ({ currentParams, nextParams }) => currentParams.id !== nextParams.id,
          lazy: SCREEN_CODE['identities/:id'].load,
        },
        { path: 'catalog', lazy: SCREEN_CODE.catalog.load },
        { path: 'quality', lazy: SCREEN_CODE.quality.load },
        { path: 'audit', lazy: SCREEN_CODE.audit.load },
        { path: 'runs', lazy: SCREEN_CODE.runs.load },
        { path: '*', lazy: () => import('./shell/not-found.tsx') },
      ],
    },
  ]);
}

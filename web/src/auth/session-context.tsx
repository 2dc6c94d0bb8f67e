import { createContext, useCallback, useContext, useEffect, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql.ts';
import { can, type Capability } from './capabilities.ts';
import { storeApiKey, storedApiKey } from './session.ts';
import { SignIn } from './sign-in.tsx';
import { ErrorState, LoadingState } from '../shell/states.tsx';

const MeQuery = graphql(`
  query Me {
    me {
      name
      kind
      roles
    }
    serverInfo {
      version
      database
    }
  }
`);

export interface Session {
  name: string;
  kind: string;
  roles: readonly string[];
  serverVersion: string;
  /** Whether this caller may use a capability (the API still decides). */
  can(capability: Capability): boolean;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

/** The roles of the caller signed in now, for code outside React (route loaders); empty while nobody is. */
let currentRoles: readonly string[] = [];

/** Whether the caller signed in now may use a capability: route loaders ask before starting a screen's query. */
export function signedInCan(capability: Capability): boolean {
  return can(currentRoles, capability);
}

/** The signed-in caller; only rendered below `SessionProvider`, which shows the sign-in form until there is one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

function isUnauthenticated(error: { graphQLErrors: Array<{ extensions?: Record<string, unknown> }>; response?: unknown }): boolean {
  const status = (error.response as { status?: number } | undefined)?.status;
  return status === 401 || error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

/** Asks the API who the caller is; without a valid key (and outside local mode) shows the sign-in form. */
export function SessionProvider({ children, onChange }: { children: ReactNode; onChange: () => void }) {
  const [{ data, fetching, error }] = useQuery({ query: MeQuery, requestPolicy: 'network-only' });
  const signIn = useCallback(
    (key: string) => {
      storeApiKey(key);
      onChange();
    },
    [onChange],
  );
  const signOut = useCallback(() => {
    storeApiKey(null);
    onChange();
  }, [onChange]);
  const roles = data?.me.roles;
  useEffect(() => {
    currentRoles = roles ?? [];
  }, [roles]);

  if (fetching && !data) return <LoadingState label="Signing in" />;
  if (error && isUnauthenticated(error)) {
    const refused = storedApiKey() !== null;
    return <SignIn onSubmit={signIn} refused={refused} />;
  }
  if (error || !data) return <ErrorState error={error} />;
  const session: Session = {
    name: data.me.name,
    kind: data.me.kind,
    roles: data.me.roles,
    serverVersion: data.serverInfo.version,
    can: (capability) => can(data.me.roles, capability),
    signOut,
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

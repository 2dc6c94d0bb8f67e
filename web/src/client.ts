import { cacheExchange, Client, fetchExchange } from 'urql';
import { storedApiKey } from './auth/session.ts';

/** Header the API's CSRF protection asks browser clients to send. */
const CSRF_HEADER = 'x-mpi-csrf';

let current: Client | null = null;

/** The one GraphQL client; its document cache is the console's only store. */
export function createApiClient(): Client {
  current = new Client({
    url: '/graphql',
    exchanges: [cacheExchange, fetchExchange],
    preferGetMethod: false,
    fetchOptions: () => {
      const key = storedApiKey();
      const headers: Record<string, string> = { [CSRF_HEADER]: '1' };
      if (key) headers.authorization = `Bearer ${key}`;
      return { headers };
    },
  });
  return current;
}

/** The client made last (a sign-in or sign-out makes a new one): route loaders start their screen's query with it. */
export function currentApiClient(): Client | null {
  return current;
}

import { cacheExchange, Client, fetchExchange } from 'urql';
import { storedApiKey } from './auth/session.ts';

/** Header the API's CSRF protection asks browser clients to send. */
const CSRF_HEADER = 'x-mpi-csrf';

/** The one GraphQL client; its document cache is the console's only store. */
export function createApiClient(): Client {
  return new Client({
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
}

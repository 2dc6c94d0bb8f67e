import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

/** The console's key, when this tab signed in to the console, is offered as the default Authorization header. */
const key = (() => {
  try {
    return sessionStorage.getItem('mpi.console.apiKey');
  } catch {
    return null;
  }
})();
const fetcher = createGraphiQLFetcher({ url: '/graphql', headers: { 'x-mpi-csrf': '1' } });
const defaultHeaders = JSON.stringify({ Authorization: `Bearer ${key ?? '<your API key>'}` }, null, 2);

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} defaultHeaders={defaultHeaders} shouldPersistHeaders={false} />
    </StrictMode>,
  );
}

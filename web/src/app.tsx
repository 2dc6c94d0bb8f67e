import { createTheme, MantineProvider } from '@mantine/core';
import { useMemo, useState } from 'react';
import { RouterProvider } from 'react-router';
import { Provider as UrqlProvider } from 'urql';
import { SessionProvider } from './auth/session-context.tsx';
import { createApiClient } from './client.ts';
import { createConsoleRouter } from './routes.tsx';

const theme = createTheme({ primaryColor: 'indigo', defaultRadius: 'sm' });

/** The console: theme, GraphQL client (recreated on sign-in/out so no cached data outlives a key) and routes. */
export function App() {
  const [generation, setGeneration] = useState(0);
  const client = useMemo(() => createApiClient(), [generation]);
  const router = useMemo(() => createConsoleRouter(), []);
  return (
    <MantineProvider theme={theme}>
      <UrqlProvider value={client}>
        <SessionProvider onChange={() => setGeneration((g) => g + 1)}>
          <RouterProvider router={router} />
        </SessionProvider>
      </UrqlProvider>
    </MantineProvider>
  );
}

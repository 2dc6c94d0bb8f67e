import { createTheme, MantineProvider, type CSSVariablesResolver } from '@mantine/core';
import { useMemo, useState } from 'react';
import { RouterProvider } from 'react-router';
import { Provider as UrqlProvider } from 'urql';
import { SessionProvider } from './auth/session-context.tsx';
import { createApiClient } from './client.ts';
import { createConsoleRouter } from './routes.tsx';

const theme = createTheme({ primaryColor: 'indigo', primaryShade: 8, defaultRadius: 'sm' });

/** Colours the console uses for light badges and alerts. */
const TONES = ['indigo', 'green', 'red', 'gray', 'orange', 'yellow', 'blue'] as const;

/**
 * Darker text for dimmed and light-variant elements than Mantine's defaults, so small text keeps the
 * WCAG AA contrast ratio of 4.5:1 (checked by the browser tests' axe run).
 */
const resolveCssVariables: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-anchor': 'var(--mantine-color-indigo-8)',
    ...Object.fromEntries(TONES.map((tone) => [`--mantine-color-${tone}-light-color`, `var(--mantine-color-${tone}-9)`])),
    // Green 9 reaches only 4.0:1 on its own light tint; this darker green reaches 5.6:1.
    '--mantine-color-green-light-color': '#237032',
    // Yellow 9 fails 4.5:1 on its own light tint as well; this dark amber reaches about 6.5:1.
    '--mantine-color-yellow-light-color': '#7a5200',
  },
  dark: {},
});

/** The console: theme, GraphQL client (recreated on sign-in/out so no cached data outlives a key) and routes. */
export function App() {
  const [generation, setGeneration] = useState(0);
  const client = useMemo(() => createApiClient(), [generation]);
  const router = useMemo(() => createConsoleRouter(), []);
  return (
    <MantineProvider theme={theme} cssVariablesResolver={resolveCssVariables}>
      <UrqlProvider value={client}>
        <SessionProvider onChange={() => setGeneration((g) => g + 1)}>
          <RouterProvider router={router} />
        </SessionProvider>
      </UrqlProvider>
    </MantineProvider>
  );
}

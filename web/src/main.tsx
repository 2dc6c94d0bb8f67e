import '@mantine/core/styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { completeOidcSignIn } from './auth/oidc.ts';

const root = document.getElementById('root');
if (root) {
  // A return from the identity provider's sign-in is finished (and its code taken out of the address) first.
  void completeOidcSignIn().then(() =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  );
  // The first date or age a screen formats starts the browser's Intl data (15-100 ms on this class of machine);
  // loading the formatters while the browser is idle keeps that off the first navigation that shows one.
  requestIdleCallback(() => void import('./shell/format.ts'));
}

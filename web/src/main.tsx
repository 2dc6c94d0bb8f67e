import '@mantine/core/styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  // The first date or age a screen formats starts the browser's Intl data (15-100 ms on this class of machine);
  // loading the formatters while the browser is idle keeps that off the first navigation that shows one.
  requestIdleCallback(() => void import('./shell/format.ts'));
}

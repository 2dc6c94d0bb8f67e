import type { Capability } from './auth/capabilities.ts';

/**
 * Each route's code (a chunk of its own, so the first screen loads only what it shows) and the capability that
 * opens it. The router loads a route's chunk on its first visit; `prefetchScreenCode` loads those the caller may
 * open while the browser is idle, so a click in the menu waits only for its data.
 */
export const SCREEN_CODE = {
  review: { capability: 'workQueue', load: () => import('./review/queue-route.tsx') },
  'review/:id': { capability: 'workQueue', load: () => import('./review/item-route.tsx') },
  find: { capability: 'readIdentities', load: () => import('./find/find-route.tsx') },
  'identities/:id': { capability: 'readIdentities', load: () => import('./identity/identity-route.tsx') },
  catalog: { capability: 'readCatalog', load: () => import('./catalog/catalog-route.tsx') },
  quality: { capability: 'readQuality', load: () => import('./quality/quality-route.tsx') },
  audit: { capability: 'readAudit', load: () => import('./audit/audit-route.tsx') },
  runs: { capability: 'readIngestRuns', load: () => import('./runs/runs-route.tsx') },
} as const satisfies Record<string, { capability: Capability; load: () => Promise<unknown> }>;

/**
 * How long a screen has been settled before the others' code starts loading: the first screen's own chunk and data
 * (and a quick next click) come first.
 */
const PREFETCH_AFTER_MS = 1000;

/**
 * Loads, one chunk per idle period, the code of every screen the caller may open (a chunk already loaded costs
 * nothing), starting a moment after the current screen settled. Returns a function that stops what has not started.
 */
export function prefetchScreenCode(can: (capability: Capability) => boolean): () => void {
  const pending: Array<() => Promise<unknown>> = Object.values(SCREEN_CODE)
    .filter((screen) => can(screen.capability))
    .map((screen) => screen.load);
  let handle = 0;
  const next = () => {
    const load = pending.shift();
    if (!load) return;
    void load()
      .catch(() => undefined)
      .then(() => {
        handle = requestIdleCallback(next);
      });
  };
  const timer = setTimeout(() => (handle = requestIdleCallback(next)), PREFETCH_AFTER_MS);
  return () => {
    pending.length = 0;
    clearTimeout(timer);
    cancelIdleCallback(handle);
  };
}

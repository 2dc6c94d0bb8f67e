import type { Capability } from './auth/capabilities.ts';

/** The screens, in menu order: path, menu label and the capability that shows it. Each loads on first visit. */
export const SCREENS: ReadonlyArray<{ path: string; label: string; capability: Capability }> = [
  { path: '/review', label: 'Review queue', capability: 'workQueue' },
  { path: '/find', label: 'Find a patient', capability: 'readIdentities' },
  { path: '/catalog', label: 'Catalog', capability: 'readCatalog' },
  { path: '/quality', label: 'Data quality', capability: 'readQuality' },
  { path: '/audit', label: 'Audit', capability: 'readAudit' },
  { path: '/runs', label: 'Ingest runs', capability: 'readIngestRuns' },
];

/** The screen at `path`. */
export function screenAt(path: string): { path: string; label: string; capability: Capability } {
  const screen = SCREENS.find((s) => s.path === path);
  if (!screen) throw new Error(`no screen at ${path}`);
  return screen;
}

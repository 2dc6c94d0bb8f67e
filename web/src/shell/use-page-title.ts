import { useEffect } from 'react';

/** Sets the tab title. Titles name screens and ids only, never patient data. */
export function usePageTitle(screen: string): void {
  useEffect(() => {
    document.title = `${screen} · MPI console`;
  }, [screen]);
}

/** The API key lives in this tab's session storage only: closing the tab signs out. */
const STORAGE_KEY = 'mpi.console.apiKey';

export function storedApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}

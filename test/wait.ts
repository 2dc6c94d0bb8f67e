/** Polls `probe` every 25 ms until it returns a truthy value, which it resolves to; fails after `ms`. */
export async function until<T>(probe: () => T | Promise<T>, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Settings for delivery tests: webhooks to loopback allowed, fast retries, short polls and leases. */
export const FAST_WEBHOOK_ENV = {
  MPI_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  MPI_WEBHOOK_MAX_ATTEMPTS: '3',
  MPI_WEBHOOK_BACKOFF_MS: '20',
  MPI_WEBHOOK_BACKOFF_MAX_MS: '100',
  MPI_EVENTS_POLL_MS: '20',
  MPI_EVENTS_LEASE_MS: '1000',
};

/** Longest wait between attempts to reach a service that is down (the NATS server): 30 s. */
const MAX_RETRY_DELAY_MS = 30_000;
/** First wait, doubled per failure in a row: 250 ms, 500 ms, ... up to the longest. */
const FIRST_RETRY_DELAY_MS = 250;

/** How long to wait after `failures` failures in a row before trying again (exponential, capped). */
export function retryDelay(failures: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.min(failures, 7));
}

/** Waits `ms`, or less when `signal` aborts first (a stop should not wait out a backoff). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `step` for as long as `running()` says: a step that throws is logged through `failed` (with how many
 * failed in a row) and tried again after `retryDelay`; a step calls `succeeded` once it got through, so the next
 * failure starts the backoff from the beginning. A failure after `running()` turned false ends the loop at once.
 */
export async function retryWhile(options: {
  running: () => boolean;
  step: (succeeded: () => void) => Promise<void>;
  failed: (error: unknown, failures: number) => void;
  signal?: AbortSignal;
}): Promise<void> {
  let failures = 0;
  while (options.running()) {
    try {
      await options.step(() => {
        failures = 0;
      });
    } catch (error) {
      if (!options.running()) return;
      failures += 1;
      options.failed(error, failures);
      await pause(retryDelay(failures), options.signal);
    }
  }
}

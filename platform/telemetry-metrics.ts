import { count, eq } from 'drizzle-orm';
import type { ObservableResult } from '@opentelemetry/api';
import type { Database } from './db/client.ts';
import { reviewItems } from './db/schema/index.ts';
import { instruments } from './telemetry.ts';

/** Open items in the stewards' review queue (uses the `(status, priority)` index). */
export async function countOpenReviewItems(db: Database): Promise<number> {
  const [row] = await db.select({ n: count() }).from(reviewItems).where(eq(reviewItems.status, 'OPEN'));
  return Number(row?.n ?? 0);
}

/**
 * Registers the gauges read from the database (review queue depth). Call after the telemetry SDK started;
 * the returned function unregisters them (on shutdown).
 */
export function observeDatabaseGauges(db: Database): () => void {
  const { meter } = instruments();
  const depth = meter.createObservableGauge('mpi.review.queue.depth', { description: "Open items in the stewards' review queue" });
  const observe = async (result: ObservableResult) => {
    try {
      result.observe(await countOpenReviewItems(db));
    } catch {
      // A database that cannot answer reports no value rather than failing the whole collection.
    }
  };
  depth.addCallback(observe);
  return () => depth.removeCallback(observe);
}

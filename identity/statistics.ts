import { getTableName } from 'drizzle-orm';
import type { Database } from '../platform/db/client.ts';
import { errorFields, type Logger } from '../platform/logger.ts';
import {
  changeEvents,
  fieldProvenance,
  identities,
  links,
  recordBlockKeys,
  reviewItems,
  sourceRecords,
} from '../platform/db/schema/index.ts';
import { analyzeTables, estimatedRows } from './store.ts';

/** The tables every ingest reads to plan its decisions (candidates, links, golden values, open reviews, events). */
const INGEST_TABLES = [sourceRecords, recordBlockKeys, links, identities, fieldProvenance, reviewItems, changeEvents].map((t) =>
  getTableName(t),
);

/** No refresh before this many records were ingested since the last one. */
export const MIN_RECORDS_BETWEEN_REFRESHES = 1_000;

/**
 * Keeps the planner's statistics of the ingest tables in step with an index that is growing fast. PostgreSQL's
 * autovacuum analyses a table about once a minute at most, and only after a tenth of it changed; an index filled
 * from empty (a first feed, a replica catching up) meanwhile runs on statistics of a much smaller table, and the
 * plans of the candidate reads go bad: into a fresh database, one JetStream consumer's batches of 500 took
 * 350 ms at first and 1,000 ms by the twentieth, and 400 ms again right after a manual ANALYZE (docs/scaling.md).
 * So each time the records ingested by this process since the last refresh reach the table's size at that
 * refresh (at least `minRecords`), the tables are analysed, in the background and one refresh at a time:
 * a doubling index is analysed a logarithmic number of times, a steady one rarely.
 */
export class TableStatistics {
  private since = 0;
  private next: number;
  private refreshing: Promise<void> | null = null;
  /** Refreshes made since start (for tests and gauges). */
  refreshes = 0;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly minRecords = MIN_RECORDS_BETWEEN_REFRESHES,
  ) {
    this.next = minRecords;
  }

  /** Counts committed records; starts a refresh when enough have come in since the last. */
  noteIngested(records: number): void {
    this.since += records;
    if (this.since < this.next || this.refreshing) return;
    this.refreshing = this.refresh().finally(() => (this.refreshing = null));
  }

  /** Resolves when a refresh under way has finished (for tests and shutdown). */
  async settled(): Promise<void> {
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    const counted = this.since;
    try {
      await analyzeTables(this.db, INGEST_TABLES);
      const rows = await estimatedRows(this.db, getTableName(sourceRecords));
      this.since -= counted;
      this.next = Math.max(this.minRecords, rows);
      this.refreshes += 1;
    } catch (error) {
      // Autovacuum still gets there; try again after as many records more.
      this.since -= counted;
      this.logger.warn(errorFields(error), 'refreshing the ingest tables’ statistics failed');
    }
  }
}

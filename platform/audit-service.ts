import { appendAudit, appendAuditInTransaction, listAuditEntries, type AuditEntry, type AuditFilter, type AuditRow } from './audit.ts';
import { withBeforeCommit } from './db/before-commit.ts';
import type { Database } from './db/client.ts';

/**
 * Appends an entry inside the transaction of the change it describes (see `AuditService.withAuditedChanges`);
 * resolves to false, appending nothing, when that transaction has written nothing.
 */
export type AppendInTransaction = (entry: AuditEntry) => Promise<boolean>;

/**
 * The audit trail of one database, for callers that must not hold the database handle (the API): appends,
 * batched with other requests' or inside the transaction of the change they describe, and the listing.
 */
export class AuditService {
  constructor(private readonly db: Database) {}

  /** Appends an entry on its own (group-committed with concurrent appends); resolves once it is committed. */
  append(entry: AuditEntry): Promise<void> {
    return appendAudit(this.db, entry);
  }

  /** One page of entries, newest first by id keyset (see `listAuditEntries`). */
  list(
    filter: AuditFilter,
    page: { before?: number | null; after?: number | null; limit: number; oldestFirst?: boolean },
  ): Promise<AuditRow[]> {
    return listAuditEntries(this.db, filter, page);
  }

  /**
   * Runs `work` so that each transaction it opens runs `hook` last, before the commit, with what the transaction
   * returned and a function that appends an entry inside it when the transaction wrote (checked in the round trip
   * that takes the chain lock): the change and its entry commit together or not at all, whichever service made it.
   */
  withAuditedChanges<T>(hook: (result: unknown, append: AppendInTransaction) => Promise<void>, work: () => Promise<T>): Promise<T> {
    return withBeforeCommit((tx, result) => hook(result, (entry) => appendAuditInTransaction(tx, entry, { onlyIfWritten: true })), work);
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database, Executor } from './client.ts';

/**
 * Work that must commit with the change it describes (an audit entry): run last inside each transaction of the
 * scope, with the value the transaction's work returned. Throwing rolls the change back. A transaction that wrote
 * nothing needs no entry: the hook checks that itself in its first statement (`appendAuditInTransaction` with
 * `onlyIfWritten` does it in the round trip that takes the chain lock), so no transaction pays a round trip to ask.
 */
export type BeforeCommitHook = (tx: Executor, result: unknown) => Promise<void>;

interface CommitScope {
  hook: BeforeCommitHook;
  /** False once the work that opened the scope has finished: transactions started after it carry no hook. */
  open: boolean;
  /** Set inside a transaction of the scope, so a transaction opened within it does not run the hook again. */
  inTransaction: boolean;
}

const scopes = new AsyncLocalStorage<CommitScope | null>();

/**
 * Runs `work` so that every top-level transaction it opens (on a handle from `openDatabase`) runs `hook` last,
 * before it commits. A request's audit entry is written this way: a change and its entry
 * commit together or not at all, whichever service made the change.
 */
export async function withBeforeCommit<T>(hook: BeforeCommitHook, work: () => Promise<T>): Promise<T> {
  const scope: CommitScope = { hook, open: true, inTransaction: false };
  try {
    return await scopes.run(scope, work);
  } finally {
    scope.open = false;
  }
}

/** Runs `work` outside any before-commit scope (for writes that are not the request's change, such as the audit queue). */
export function withoutBeforeCommit<T>(work: () => T): T {
  return scopes.run(null, work);
}

/** Makes `db.transaction` run the current scope's hook last in each of its transactions. */
export function runBeforeCommitHooks(db: Database): Database {
  const open = db.transaction.bind(db);
  const transaction: Database['transaction'] = (work, config) => {
    const scope = scopes.getStore();
    if (!scope?.open || scope.inTransaction) return open(work, config);
    return scopes.run({ ...scope, inTransaction: true }, () =>
      open(async (tx) => {
        const result = await work(tx);
        // The opening work may have finished while this transaction ran (work it started and did not await).
        if (scope.open) await scope.hook(tx, result);
        return result;
      }, config),
    );
  };
  db.transaction = transaction;
  return db;
}

import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { readFromReplica } from '../platform/db/read-routing.ts';
import type { RequestContext } from './context.ts';
import type { Services } from './services.ts';

/** A caller sends `x-mpi-read: primary` to read from the primary whatever it wrote last, and through any replica. */
export const READ_HEADER = 'x-mpi-read';
/** Callers whose last write's WAL position is remembered (least recently written dropped first). */
const MAX_WRITERS = 10_000;

/**
 * Routes GraphQL queries to the read replica (DATABASE_READ_URL) with read-your-writes: after a caller's
 * mutation, the primary's WAL position is remembered for that caller, and its queries read from the primary
 * until the replica has replayed that position. Mutations always run on the primary; so does any query sent with
 * `x-mpi-read: primary`. Does nothing without a read replica.
 */
export function useReadRouting(services: Services): Plugin<RequestContext> {
  const replica = services.database.readReplica;
  const lastWrite = new Map<string, string>();
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (!replica) return;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const ctx = args.contextValue as RequestContext & { request: Request };
      const caller = ctx.principal?.id ?? `addr:${ctx.clientAddress ?? 'unknown'}`;
      if (operation === 'mutation') {
        setExecuteFn(async (executeArgs) => {
          const result = await executeFn(executeArgs);
          try {
            const lsn = await replica.primaryPosition();
            lastWrite.delete(caller);
            if (lastWrite.size >= MAX_WRITERS) lastWrite.delete(lastWrite.keys().next().value!);
            lastWrite.set(caller, lsn);
          } catch {
            /* the primary is gone: the next query will find out */
          }
          return result;
        });
        return;
      }
      if (operation !== 'query') return;
      setExecuteFn(async (executeArgs) => {
        if (ctx.request.headers.get(READ_HEADER)?.toLowerCase() === 'primary') return executeFn(executeArgs);
        const pending = lastWrite.get(caller);
        if (pending !== undefined) {
          if (!(await replica.hasReplayed(pending))) return executeFn(executeArgs);
          if (lastWrite.get(caller) === pending) lastWrite.delete(caller);
        }
        return readFromReplica(() => executeFn(executeArgs));
      });
    },
  };
}

import DataLoader from 'dataloader';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isUuid, type IdentityReads, type IdentityRow, type RecordWithSource } from '../identity/index.ts';
import type { RequestContext } from './context.ts';
import type { Services } from './services.ts';

/**
 * Lookups resolved once per item of a list (an identity per ingest result, the records of each identity, a
 * record per review item), gathered by request-scoped DataLoaders into one query per list level instead of one
 * per item. A loader lives for one operation: nothing is shared between callers, so roles, masking and audit
 * stay per request.
 */
export interface RequestLoaders {
  /** An identity by id, following merges to the survivor (null: no such identity). */
  identity: DataLoader<string, IdentityRow | null>;
  /** An identity row itself, without following a merge (lineage and history show the identity they name). */
  identityExact: DataLoader<string, IdentityRow | null>;
  /** A source record by id, with its source and link (null: no such record). */
  sourceRecord: DataLoader<string, RecordWithSource | null>;
  /** The active source records linked to an identity. */
  recordsOf: DataLoader<string, RecordWithSource[]>;
}

export interface LoaderOptions {
  /**
   * Keep what was read for the rest of the operation (queries). A mutation reads afresh on every load, so a
   * later root field never sees a row from before an earlier one's write; loads of one list are still batched.
   */
  cache: boolean;
  /** Gather loads into one query (default true); false reads item by item, for measuring what batching saves. */
  batch?: boolean;
}

/** The loaders of one GraphQL operation. */
export function createLoaders(reads: IdentityReads, options: LoaderOptions): RequestLoaders {
  const settings = { cache: options.cache, batch: options.batch ?? true, maxBatchSize: 1000 };
  return {
    identity: new DataLoader(async (ids) => {
      const found = await reads.survivorsByIds(ids);
      return ids.map((id) => found.get(id) ?? null);
    }, settings),
    identityExact: new DataLoader(async (ids) => {
      const found = await reads.identitiesByIds(ids.filter(isUuid));
      return ids.map((id) => found.get(id) ?? null);
    }, settings),
    sourceRecord: new DataLoader(async (ids) => {
      const found = await reads.sourceRecordsByIds(ids);
      return ids.map((id) => found.get(id) ?? null);
    }, settings),
    recordsOf: new DataLoader(async (ids) => {
      const found = await reads.recordsOfIdentities(ids);
      return ids.map((id) => found.get(id) ?? []);
    }, settings),
  };
}

/**
 * Gives each operation its own loaders: cached for a query, uncached for a mutation (see LoaderOptions.cache) and
 * for a subscription, whose events arrive over a long time and must each read the current state.
 */
export function useRequestLoaders(services: Services, batch: boolean): Plugin<RequestContext> {
  return {
    onExecute({ args, extendContext }) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      extendContext({ loaders: createLoaders(services.identity, { cache: operation === 'query', batch }) });
    },
    onSubscribe({ extendContext }) {
      extendContext({ loaders: createLoaders(services.identity, { cache: false, batch }) });
    },
  };
}

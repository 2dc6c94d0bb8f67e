import { Kind, visit, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { appendAudit } from '../platform/audit.ts';
import type { RequestContext } from './context.ts';
import { actorOf } from './context.ts';

/** Every field name selected by the operation: which fields of patient data were returned. */
function selectedFields(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, { Field: (node) => { if (!node.name.value.startsWith('__')) names.add(node.name.value); } });
  return [...names].sort();
}

function rootFields(operation: OperationDefinitionNode | undefined): string[] {
  if (!operation) return [];
  return operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
}

/**
 * Writes one audit entry for every operation that read or changed patient data (resolvers mark what they
 * touched on `ctx.audit`), and for every denied or failed attempt at one.
 */
export function useAudit(): Plugin<RequestContext> {
  return {
    onExecute({ args }) {
      return {
        async onExecuteDone({ result }) {
          const ctx = args.contextValue;
          const errors = 'errors' in result && Array.isArray(result.errors) ? result.errors : [];
          const codes = errors.map((e) => String((e as { extensions?: { code?: unknown } }).extensions?.code ?? 'ERROR'));
          const denied = codes.some((c) => c === 'FORBIDDEN' || c === 'UNAUTHENTICATED');
          if (!ctx.audit.touched && !ctx.audit.wrote && !denied) return;
          const operation = args.document.definitions.find(
            (d: { kind: string }): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
          );
          const objects = [...ctx.audit.objects.entries()];
          await appendAudit(ctx.services.database.db, {
            actor: actorOf(ctx),
            role: ctx.principal?.roles.join(',') ?? 'none',
            action: `${operation?.operation ?? 'query'}:${rootFields(operation).join(',')}`,
            objectType: objects.map(([type]) => type).join(',') || null,
            objectIds: objects.flatMap(([type, ids]) => [...ids].map((id) => `${type}:${id}`)),
            fields: selectedFields(args.document),
            outcome: denied ? 'DENIED' : errors.length > 0 ? 'ERROR' : 'SUCCESS',
            requestId: ctx.requestId,
            clientAddress: ctx.clientAddress,
            details: codes.length > 0 ? { errorCodes: [...new Set(codes)] } : {},
          });
        },
      };
    },
  };
}

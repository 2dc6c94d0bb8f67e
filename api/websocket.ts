import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { MpiYoga } from './yoga.ts';

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on `/graphql`, through the same Yoga instance: the same
 * schema, plugins, authentication (the upgrade request's Authorization header, or `authorization` in the
 * connection parameters) and audit as HTTP.
 */
export function attachGraphqlWebSocket(server: Server, yoga: MpiYoga): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const given = ctx.connectionParams?.authorization;
        const headers = new Headers();
        const authorization = typeof given === 'string' ? given : ctx.extra.request.headers.authorization;
        if (authorization) headers.set('authorization', authorization);
        const request = new Request('http://localhost/graphql', { method: 'POST', headers });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          request,
          clientAddress: ctx.extra.request.socket.remoteAddress,
          params,
        });
        const document = parse(params.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );
  return {
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

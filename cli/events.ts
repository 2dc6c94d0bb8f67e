import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError } from './errors.ts';

const FOLLOW = `subscription Follow($from: String, $types: [ChangeEventType!]) {
  changeEvents(from: $from, filter: { types: $types }) { id position type occurredAt actor identityId recordId source localId data versions }
}`;

export interface EventsOptions {
  url: string;
  key?: string | undefined;
  type?: string[] | undefined;
  from?: string | undefined;
  follow?: boolean | undefined;
}

/**
 * `mpi events --follow`: prints each change event as one JSON line as the server publishes it, over the
 * server's GraphQL WebSocket (so it works while the server holds the embedded database). With `--from`, the
 * events after that position come first.
 */
export async function eventsCommand(opts: EventsOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!opts.follow) throw new CliError('only --follow is supported: it prints events as they happen (use --from to replay first)');
  if (opts.from !== undefined && !/^\d{1,15}$/.test(opts.from)) throw new CliError('--from must be a position (a whole number, 0 or more)');
  const url = new URL(opts.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = createClient({
    url: url.toString(),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    connectionParams: opts.key ? { authorization: `Bearer ${opts.key}` } : {},
  });
  const types = opts.type?.map((t) => t.toUpperCase());
  await new Promise<void>((resolve, reject) => {
    let last = opts.from;
    const subscribe = () =>
      client.subscribe<{ changeEvents: { position: string } }>(
        { query: FOLLOW, variables: { from: last ?? null, types: types ?? null } },
        {
          next: (result) => {
            if (result.errors) {
              reject(new CliError(`the server refused: ${result.errors.map((e) => e.message).join('; ')}`));
              return;
            }
            const event = result.data?.changeEvents;
            if (!event) return;
            last = event.position;
            out.write(`${JSON.stringify(event)}\n`);
          },
          error: (error) => reject(error instanceof Error ? error : new CliError('the event stream failed')),
          complete: () => resolve(),
        },
      );
    const stop = subscribe();
    process.once('SIGINT', () => {
      stop();
      void client.dispose();
      resolve();
    });
  });
}

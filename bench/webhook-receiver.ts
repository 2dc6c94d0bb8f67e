import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort } from 'node:worker_threads';

/**
 * The benchmark's webhook receiver, in a thread of its own: a downstream system does not share an event loop with
 * the load generator, and here it would (serialising a 500-record batch or parsing subscription messages delays
 * the receiver's clock reading by as much). Arrivals go to the benchmark as wall-clock milliseconds, in bundles.
 */
export type ReceiverCommand = { down: boolean } | { close: true };
export type ReceiverMessage = { url: string } | { arrivals: Array<[string, number]> };

const seen = new Set<string>();
let down = false;
let arrivals: Array<[string, number]> = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (down) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const at = performance.timeOrigin + performance.now();
    const id = (JSON.parse(Buffer.concat(chunks).toString()) as { data: { recordId: string } }).data.recordId;
    if (!seen.has(id)) {
      seen.add(id);
      arrivals.push([id, at]);
    }
    res.end();
  });
});

const flush = setInterval(() => {
  if (arrivals.length === 0) return;
  parentPort!.postMessage({ arrivals } satisfies ReceiverMessage);
  arrivals = [];
}, 20);

parentPort!.on('message', (command: ReceiverCommand) => {
  if ('down' in command) down = command.down;
  else {
    clearInterval(flush);
    server.closeAllConnections();
    server.close(() => parentPort!.close());
  }
});

server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  parentPort!.postMessage({ url: `http://127.0.0.1:${port}/hook` } satisfies ReceiverMessage);
});

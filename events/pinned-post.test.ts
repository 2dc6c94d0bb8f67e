import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PinnedConnections } from './pinned-post.ts';
import { failureName } from './round-send.ts';

interface Seen {
  host: string | undefined;
  connection: number;
}

/** A server on one loopback address that notes each request's Host header and which connection carried it. */
async function serverOn(address: string, port = 0): Promise<{ server: Server; seen: Seen[]; port: number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    seen.push({ host: req.headers.host, connection: (req.socket as unknown as { n: number }).n });
    req.resume();
    req.on('end', () => res.end());
  });
  server.on('connection', (socket) => Object.assign(socket, { n: (connections += 1) }));
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

describe('pinned delivery connections', () => {
  let first: Awaited<ReturnType<typeof serverOn>>;
  let second: Awaited<ReturnType<typeof serverOn>>;
  const connections = new PinnedConnections();
  beforeAll(async () => {
    first = await serverOn('127.0.0.1');
    // The same port on another loopback address: only the checked address tells the two apart.
    second = await serverOn('127.0.0.2', first.port);
  });
  afterAll(() => {
    connections.close();
    first.server.close();
    second.server.close();
  });

  const post = (address: string) =>
    connections.post(
      { url: new URL(`http://hooks.example:${first.port}/hook`), address, family: 4 },
      { headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 5_000 },
    );

  test('reuses kept-alive connections for requests to the same checked address', async () => {
    for (let i = 0; i < 20; i += 1) expect(await post('127.0.0.1')).toEqual({ status: 200 });
    expect(first.seen).toHaveLength(20);
    // One connection per request would be twenty; the pool may open a second while the first finishes an answer.
    expect(new Set(first.seen.map((s) => s.connection)).size).toBeLessThanOrEqual(2);
    expect(first.seen.every((s) => s.host === `hooks.example:${first.port}`)).toBe(true);
  });

  test('never reuses a pooled connection when the same host name was checked to another address', async () => {
    expect(await post('127.0.0.2')).toEqual({ status: 200 });
    expect(second.seen).toEqual([{ host: `hooks.example:${first.port}`, connection: 1 }]);
    expect(first.seen).toHaveLength(20);
  });

  test('a request the endpoint never answers times out, and costs that endpoint one connection', async () => {
    let opened = 0;
    let received = 0;
    const silent = createServer(() => (received += 1));
    silent.on('connection', () => (opened += 1));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const target = {
      url: new URL(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`),
      address: '127.0.0.1',
      family: 4 as const,
    };
    try {
      const failures = await Promise.all(
        Array.from({ length: 5 }, () =>
          connections.post(target, { headers: {}, body: '{}', timeoutMs: 200 }).then(
            () => 'answered',
            (error: unknown) => failureName(error),
          ),
        ),
      );
      expect(failures).toEqual(Array(5).fill('timed out'));
      // Give a pool that would replace the failed connections the time to open them.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect({ received, opened }).toEqual({ received: 5, opened: 5 });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

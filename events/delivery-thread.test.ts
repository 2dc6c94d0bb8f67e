import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ThreadSender } from './delivery-thread.ts';
import { InlineSender, type RoundRequest } from './round-send.ts';
import type { CheckedTarget } from './url-policy.ts';

/**
 * A receiver in a process of its own (so it answers while this thread is blocked): notes when each request
 * arrived and its body; `/fail/<body>` answers 503 for that body; GET `/seen` lists what arrived and forgets it and the failing bodies.
 */
const RECEIVER = `
const http = require('node:http');
let seen = [];
let failing = new Set();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url.startsWith('/fail/')) { failing.add(req.url.slice(6)); res.end(); return; }
    if (req.method === 'GET') { res.end(JSON.stringify(seen)); seen = []; failing = new Set(); return; }
    const body = Buffer.concat(chunks).toString();
    seen.push({ at: Date.now(), body, signature: req.headers['webhook-signature'] });
    res.statusCode = failing.has(body) ? 503 : 200;
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

interface Seen {
  at: number;
  body: string;
  signature: string;
}

const round = (n: number, chains: number): RoundRequest[] =>
  Array.from({ length: n }, (_, i) => ({ key: `identity-${i % chains}`, body: `event-${i}`, headers: { 'webhook-signature': `v1,${i}` } }));

/** Blocks this thread for `ms`, the way a long slice of ingest work does; returns when it ended. */
function block(ms: number): number {
  const until = Date.now() + ms;
  while (Date.now() < until);
  return Date.now();
}

describe('webhook delivery thread', () => {
  let receiver: ChildProcessWithoutNullStreams;
  let target: CheckedTarget;
  const base = () => target.url.href.replace(/\/hook$/, '');
  const seen = async (): Promise<Seen[]> => (await fetch(`${base()}/seen`)).json() as Promise<Seen[]>;
  const options = { stopAtFailure: true, timeoutMs: 10_000, concurrency: 32 };

  beforeAll(async () => {
    receiver = spawn(process.execPath, ['-e', RECEIVER]);
    const [port] = (await once(receiver.stdout, 'data')) as [Buffer];
    target = { url: new URL(`http://127.0.0.1:${port.toString().trim()}/hook`), address: '127.0.0.1', family: 4 };
  });
  afterAll(() => receiver.kill());

  test('sends every request with its headers and body, in order within an identity, and answers each outcome', async () => {
    const sender = new ThreadSender();
    try {
      const requests = round(120, 7);
      const outcomes = await sender.send(target, requests, options);
      expect(outcomes.map((o) => o.index).sort((a, b) => a - b)).toEqual(requests.map((_, i) => i));
      expect(outcomes.every((o) => o.ok && o.status === 200 && o.error === null)).toBe(true);
      const arrived = await seen();
      expect(arrived.map((s) => s.signature).sort()).toEqual(requests.map((r) => r.headers['webhook-signature']).sort());
      for (let chain = 0; chain < 7; chain += 1) {
        const order = arrived.map((s) => Number(s.body.slice('event-'.length))).filter((i) => i % 7 === chain);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    } finally {
      await sender.close();
    }
  });

  test('stops an identity at its failure and starts nothing after one failed', async () => {
    const sender = new ThreadSender();
    try {
      await fetch(`${base()}/fail/event-0`);
      const outcomes = await sender.send(target, round(200, 200), options);
      const failed = outcomes.filter((o) => !o.ok);
      expect(failed).toEqual([{ index: 0, ok: false, status: 503, error: 'HTTP 503' }]);
      // The first wave was out when event-0 failed; nothing of the rest of the round was sent.
      expect(outcomes.length).toBeLessThanOrEqual(32);
      expect((await seen()).length).toBe(outcomes.length);
    } finally {
      await sender.close();
    }
  });

  test("a round goes out while the service's thread is busy; sent from that thread, it waits until it is free", async () => {
    const thread = new ThreadSender();
    const inline = new InlineSender();
    try {
      // The first round starts the worker.
      await thread.send(target, round(1, 1), options);
      await seen();

      const fromThread = thread.send(target, round(50, 50), options);
      const threadFreed = block(2_000);
      expect((await fromThread).every((o) => o.ok)).toBe(true);
      const threadSeen = await seen();
      expect(threadSeen).toHaveLength(50);
      expect(threadSeen.every((s) => s.at < threadFreed)).toBe(true);

      const fromInline = inline.send(target, round(50, 50), options);
      const inlineFreed = block(500);
      expect((await fromInline).every((o) => o.ok)).toBe(true);
      const inlineSeen = await seen();
      expect(inlineSeen).toHaveLength(50);
      expect(inlineSeen.every((s) => s.at >= inlineFreed - 5)).toBe(true);
    } finally {
      await thread.close();
      await inline.close();
    }
  });

  test('warm() loads the thread before any round, and that thread sends the next round', async () => {
    const sender = new ThreadSender();
    try {
      await sender.warm();
      const outcomes = await sender.send(target, round(10, 10), options);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(10);
      expect(await seen()).toHaveLength(10);
      // Still the same thread: warming again has nothing to wait for.
      await sender.warm();
    } finally {
      await sender.close();
    }
  });

  test('closing fails the rounds out, and the next round starts a new worker', async () => {
    const sender = new ThreadSender();
    await sender.send(target, round(1, 1), options);
    const out = sender.send(target, round(5, 5), options).catch((error: Error) => error);
    await sender.close();
    expect(await out).toEqual(new Error('webhook delivery stopped'));
    const again = await sender.send(target, round(3, 3), options);
    expect(again.filter((o) => o.ok)).toHaveLength(3);
    await sender.close();
    await seen();
  });
});

import { parentPort } from 'node:worker_threads';
import type { PinnedConnections } from './pinned-post.ts';
import { connectionsFor, sendRound, type RoundReply, type RoundTask } from './round-send.ts';

/**
 * The webhook delivery thread: sends the rounds the service's delivery loop hands it (already rendered and
 * signed) over connections kept alive here, and answers each round's outcomes. Pure network work: the service
 * owns the database, the endpoints' positions and the retries. Its own event loop means a round goes out and its
 * answers are read while the service's thread is busy with ingest.
 */
const pools = new Map<number, PinnedConnections>();

parentPort!.on('message', (task: RoundTask) => {
  const { id, requests, target: to, ...options } = task;
  const target = { url: new URL(to.url), address: to.address, family: to.family };
  void sendRound(target, requests, { ...options, transport: (t, o) => connectionsFor(pools, options.concurrency).post(t, o) }).then(
    (outcomes) => parentPort!.postMessage({ id, outcomes } satisfies RoundReply),
  );
});

// Loaded: the service's thread may count on a round going out at once (see ThreadSender.warm).
parentPort!.postMessage({ ready: true } satisfies RoundReply);

// Change-event benchmark on PostgreSQL. After a stored index and a backlog (the outbox's share of batch ingest
// time, the dispatcher's publishing rate), it ingests at a sustained rate (default 1,000 records/s, open loop:
// batches are sent when due, whatever the previous ones do) with a webhook endpoint and a GraphQL subscription
// (server-sent events) listening, in rounds that alternate without and with a dead endpoint (one that accepts
// connections and never answers). It prints the achieved ingest rate, events per second through the outbox,
// commit-to-receipt latency p50/p99 of each record's RECORD_LINKED, ingest batch latency without and with the dead
// endpoint, and then how fast an endpoint that was down (503) during a round drains its backlog once it is back.
//   npm run bench:events -- --base 5000 --rate 1000 --seconds 10 --rounds 2
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Command } from 'commander';
import { sql } from 'drizzle-orm';
import { createServices, type Services } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { recordChanges } from '../events/index.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, queryRows, type Database } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { FIELDS, readRows, type Row } from './seed.ts';
import { freshDatabase, machine, percentile, syntheticRegistry } from './support.ts';

const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { record { id } } }';

async function call<T = unknown>(yoga: MpiYoga, query: string, variables: unknown): Promise<T> {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data;
}

function asInput(r: Row, suffix: string): Record<string, string | null> {
  return { source: r.source!, localId: `${r.record_id}${suffix}`, ...Object.fromEntries(FIELDS.map((f) => [f, r[f] ? r[f] : null])) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (n: number) => n.toFixed(1);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const dist = (values: number[]) => `p50 ${f(percentile(values, 50))} ms  p99 ${f(percentile(values, 99))} ms`;
const listen = (server: Server) => new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

/** A loopback webhook receiver recording when each record's event arrived; `down` makes it answer 503. */
async function receiver() {
  const state = { down: false, arrived: new Map<string, number>() };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (state.down) {
        res.statusCode = 503;
        res.end();
        return;
      }
      state.arrived.set((JSON.parse(body) as { data: { recordId: string } }).data.recordId, performance.now());
      res.end();
    });
  });
  await listen(server);
  return { state, url: urlOf(server), close: () => server.close() };
}

/** An endpoint that is there but dead: it accepts connections and never answers, so every request times out. */
async function deadEndpoint() {
  const server = createServer(() => undefined);
  await listen(server);
  return {
    url: urlOf(server),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A GraphQL SSE subscription to RECORD_LINKED, recording arrival times by record. */
async function subscribe(yoga: MpiYoga) {
  const arrived = new Map<string, number>();
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { changeEvents(types: [RECORD_LINKED]) { recordId } }' }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value);
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, cut)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buffer = buffer.slice(cut + 2);
        const id = data && (JSON.parse(data.slice(6)) as { data?: { changeEvents?: { recordId: string } } }).data?.changeEvents?.recordId;
        if (id) arrived.set(id, performance.now());
      }
    }
  })();
  return {
    arrived,
    close: async () => {
      await reader.cancel().catch(() => undefined);
      await pump;
    },
  };
}

interface Sustained {
  seconds: number;
  records: number;
  batchLatencies: number[];
  /** When the batch holding each record answered (its commit had returned). */
  committed: Map<string, number>;
  events: number;
  /** Events written but not yet published when the last batch answered. */
  unpublishedAtEnd: number;
}

const countEvents = async (db: Database) =>
  (
    await queryRows<{ n: number; unpublished: number }>(
      db,
      sql`select count(*)::int as n, (count(*) filter (where position is null))::int as unpublished from change_events`,
    )
  )[0]!;

/**
 * Ingests from `rows` at `rate` records/s for `seconds`, in batches sent when due (open loop); at most `inFlight`
 * batches run at once, so a server that cannot keep up shows as an achieved rate below the target (and fewer
 * records sent), not as an unbounded queue.
 */
async function sustainedIngest(
  yoga: MpiYoga,
  db: Database,
  rows: Row[],
  opts: { rate: number; seconds: number; batch: number; inFlight: number; suffix: string },
): Promise<Sustained> {
  const before = await countEvents(db);
  const batchLatencies: number[] = [];
  const committed = new Map<string, number>();
  const running = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + opts.seconds * 1000;
  let sent = 0;
  for (let i = 0; i < rows.length; i += opts.batch) {
    const due = start + (i * 1000) / opts.rate;
    if (due > performance.now()) await sleep(due - performance.now());
    while (running.size >= opts.inFlight) await Promise.race(running);
    if (performance.now() >= end) break;
    sent += Math.min(opts.batch, rows.length - i);
    const t = performance.now();
    const input = rows.slice(i, i + opts.batch).map((r) => asInput(r, opts.suffix));
    const job = call<{ ingestRecords: Array<{ record: { id: string } }> }>(yoga, INGEST_MANY, { input }).then((data) => {
      const done = performance.now();
      batchLatencies.push(done - t);
      for (const r of data.ingestRecords) committed.set(r.record.id, done);
    });
    const tracked: Promise<void> = job.finally(() => running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
  const seconds = (performance.now() - start) / 1000;
  const after = await countEvents(db);
  return { seconds, records: sent, batchLatencies, committed, events: after.n - before.n, unpublishedAtEnd: after.unpublished };
}

function delays(committed: Map<string, number>, arrived: Map<string, number>): { values: number[]; missing: number } {
  const values: number[] = [];
  let missing = 0;
  for (const [id, at] of committed) {
    const got = arrived.get(id);
    if (got === undefined) missing += 1;
    else values.push(got - at);
  }
  return { values, missing };
}

/** Waits until every committed record's event arrived (or `timeoutMs` passed); returns the arrival of the last. */
async function allArrived(committed: Map<string, number>, arrived: Map<string, number>, timeoutMs: number): Promise<number | null> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if ([...committed.keys()].every((id) => arrived.has(id))) return Math.max(...[...committed.keys()].map((id) => arrived.get(id)!));
    await sleep(20);
  }
  return null;
}

/** The outbox's share of batch ingest time, and the dispatcher's publishing rate from a backlog. */
async function backlogRun(yoga: MpiYoga, services: Services, db: Database, pending: Row[], pollMs: number): Promise<string[]> {
  const { unpublished: earlier } = await countEvents(db);
  const t = performance.now();
  for (let i = 0; i < pending.length; i += 500)
    await call(yoga, INGEST_MANY, { input: pending.slice(i, i + 500).map((r) => asInput(r, '')) });
  const ingestSeconds = (performance.now() - t) / 1000;
  const { unpublished } = await countEvents(db);
  const events = unpublished - earlier;
  // The same number of outbox rows, written alone in transactions of the same size.
  const perBatch = Math.ceil(events / Math.ceil(pending.length / 500));
  const t0 = performance.now();
  for (let written = 0; written < events; written += perBatch) {
    const n = Math.min(perBatch, events - written);
    await db.transaction((tx) =>
      recordChanges(
        tx,
        Array.from({ length: n }, () => ({ type: 'GOLDEN_RECORD_CHANGED' as const, actor: 'bench', data: { fields: ['familyName'] } })),
      ),
    );
  }
  const outboxSeconds = (performance.now() - t0) / 1000;
  await db.execute(sql`delete from change_events where actor = 'bench'`);
  const t1 = performance.now();
  services.events.start();
  while (services.events.dispatcher.headPosition < unpublished) await sleep(5);
  const publishSeconds = (performance.now() - t1) / 1000;
  return [
    `backlog ${int(pending.length)} records in batches of 500 -> ${int(events)} events (${(events / pending.length).toFixed(1)} per record)`,
    `  outbox writes   ${f(outboxSeconds * 1000)} ms of ${f(ingestSeconds * 1000)} ms batch ingest = ${f((100 * outboxSeconds) / ingestSeconds)} % of ingest time`,
    `  dispatcher      ${int(unpublished / publishSeconds)} events/s published from the backlog (${int(unpublished)} events with the stored index's, poll ${pollMs} ms)`,
  ];
}

const program = new Command('bench:events')
  .option('--base <n>', 'records stored before measuring (ingested in batches)', '5000')
  .option('--backlog <n>', 'records ingested in batches while no dispatcher runs (outbox share, publishing rate)', '2000')
  .option('--rate <n>', 'sustained ingest rate, records per second', '1000')
  .option('--seconds <n>', 'length of each sustained round', '10')
  .option('--rounds <n>', 'rounds without, then with, the dead endpoint (alternating)', '2')
  .option('--batch <n>', 'records per ingestRecords call of the sustained ingest', '50')
  .option('--in-flight <n>', 'ingestRecords calls running at once, at most', '4')
  .option('--poll-ms <n>', 'MPI_EVENTS_POLL_MS of the service under test', '100')
  .parse();
const opts = program.opts<Record<'base' | 'backlog' | 'rate' | 'seconds' | 'rounds' | 'batch' | 'inFlight' | 'pollMs', string>>();
const [base, backlog, rate, seconds, rounds, batch, inFlight, pollMs] = [
  opts.base,
  opts.backlog,
  opts.rate,
  opts.seconds,
  opts.rounds,
  opts.batch,
  opts.inFlight,
  opts.pollMs,
].map(Number) as [number, number, number, number, number, number, number, number];
const perRound = rate * seconds;

const { csv } = syntheticRegistry(base + backlog + (2 * rounds + 1) * perRound);
const rows = await readRows(csv);
const db = await freshDatabase('mpi_bench_events');
const lines = [
  `change-event benchmark on PostgreSQL, ${machine()}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at start`,
];
try {
  const handle = await openDatabase({ url: db.url, poolSize: 8 });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    MPI_EVENTS_POLL_MS: String(pollMs),
    // Retries, timeouts and dead letters as configured by default: the dead endpoint is what production would see.
    MPI_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    MPI_AUTO_REGISTER_SOURCES: 'true',
  });
  const services = createServices(config, handle, createLogger('silent'));
  const yoga = buildYoga(services, { localMode: true });
  let next = 0;
  const take = (n: number) => rows.slice(next, (next += n));

  process.stderr.write(`storing ${base} records...\n`);
  const stored = take(base);
  for (let i = 0; i < stored.length; i += 500)
    await call(yoga, INGEST_MANY, { input: stored.slice(i, i + 500).map((r) => asInput(r, '')) });
  lines.push(`stored index ${int(base)} records`, ...(await backlogRun(yoga, services, handle.db, take(backlog), pollMs)));

  // Sustained rounds: a live endpoint and a subscription always; the dead endpoint paused, then active, in turn.
  const hook = await receiver();
  await services.events.webhooks.register({ url: hook.url, eventTypes: ['RECORD_LINKED'] }, 'bench');
  const dead = await deadEndpoint();
  const deadHook = await services.events.webhooks.register({ url: dead.url }, 'bench');
  await services.events.webhooks.setActive(deadHook.endpoint.id, false);
  const sub = await subscribe(yoga);
  await sleep(500);
  const runs: Record<'without' | 'with', Sustained[]> = { without: [], with: [] };
  for (let round = 0; round < 2 * rounds; round += 1) {
    const withDead = round % 2 === 1;
    await services.events.webhooks.setActive(deadHook.endpoint.id, withDead);
    process.stderr.write(`round ${round + 1}: ${int(perRound)} records at ${rate}/s, dead endpoint ${withDead ? 'active' : 'paused'}...\n`);
    runs[withDead ? 'with' : 'without'].push(
      await sustainedIngest(yoga, handle.db, take(perRound), { rate, seconds, batch, inFlight, suffix: '' }),
    );
  }
  await services.events.webhooks.setActive(deadHook.endpoint.id, false);
  const all = [...runs.without, ...runs.with];
  const committed = new Map(all.flatMap((r) => [...r.committed]));
  await allArrived(committed, hook.state.arrived, 10_000);
  await allArrived(committed, sub.arrived, 5_000);
  const webhook = delays(committed, hook.state.arrived);
  const subscription = delays(committed, sub.arrived);
  const sum = (runsOf: Sustained[], pick: (r: Sustained) => number) => runsOf.reduce((n, r) => n + pick(r), 0);
  const summary = (label: string, runsOf: Sustained[]) => {
    const secs = sum(runsOf, (r) => r.seconds);
    return `  ${label}  ${int(sum(runsOf, (r) => r.records) / secs)} records/s achieved, ${int(sum(runsOf, (r) => r.events) / secs)} events/s through the outbox, unpublished at end ${runsOf.map((r) => r.unpublishedAtEnd).join('/')}; ingestRecords (${batch} records) ${dist(runsOf.flatMap((r) => r.batchLatencies))}`;
  };
  const p99 = (runsOf: Sustained[]) =>
    percentile(
      runsOf.flatMap((r) => r.batchLatencies),
      99,
    );
  const missing = (d: { missing: number }) => (d.missing ? `, ${d.missing} not received` : '');
  lines.push(
    `sustained ingest: target ${int(rate)} records/s for ${seconds} s per round, batches of ${batch} (at most ${inFlight} at once), ${rounds} rounds each, alternating`,
    summary('without dead endpoint', runs.without),
    summary('with dead endpoint   ', runs.with),
    `  ingest p99 with the dead endpoint: ${f((100 * (p99(runs.with) - p99(runs.without))) / p99(runs.without))} % against without (target: no more than +10 %)`,
    `  commit -> webhook receipt of RECORD_LINKED       ${dist(webhook.values)}  (${int(webhook.values.length)} events${missing(webhook)}; target p99 < 250 ms)`,
    `  commit -> subscription message of RECORD_LINKED  ${dist(subscription.values)}  (${int(subscription.values.length)} events${missing(subscription)})`,
  );
  await sub.close();
  dead.close();

  // Backlog drain: the live endpoint answers 503 for one round of ingest, then comes back.
  hook.state.down = true;
  process.stderr.write(`outage round: ${int(perRound)} records at ${rate}/s while the endpoint answers 503...\n`);
  const outage = await sustainedIngest(yoga, handle.db, take(perRound), { rate, seconds, batch, inFlight, suffix: '' });
  const backAt = performance.now();
  hook.state.down = false;
  const last = await allArrived(outage.committed, hook.state.arrived, 600_000);
  const arrivals = [...outage.committed.keys()].map((id) => hook.state.arrived.get(id)).filter((t): t is number => t !== undefined);
  const first = Math.min(...arrivals);
  lines.push(
    `backlog drain: the endpoint answered 503 during ${f(outage.seconds)} s of ingest (${int(outage.records)} RECORD_LINKED behind; backoff ${config.MPI_WEBHOOK_BACKOFF_MS} ms doubling)`,
    last === null
      ? `  not drained within 600 s (${arrivals.length} delivered)`
      : `  back: first delivery after ${f((first - backAt) / 1000)} s (the retry backoff), then drained in ${f((last - first) / 1000)} s = ${int(arrivals.length / ((last - first) / 1000))} events/s`,
  );
  hook.close();
  lines.push(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at end`,
  );
  await services.events.stop();
  await handle.close();
} finally {
  await db.drop();
}
console.log(lines.join('\n'));

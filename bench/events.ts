// Change-event benchmark on PostgreSQL, measured the way a deployment sees it: the service runs in its own process
// (`api/server.ts`, production mode, as `npm start` runs it), and this process is the integration pipelines and the
// downstream systems: several clients that send `ingestRecords` batches open loop at a fixed rate (a batch is due at
// its time whatever the others do; a server that cannot keep up shows as a lower achieved rate and a growing
// latency, which is measured from when the batch was due; batches still waiting for a free client when the round
// ends are counted and not sent, so a round lasts about as long as asked), a webhook receiver (in a thread of its
// own, as a downstream system would not share the load generator's event loop) and a GraphQL subscription
// (server-sent events). Rounds alternate without and with a dead webhook endpoint (it accepts connections and never answers).
// Then the receiver answers 503 for one round and comes back: how fast the endpoint drains its backlog.
//   npm run bench:events -- --base 5000 --rate 1000 --seconds 20 --rounds 2
// `--profile DIR` writes a V8 CPU profile of the service process into DIR (open it in Chrome DevTools).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import postgres from 'postgres';
import { createApiKey } from '../platform/api-keys.ts';
import { startWorker } from '../platform/worker.ts';
import { openDatabase } from '../platform/db/client.ts';
import { FIELDS, readRows, type Row } from './seed.ts';
import { freshDatabase, machine, percentile, percentileChangeInterval, syntheticRegistry } from './support.ts';
import type { ReceiverCommand, ReceiverMessage } from './webhook-receiver.ts';

const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { record { id } } }';
const CREATE_HOOK = 'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }';
const SET_ACTIVE = 'mutation($id: ID!, $active: Boolean!) { setWebhookEndpointActive(id: $id, active: $active) { id } }';
const SEED_BATCH = 500;

const program = new Command('bench:events')
  .option('--base <n>', 'records stored before measuring', '5000')
  .option('--rate <n>', 'target ingest rate, records per second (open loop)', '1000')
  .option('--seconds <n>', 'length of each round', '20')
  .option('--warmup <n>', 'seconds of ingest at the same rate before the rounds, not measured (connections, compiled code)', '3')
  .option('--rounds <n>', 'pairs of rounds without and with the dead endpoint (without-with, then with-without, ...)', '2')
  .option('--batch <n>', 'records per ingestRecords call', '50')
  .option('--clients <n>', 'concurrent ingest clients', '6')
  .option('--port <n>', 'port of the service this benchmark starts (127.0.0.1)', '4215')
  .option('--poll-ms <n>', 'MPI_EVENTS_POLL_MS of the service', '100')
  .option('--profile <dir>', 'write a CPU profile of the service process into this folder')
  .option('--no-lifecycle', "turn the service's model lifecycle off (MPI_MODEL_TRAIN_AFTER=0): no retraining during the rounds")
  .option('--database <prefix>', "prefix of the benchmark database's name (dropped at the end)", 'mpi_bench_events')
  .parse();
const opts = program.opts<
  Record<'base' | 'rate' | 'seconds' | 'warmup' | 'rounds' | 'batch' | 'clients' | 'port' | 'pollMs' | 'database', string> & {
    profile?: string;
    lifecycle: boolean;
  }
>();
const [baseCount, rate, seconds, rounds, batch, clients] = [opts.base, opts.rate, opts.seconds, opts.rounds, opts.batch, opts.clients].map(
  Number,
) as [number, number, number, number, number, number];
const perRound = rate * seconds;
const service = `http://127.0.0.1:${opts.port}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const dist = (values: number[]) => `p50 ${f(percentile(values, 50))} ms  p99 ${f(percentile(values, 99))} ms`;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const listen = (server: Server) => new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

function asInput(r: Row): Record<string, string | null> {
  return { source: r.source!, localId: r.record_id!, ...Object.fromEntries(FIELDS.map((f) => [f, r[f] ? r[f] : null])) };
}

async function call<T = Record<string, unknown>>(key: string, query: string, variables: unknown): Promise<T> {
  const response = await fetch(`${service}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data;
}

async function waitForService(seconds: number, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until && !gone) {
    if (
      await fetch(`${service}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(250);
  }
  throw new Error(gone ? 'the service exited' : 'the service did not become ready');
}

/**
 * A webhook receiver (webhook-receiver.ts, in its own thread) recording when each record's event arrived, on this
 * thread's clock; `setDown(true)` makes it answer 503.
 */
async function receiver() {
  const arrived = new Map<string, number>();
  const worker = startWorker(import.meta.url, 'webhook-receiver');
  worker.unref();
  const url = await new Promise<string>((resolve, reject) => {
    worker.on('message', (m: ReceiverMessage) => {
      if ('url' in m) resolve(m.url);
      // The receiver sends each record's first arrival once.
      else for (const [id, at] of m.arrivals) arrived.set(id, at - performance.timeOrigin);
    });
    worker.once('error', reject);
  });
  return {
    arrived,
    url,
    setDown: (down: boolean) => worker.postMessage({ down } satisfies ReceiverCommand),
    close: () => worker.postMessage({ close: true } satisfies ReceiverCommand),
  };
}

/** An endpoint that is there but dead: it accepts connections and never answers, so every request times out. */
async function deadEndpoint() {
  const seen = { connections: 0, requests: 0 };
  const server = createServer(() => {
    seen.requests += 1;
  });
  server.on('connection', () => {
    seen.connections += 1;
  });
  await listen(server);
  return {
    seen,
    url: urlOf(server),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A GraphQL subscription over server-sent events to RECORD_LINKED, recording arrival times by record. */
async function subscribe(key: string) {
  const arrived = new Map<string, number>();
  const abort = new AbortController();
  const response = await fetch(`${service}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: 'subscription { changeEvents(types: [RECORD_LINKED]) { recordId } }' }),
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer
          .slice(0, cut)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buffer = buffer.slice(cut + 2);
        const id = data && (JSON.parse(data.slice(6)) as { data?: { changeEvents?: { recordId: string } } }).data?.changeEvents?.recordId;
        if (id && !arrived.has(id)) arrived.set(id, performance.now());
      }
    }
  })();
  return {
    arrived,
    close: async () => {
      abort.abort();
      await pump;
    },
  };
}

interface Round {
  seconds: number;
  records: number;
  /** Records due in the round but not sent: every client was still busy when the round ended. */
  late: number;
  /** From when each batch was due to its answer (queueing behind a slow server included). */
  latencies: number[];
  /** The slowest batches: wall-clock time each was due, and its latency (to line up with the service's log). */
  slowest: Array<{ dueAt: number; latency: number }>;
  /** When the answer holding each record came back (its transaction had committed). */
  committed: Map<string, number>;
  events: number;
  transactions: number;
  /** Match models the service's lifecycle trained during the round (training runs on the service's event loop). */
  trained: number;
  /** CPU milliseconds of the service process and of the database's PostgreSQL backends during the round. */
  cpu: { service: number; database: number } | null;
}

/**
 * CPU milliseconds used so far by the service process and by the PostgreSQL backends connected to `database`
 * (from /proc: Linux only, and only when PostgreSQL runs on this host; null otherwise). A backend that ended since
 * the last reading takes its time with it, so this undercounts by the short-lived connections only.
 */
function cpuNow(servicePid: number | undefined, database: string): { service: number; database: number } | null {
  const ticks = (pid: string) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  };
  try {
    let backends = 0;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (command.startsWith('postgres: ') && command.split(' ').includes(database)) backends += ticks(pid);
      } catch {
        /* the process ended while being read */
      }
    }
    return servicePid === undefined ? null : { service: ticks(String(servicePid)), database: backends };
  } catch {
    return null;
  }
}

/** Outbox rows, committed transactions and trained models so far, read from PostgreSQL by this process. */
async function counters(sql: postgres.Sql): Promise<{ events: number; transactions: number; trained: number }> {
  const [row] = await sql<Array<{ events: number; transactions: string; trained: number }>>`
    select (select count(*)::int from change_events) as events,
      (select xact_commit::text from pg_stat_database where datname = current_database()) as transactions,
      (select count(*)::int from match_model_events where type = 'TRAINED') as trained`;
  return { events: row!.events, transactions: Number(row!.transactions), trained: row!.trained };
}

/**
 * The model lifecycle's steps since `since` (TRAINED with its training seconds, EVALUATED, ACTIVATED or REJECTED),
 * with the wall-clock time each was recorded, to line up with the slowest batches' due times.
 */
async function lifecycleSteps(sql: postgres.Sql, since: Date): Promise<string> {
  const rows = await sql<Array<{ type: string; at: Date; seconds: string | null }>>`
    select type, at, data->>'seconds' as seconds from match_model_events where at >= ${since} order by id`;
  return (
    rows.map((r) => `${r.type} ${r.at.toISOString().slice(11, 23)}${r.seconds ? ` (${r.seconds} s of training)` : ''}`).join(', ') || 'none'
  );
}

/**
 * Sends `rows` at `rate` records/s for `length` seconds (a round's by default) from `clients` concurrent clients: batch k is due k·batch/rate
 * seconds after the start and goes out on the first free client; batches due after the round are not sent.
 */
async function sustained(sql: postgres.Sql, key: string, rows: Row[], length = seconds): Promise<Round> {
  const before = await counters(sql);
  const cpuBefore = cpuNow(server.pid, databaseName);
  const latencies: number[] = [];
  const slow: Array<{ dueAt: number; latency: number }> = [];
  const committed = new Map<string, number>();
  const start = performance.now();
  const end = start + length * 1000;
  let next = 0;
  let records = 0;
  let late = 0;
  const client = async () => {
    for (;;) {
      const at = next;
      next += batch;
      const due = start + (at * 1000) / rate;
      if (at >= rows.length || due >= end) return;
      if (due > performance.now()) await sleep(due - performance.now());
      // Bounded open loop: a batch still waiting for a free client when the round ends is not sent (counted).
      if (performance.now() >= end) {
        late += Math.min(batch, rows.length - at);
        continue;
      }
      const input = rows.slice(at, at + batch).map(asInput);
      const data = await call<{ ingestRecords: Array<{ record: { id: string } }> }>(key, INGEST_MANY, { input });
      const done = performance.now();
      latencies.push(done - due);
      slow.push({ dueAt: performance.timeOrigin + due, latency: done - due });
      records += input.length;
      for (const r of data.ingestRecords) committed.set(r.record.id, done);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - start) / 1000;
  const after = await counters(sql);
  const cpuAfter = cpuNow(server.pid, databaseName);
  return {
    seconds: elapsed,
    records,
    late,
    latencies,
    slowest: slow.sort((a, b) => b.latency - a.latency).slice(0, 3),
    committed,
    events: after.events - before.events,
    transactions: after.transactions - before.transactions,
    trained: after.trained - before.trained,
    cpu: cpuBefore && cpuAfter ? { service: cpuAfter.service - cpuBefore.service, database: cpuAfter.database - cpuBefore.database } : null,
  };
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

/**
 * Per committed batch (records whose answer came back at the same moment): how long its first and its last event
 * took to arrive. A late first event waited before its round went out; a late last one waited within the round.
 */
function batchSpread(
  committed: Map<string, number>,
  arrived: Map<string, number>,
): { first: number[]; last: number[]; slowest: Array<{ at: number; last: number }> } {
  const batches = new Map<number, number[]>();
  for (const [id, at] of committed) {
    const got = arrived.get(id);
    if (got === undefined) continue;
    const list = batches.get(at);
    if (list) list.push(got - at);
    else batches.set(at, [got - at]);
  }
  const all = [...batches].map(([at, d]) => ({ at, first: Math.min(...d), last: Math.max(...d) }));
  return {
    first: all.map((b) => b.first),
    last: all.map((b) => b.last),
    slowest: all.sort((a, b) => b.last - a.last).slice(0, 3),
  };
}

/** Waits until every committed record's event arrived (or `timeoutMs` passed); the arrival of the last, or null. */
async function allArrived(committed: Map<string, number>, arrived: Map<string, number>, timeoutMs: number): Promise<number | null> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if ([...committed.keys()].every((id) => arrived.has(id))) return Math.max(...[...committed.keys()].map((id) => arrived.get(id)!));
    await sleep(20);
  }
  return null;
}

const warmup = Number(opts.warmup);
const { csv } = syntheticRegistry(baseCount + Math.ceil(rate * warmup) + (2 * rounds + 1) * perRound);
const rows = await readRows(csv);
const db = await freshDatabase(opts.database);
const databaseName = new URL(db.url).pathname.slice(1);
const keys = { admin: randomBytes(24).toString('base64url'), pipeline: randomBytes(24).toString('base64url') };
{
  const handle = await openDatabase({ url: db.url, poolSize: 2 });
  for (const role of ['admin', 'pipeline'] as const) await createApiKey(handle.db, `bench-${role}`, role, keys[role]);
  await handle.close();
}
const nodeArgs = [
  ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`] : []),
  '--import',
  'tsx',
  fileURLToPath(new URL('../api/server.ts', import.meta.url)),
];
const server = spawn(process.execPath, nodeArgs, {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    MPI_AUDIT_KEY: randomBytes(32).toString('base64'),
    PORT: opts.port,
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    MPI_RATE_LIMIT_PER_MINUTE: '100000000',
    MPI_AUTO_REGISTER_SOURCES: 'true',
    MPI_EVENTS_POLL_MS: opts.pollMs,
    ...(opts.lifecycle ? {} : { MPI_MODEL_TRAIN_AFTER: '0' }),
    // Retries, timeouts and dead letters as configured by default: the dead endpoint is what production would see.
    MPI_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const serverExit = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
const lines = [
  `change-event benchmark on PostgreSQL, ${machine()}, ${os.cpus().length} cores; the service in its own process, load and the subscription in this one, the webhook receiver in a thread of it; load average ${load()} at start`,
];
try {
  await waitForService(120, serverExit);
  let next = 0;
  const take = (n: number) => rows.slice(next, (next += n));
  process.stderr.write(`storing ${baseCount} records...\n`);
  const stored = take(baseCount);
  for (let i = 0; i < stored.length; i += SEED_BATCH)
    await call(keys.pipeline, INGEST_MANY, { input: stored.slice(i, i + SEED_BATCH).map(asInput) });
  await sql`vacuum (analyze)`;

  const hook = await receiver();
  await call(keys.admin, CREATE_HOOK, { input: { url: hook.url, eventTypes: ['RECORD_LINKED'] } });
  const dead = await deadEndpoint();
  const deadId = (
    await call<{ createWebhookEndpoint: { endpoint: { id: string } } }>(keys.admin, CREATE_HOOK, { input: { url: dead.url } })
  ).createWebhookEndpoint.endpoint.id;
  await call(keys.admin, SET_ACTIVE, { id: deadId, active: false });
  const sub = await subscribe(keys.pipeline);
  await sleep(500);
  if (warmup > 0) {
    // The first requests to a new endpoint open its connections and run code not yet compiled; a service that has
    // been up a while has done both. Those seconds are not what "sustained" means, so they are not measured.
    process.stderr.write(`warm-up: ${rate}/s for ${warmup} s, not measured...\n`);
    const warm = await sustained(sql, keys.pipeline, take(Math.ceil(rate * warmup)), warmup);
    await allArrived(warm.committed, hook.arrived, 20_000);
  }

  const runs: Record<'without' | 'with', Round[]> = { without: [], with: [] };
  const roundsFrom = new Date();
  const roundsStart = performance.now();
  // Pairs in the order without-with, then with-without, and so on (ABBA): the index grows by a round's records
  // each round and ingest slows a little as it grows, which plain alternation would charge to the rounds with
  // the dead endpoint (they always came second). With an even number of pairs a steady drift cancels.
  for (let round = 0; round < 2 * rounds; round += 1) {
    const withDead = round % 2 !== Math.floor(round / 2) % 2;
    await call(keys.admin, SET_ACTIVE, { id: deadId, active: withDead });
    process.stderr.write(
      `round ${round + 1}: ${rate}/s for ${seconds} s, dead endpoint ${withDead ? 'active' : 'paused'}, load ${load()}...\n`,
    );
    runs[withDead ? 'with' : 'without'].push(await sustained(sql, keys.pipeline, take(perRound)));
  }
  await call(keys.admin, SET_ACTIVE, { id: deadId, active: false });
  const all = [...runs.without, ...runs.with];
  const committed = new Map(all.flatMap((r) => [...r.committed]));
  await allArrived(committed, hook.arrived, 20_000);
  await allArrived(committed, sub.arrived, 10_000);
  const webhook = delays(committed, hook.arrived);
  const subscription = delays(committed, sub.arrived);
  const spread = batchSpread(committed, hook.arrived);
  const sum = (runsOf: Round[], pick: (r: Round) => number) => runsOf.reduce((n, r) => n + pick(r), 0);
  const summary = (label: string, runsOf: Round[]) => {
    const secs = sum(runsOf, (r) => r.seconds);
    const records = sum(runsOf, (r) => r.records);
    return [
      `  ${label}: ${int(records / secs)} records/s achieved (${int(sum(runsOf, (r) => r.late))} records due but not sent when the round ended), ${int(sum(runsOf, (r) => r.events) / secs)} events/s through the outbox (${f(sum(runsOf, (r) => r.events) / records)} per record), ${f(sum(runsOf, (r) => r.transactions) / (records / batch))} transactions per batch`,
      `    ingestRecords (${batch} records, from when due) ${dist(runsOf.flatMap((r) => r.latencies))}; models trained meanwhile: ${sum(runsOf, (r) => r.trained)}`,
      `    slowest batches: ${runsOf
        .flatMap((r) => r.slowest)
        .sort((a, b) => b.latency - a.latency)
        .slice(0, 3)
        .map((s) => `${f(s.latency)} ms (due ${new Date(s.dueAt).toISOString().slice(11, 23)})`)
        .join(', ')}`,
      ...(runsOf.every((r) => r.cpu)
        ? [
            `    CPU per record stored: service process ${f2(sum(runsOf, (r) => r.cpu!.service) / records)} ms, PostgreSQL backends ${f2(sum(runsOf, (r) => r.cpu!.database) / records)} ms (events and deliveries included)`,
          ]
        : []),
    ];
  };
  const p99 = (runsOf: Round[]) =>
    percentile(
      runsOf.flatMap((r) => r.latencies),
      99,
    );
  const interval = (r: typeof runs) =>
    percentileChangeInterval(
      r.without.flatMap((x) => x.latencies),
      r.with.flatMap((x) => x.latencies),
      99,
    )
      .map((x) => `${x > 0 ? '+' : ''}${f(x)} %`)
      .join(' to ');
  // A round that sent less than 95 % of what was due (or left batches unsent) measured a queue, not the service.
  const saturated = (runsOf: Round[]) => runsOf.some((r) => r.late > 0 || r.records / r.seconds < 0.95 * rate);
  const missing = (d: { missing: number }) => (d.missing ? `, ${d.missing} not received` : '');
  lines.push(
    `stored ${int(baseCount)} records${warmup > 0 ? `, then ${warmup} s of ingest at the rate as a warm-up (not measured)` : ''}; rounds of ${seconds} s at ${int(rate)} records/s asked, batches of ${batch} from ${clients} clients, ${rounds} rounds each way, in pairs without-with, with-without, ...`,
    ...summary('without dead endpoint', runs.without),
    ...summary('with dead endpoint   ', runs.with),
    `  ingest p99 with the dead endpoint: ${f((100 * (p99(runs.with) - p99(runs.without))) / p99(runs.without))} % against without (target: no more than +10 %; 90 % interval from resampling the batches ${interval(runs)})${saturated(all) ? '; the service did not keep up with the rate asked, so latencies are queueing and this comparison says little: measure at a lower --rate' : ''}`,
    `  the dead endpoint received ${int(dead.seen.requests)} requests on ${int(dead.seen.connections)} connections (each request timed out after the service's MPI_WEBHOOK_TIMEOUT_MS)`,
    `  model lifecycle steps during the rounds: ${await lifecycleSteps(sql, roundsFrom)}`,
    `  commit -> webhook receipt of RECORD_LINKED       ${dist(webhook.values)}  (${int(webhook.values.length)} events${missing(webhook)}; target p99 < 250 ms)`,
    `    per committed batch: first event ${dist(spread.first)}, last event ${dist(spread.last)} (${int(spread.first.length)} batches); slowest last events ${spread.slowest.map((b) => `${f(b.last)} ms (committed ${f((b.at - roundsStart) / 1000)} s into the rounds)`).join(', ')}`,
    `  commit -> subscription message of RECORD_LINKED  ${dist(subscription.values)}  (${int(subscription.values.length)} events${missing(subscription)})`,
    `  load average ${load()} after the rounds`,
  );
  await sub.close();
  dead.close();

  // Backlog drain: the endpoint answers 503 for one round of ingest, then comes back.
  hook.setDown(true);
  process.stderr.write(`outage round: ${rate}/s for ${seconds} s while the endpoint answers 503...\n`);
  const outage = await sustained(sql, keys.pipeline, take(perRound));
  const backAt = performance.now();
  hook.setDown(false);
  const last = await allArrived(outage.committed, hook.arrived, 300_000);
  const arrivals = [...outage.committed.keys()].map((id) => hook.arrived.get(id)).filter((t): t is number => t !== undefined);
  const first = Math.min(...arrivals);
  lines.push(
    `backlog drain: the endpoint answered 503 during ${f(outage.seconds)} s of ingest (${int(outage.records)} RECORD_LINKED behind, ${int(outage.records / outage.seconds)} records/s meanwhile)`,
    last === null
      ? `  not drained within 300 s (${arrivals.length} delivered)`
      : `  back: first delivery ${f((first - backAt) / 1000)} s after (the retry backoff), then drained in ${f((last - first) / 1000)} s = ${int(arrivals.length / ((last - first) / 1000))} events/s`,
    `load average ${load()} at end`,
  );
  hook.close();
} finally {
  server.kill('SIGTERM');
  await Promise.race([serverExit, sleep(15_000)]);
  await sql.end();
  await db.drop();
}
console.log(lines.join('\n'));

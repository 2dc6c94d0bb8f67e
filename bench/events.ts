// Change-event benchmark on PostgreSQL: the outbox's share of ingest time, dispatcher throughput (events
// published per second from a backlog), and end-to-end latency from an ingest's commit to a webhook receipt and
// to a GraphQL subscription (server-sent events), at a paced ingest rate; then ingest latency with a dead
// webhook endpoint registered against without.
//   npm run bench:events -- --base 5000 --records 300 --rate 50
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Command } from 'commander';
import { sql } from 'drizzle-orm';
import { createServices } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { recordChanges } from '../events/index.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, queryRows } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { FIELDS, readRows, type Row } from './seed.ts';
import { freshDatabase, machine, percentile, syntheticRegistry } from './support.ts';

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { record { id } } }';
const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { outcome } }';

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

/** A loopback webhook receiver that records when each record's RECORD_LINKED arrived. */
async function receiver(): Promise<{ url: string; arrived: Map<string, number>; close(): void }> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const at = performance.now();
      const event = (JSON.parse(body) as { data: { recordId: string } }).data;
      arrived.set(event.recordId, at);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, arrived, close: () => server.close() };
}

/** A GraphQL SSE subscription to RECORD_LINKED, recording arrival times by record. */
async function subscribe(yoga: MpiYoga): Promise<{ arrived: Map<string, number>; close(): Promise<void> }> {
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
        const message = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = message.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const id = (JSON.parse(data.slice(6)) as { data?: { changeEvents?: { recordId: string } } }).data?.changeEvents?.recordId;
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

/** Ingests `rows` one at a time at `rate` per second; returns each call's latency and when its commit returned. */
async function pacedIngest(yoga: MpiYoga, rows: Row[], rate: number, suffix: string) {
  const latencies: number[] = [];
  const committed = new Map<string, number>();
  const start = performance.now();
  for (const [i, r] of rows.entries()) {
    const due = start + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    const t = performance.now();
    const data = await call<{ ingestRecord: { record: { id: string } } }>(yoga, INGEST, { input: asInput(r, suffix) });
    const done = performance.now();
    latencies.push(done - t);
    committed.set(data.ingestRecord.record.id, done);
  }
  return { latencies, committed };
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

const program = new Command('bench:events')
  .option('--base <n>', 'records stored before measuring (ingested in batches)', '5000')
  .option('--records <n>', 'records ingested one by one for the latency runs', '300')
  .option('--rate <n>', 'records per second of the paced ingest', '50')
  .option('--backlog <n>', 'records ingested (in batches) while no dispatcher runs, for the throughput run', '2000')
  .parse();
const opts = program.opts<{ base: string; records: string; rate: string; backlog: string }>();
const [base, records, rate, backlog] = [opts.base, opts.records, opts.rate, opts.backlog].map(Number) as [number, number, number, number];

const { csv } = syntheticRegistry(base + backlog + 2 * records);
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
    MPI_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    MPI_WEBHOOK_TIMEOUT_MS: '1000',
    MPI_AUTO_REGISTER_SOURCES: 'true',
  });
  const services = createServices(config, handle, createLogger('silent'));
  const yoga = buildYoga(services, { localMode: true });
  const batches = async (part: Row[], suffix: string) => {
    const t = performance.now();
    for (let i = 0; i < part.length; i += 500)
      await call(yoga, INGEST_MANY, { input: part.slice(i, i + 500).map((r) => asInput(r, suffix)) });
    return (performance.now() - t) / 1000;
  };

  // 1. The stored index, then a backlog written while no dispatcher runs.
  process.stderr.write(`storing ${base} records...\n`);
  await batches(rows.slice(0, base), '');
  const pending = rows.slice(base, base + backlog);
  const ingestSeconds = await batches(pending, '');
  const [{ n: events }] = (await queryRows<{ n: number }>(
    handle.db,
    sql`select count(*)::int as n from change_events where position is null`,
  )) as [{ n: number }];
  // The outbox's share: the same number of rows, written alone in transactions of the same size.
  const perBatch = Math.ceil(events / Math.ceil(backlog / 500));
  const t0 = performance.now();
  for (let written = 0; written < events; written += perBatch) {
    await handle.db.transaction((tx) =>
      recordChanges(
        tx,
        Array.from({ length: Math.min(perBatch, events - written) }, () => ({
          type: 'GOLDEN_RECORD_CHANGED' as const,
          actor: 'bench',
          data: { fields: ['familyName'] },
        })),
      ),
    );
  }
  const outboxSeconds = (performance.now() - t0) / 1000;
  await handle.db.execute(sql`delete from change_events where actor = 'bench'`);
  lines.push(
    `stored index ${base.toLocaleString('en-US')} records; backlog ${backlog} records -> ${events} events (${(events / backlog).toFixed(1)} per record)`,
    `  outbox writes  ${f(outboxSeconds * 1000)} ms of ${f(ingestSeconds * 1000)} ms batch ingest = ${f((100 * outboxSeconds) / ingestSeconds)} % of ingest time`,
  );

  // 2. Dispatcher throughput: publishing the backlog (positions handed out, head advanced).
  const t1 = performance.now();
  services.events.start();
  while (services.events.dispatcher.headPosition < events) await sleep(5);
  const publishSeconds = (performance.now() - t1) / 1000;
  lines.push(
    `  dispatcher     ${(events / publishSeconds).toFixed(0)} events/s published from the backlog (${events} events, poll ${config.MPI_EVENTS_POLL_MS} ms)`,
  );

  // 3. End-to-end latency at a paced ingest: commit -> webhook receipt, commit -> subscription message.
  const hook = await receiver();
  await services.events.webhooks.register({ url: hook.url, eventTypes: ['RECORD_LINKED'] }, 'bench');
  const sub = await subscribe(yoga);
  await sleep(500);
  const live = rows.slice(base + backlog, base + backlog + records);
  const run = await pacedIngest(yoga, live, rate, '-live');
  await sleep(2000);
  const webhook = delays(run.committed, hook.arrived);
  const subscription = delays(run.committed, sub.arrived);
  await sub.close();
  hook.close();
  const dist = (d: { values: number[]; missing: number }) =>
    `p50 ${f(percentile(d.values, 50))} ms  p99 ${f(percentile(d.values, 99))} ms  (${d.values.length} events${d.missing ? `, ${d.missing} not received` : ''})`;
  lines.push(
    `paced ingest ${rate} records/s, ${records} records (poll ${config.MPI_EVENTS_POLL_MS} ms), commit to receipt of its RECORD_LINKED:`,
    `  webhook        ${dist(webhook)}`,
    `  subscription   ${dist(subscription)}`,
  );

  // 4. Ingest latency with a dead endpoint (nothing listens) against the run above, which had a live one.
  const dead = await receiver();
  dead.close();
  await services.events.webhooks.register({ url: dead.url }, 'bench');
  const deadRun = await pacedIngest(yoga, rows.slice(base + backlog + records, base + backlog + 2 * records), rate, '-dead');
  lines.push(
    `  ingestRecord   p50 ${f(percentile(run.latencies, 50))} ms  p99 ${f(percentile(run.latencies, 99))} ms with a live endpoint`,
    `  ingestRecord   p50 ${f(percentile(deadRun.latencies, 50))} ms  p99 ${f(percentile(deadRun.latencies, 99))} ms with a dead endpoint added`,
  );
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

/**
 * `npm run bench:nats`: records/s of JetStream ingest with 1, 2 and 3 server processes (replicas) consuming one
 * durable work queue on one PostgreSQL database. For each count a fresh database and subject prefix: the servers
 * start (one after the other, as each migrates), then N records of the synthetic registry are published to
 * `<prefix>.ingest.synth` as canonical JSON, and the clock runs from the first publish until N records are stored.
 * Usage: `npm run bench:nats -- --records 5000 --workers 1,2,3`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { connect } from 'nats';
import postgres from 'postgres';
import { ingestNames } from '../api/nats-ingest.ts';
import { readLoadRows } from '../cli/load.ts';
import { freshDatabase, machine, syntheticRegistry } from './support.ts';

const SERVER = fileURLToPath(new URL('../api/server.ts', import.meta.url));
const SOURCE = 'synth';

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one server process consuming the ingest queue; resolves once it answers /readyz. */
async function startServer(port: number, env: Record<string, string>, profile?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), '--import', 'tsx', SERVER], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', MPI_REPLICA_ID: `bench-nats-${port}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server on port ${port} exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`server on port ${port} did not become ready`);
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

interface Row {
  workers: number;
  records: number;
  seconds: number;
  stored: number;
  distinct: number;
  /** Match models the servers' lifecycle trained during the run (training and re-matching share the cores). */
  trained: number;
  load: string;
}

async function benchWorkers(
  workers: number,
  bodies: string[],
  opts: { nats: string; database: string; port: number; batch: string; profile?: string | undefined },
): Promise<Row> {
  const db = await freshDatabase(`${opts.database}_${workers}`);
  const prefix = `benchnats${randomBytes(4).toString('hex')}`;
  const env = {
    NODE_ENV: 'production',
    MPI_AUDIT_KEY: randomBytes(32).toString('base64'),
    // Production refuses to start without a key; the queue needs no caller, so this one is never used.
    MPI_BOOTSTRAP_ADMIN_KEY: `mpi_${randomBytes(24).toString('base64url')}`,
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    LOG_LEVEL: 'error',
    MPI_AUTO_REGISTER_SOURCES: 'true',
    MPI_NATS_URL: opts.nats,
    MPI_NATS_INGEST: 'true',
    MPI_NATS_INGEST_BATCH: opts.batch,
    MPI_NATS_SUBJECT_PREFIX: prefix,
  };
  const servers: ChildProcess[] = [];
  const nc = await connect({ servers: opts.nats });
  const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
  try {
    // One after the other: each migrates the database at start-up; the first creates the stream and consumer.
    for (let w = 0; w < workers; w++) servers.push(await startServer(opts.port + w, env, opts.profile));
    const js = nc.jetstream();
    const subject = ingestNames(prefix).subject(SOURCE);
    const before = loadAverage();
    const started = performance.now();
    // Published in slices, each acknowledged by JetStream before the next (the publisher is not the bottleneck).
    for (let start = 0; start < bodies.length; start += 200)
      await Promise.all(bodies.slice(start, start + 200).map((body) => js.publish(subject, body)));
    let stored = 0;
    while (stored < bodies.length) {
      await sleep(100);
      const [row] = await sql<Array<{ stored: number }>>`select count(*)::int as stored from source_records`;
      stored = row!.stored;
      if (performance.now() - started > 900_000) throw new Error(`only ${stored} of ${bodies.length} records stored after 15 minutes`);
    }
    const seconds = (performance.now() - started) / 1000;
    const [row] = await sql<Array<{ distinct: number }>>`select count(distinct (source_id, local_id))::int as distinct from source_records`;
    const [models] = await sql<Array<{ trained: number }>>`select count(*)::int as trained from match_model_events where type = 'TRAINED'`;
    return {
      workers,
      records: bodies.length,
      seconds,
      stored,
      distinct: row!.distinct,
      trained: models!.trained,
      load: `${before} / ${loadAverage()}`,
    };
  } finally {
    await Promise.all(servers.map(stopServer));
    await sql.end();
    const jsm = await nc.jetstreamManager();
    const names = ingestNames(prefix);
    for (const stream of [names.stream, names.deadStream]) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const opts = new Command('bench:nats')
    .option('--records <n>', 'records published per run', '5000')
    .option('--workers <list>', 'comma-separated numbers of server processes consuming', '1,2,3')
    .option('--file <csv>', 'records to publish (a synthetic registry file; default: one of --records records, generated if missing)')
    .option('--batch <n>', 'MPI_NATS_INGEST_BATCH of each server', '200')
    .option('--nats <url>', 'NATS server', 'nats://127.0.0.1:4222')
    .option('--port <n>', 'first port of the servers this benchmark starts (127.0.0.1)', '4310')
    .option('--database <prefix>', 'name prefix of the databases this benchmark creates and drops', 'bench_nats')
    .option('--profile <dir>', 'write a V8 CPU profile of each server process into this folder')
    .parse()
    .opts<{
      records: string;
      workers: string;
      file?: string;
      batch: string;
      nats: string;
      port: string;
      database: string;
      profile?: string;
    }>();
  const file = opts.file ?? syntheticRegistry(Number(opts.records)).csv;
  const { rows } = await readLoadRows([{ source: SOURCE, files: [file] }], { warn: () => undefined });
  const bodies = rows.slice(0, Number(opts.records)).map(({ input }) => {
    const { source: _source, ...body } = input;
    return JSON.stringify(body);
  });
  const results: Row[] = [];
  for (const workers of opts.workers.split(',').map(Number))
    results.push(
      await benchWorkers(workers, bodies, {
        nats: opts.nats,
        database: opts.database,
        port: Number(opts.port),
        batch: opts.batch,
        profile: opts.profile,
      }),
    );
  console.log(`${machine()}, PostgreSQL and NATS on this host; load average (1, 5, 15 min) before / after each run`);
  console.log('workers  records  seconds  records/s  stored  distinct  trained  load');
  for (const r of results)
    console.log(
      [
        String(r.workers).padStart(7),
        String(r.records).padStart(8),
        r.seconds.toFixed(1).padStart(8),
        Math.round(r.records / r.seconds)
          .toString()
          .padStart(10),
        String(r.stored).padStart(7),
        String(r.distinct).padStart(9),
        String(r.trained).padStart(8),
        ` ${r.load}`,
      ].join(' '),
    );
}

await main();

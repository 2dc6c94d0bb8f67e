/**
 * `npm run bench:load`: records/s of `mpi load` on PostgreSQL, into an empty index and into one that already
 * holds as many records. The synthetic registry of 2N records is split in two files of N rows: the first is
 * loaded into a fresh database, the second on top of it. Usage: `npm run bench:load -- --sizes 100000,1000000`.
 *
 * `--online R` measures what a load does to online callers instead of timing the second file in this process: once
 * the first file is loaded, a server is started on the database, and a client sends R single-record
 * `ingestRecord` calls a second (open loop, each timed from when it was due) for `--online-seconds` with nothing
 * else running (after 5 s of untimed calls that warm the server up), then again while `mpi load` loads the second file as its own process; the calls send the same
 * people as the second file (`--online-people other`: people of another registry), from a source of their own. It prints the latencies of both phases.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { availableParallelism, loadavg } from 'node:os';
import { Command, Option } from 'commander';
import { readLoadRows, runLoad } from '../cli/load.ts';
import { ephemeralAuditKeyring, useAuditKeyring } from '../platform/audit-keys.ts';
import { openDatabase } from '../platform/db/client.ts';
import { latencyCells, onlineIngest, startServer, stopServer } from './online-client.ts';
import { BENCH_OUT, OTHER_REGISTRY_SEED, freshDatabase, machine, syntheticRegistry } from './support.ts';

useAuditKeyring(ephemeralAuditKeyring());

interface Row {
  records: number;
  into: string;
  threads: number;
  seconds: number;
  phases: string;
  nodeCpu: number;
  serverCpu: number | null;
  recordsPerSecond: number;
  chunks: number;
  created: number;
  linked: number;
  review: number;
  peakMb: number;
  databaseMb: number;
  load: string;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Size of the benchmark's database after the last run, in MB. */
let databaseMb = 0;

/**
 * CPU seconds the server's backends of one database have used so far (from /proc, when the server runs on this
 * machine and its processes are readable; else null). On a shared machine the wall clock mostly measures
 * waiting for a core: CPU seconds say what the work itself cost.
 */
async function serverCpu(url: string): Promise<number | null> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const [size] = await sql<{ mb: number }[]>`select (pg_database_size(current_database()) / 1048576)::int as mb`;
    databaseMb = size!.mb;
    const rows = await sql<
      { pid: number }[]
    >`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    let ticks = 0;
    for (const { pid } of rows) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100;
  } catch {
    return null;
  } finally {
    await sql.end();
  }
}

/** The registry of 2N records as two files of N rows each (same header). */
/** Written once and reused, so a timed run neither generates nor holds the whole registry (peak RSS is the load's). */
function halves(records: number): [string, string] {
  const first = `${BENCH_OUT}load-${records}-a.csv`;
  const second = `${BENCH_OUT}load-${records}-b.csv`;
  if (existsSync(first) && existsSync(second)) return [first, second];
  const { csv } = syntheticRegistry(records * 2);
  const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
  writeFileSync(first, `${[lines[0], ...lines.slice(1, records + 1)].join('\n')}\n`);
  writeFileSync(second, `${[lines[0], ...lines.slice(records + 1)].join('\n')}\n`);
  return [first, second];
}

/** Latencies (ms) of online single-record ingests with nothing else running and while a load runs. */
interface Online {
  records: number;
  rate: number;
  idle: number[];
  loading: number[];
  failed: number;
  /** The slowest calls during the load, with when they were due. */
  slowest: string;
  /** Seconds the load took, as its own summary says. */
  loadSeconds: number;
  load: string;
}

const MPI = fileURLToPath(new URL('../cli/mpi.js', import.meta.url));
/**
 * Whom the online calls beside a load are about: `load`, the people of the file being loaded (each call waits for
 * the chunk that writes its patient, since one patient must end with one identity); `other`, people of another
 * registry (`OTHER_REGISTRY_SEED`), who share a blocking key with the load only by chance, as most online traffic would.
 */
type OnlinePeople = 'load' | 'other';
/** Most people the online calls are about (the calls go round them). */
const ONLINE_PEOPLE = 20_000;
const ONLINE_SOURCE = 'clinic';

/**
 * Times online ingest against a server on `url` (whose index holds the first file): `seconds` alone, then while
 * `mpi load` loads `file` in a process of its own.
 */
async function onlineBesideLoad(
  url: string,
  file: string,
  opts: { rate: number; seconds: number; port: number; records: number; giveWay: string | undefined; people: OnlinePeople },
) {
  const adminKey = `mpi_${randomBytes(24).toString('base64url')}`;
  const env = {
    NODE_ENV: 'production',
    MPI_AUDIT_KEY: randomBytes(32).toString('base64'),
    MPI_BOOTSTRAP_ADMIN_KEY: adminKey,
    // The client's calls measure latency, not the limiter.
    MPI_RATE_LIMIT_PER_MINUTE: '0',
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: '4',
    LOG_LEVEL: 'error',
    MPI_AUTO_REGISTER_SOURCES: 'true',
    // No model lifecycle: its training would share the cores with the timed calls of one phase and not the other.
    MPI_MODEL_TRAIN_AFTER: '0',
  };
  // The people of the file the load brings (or of a registry of other people), sent online from a source of their own.
  const from = opts.people === 'load' ? file : syntheticRegistry(ONLINE_PEOPLE, OTHER_REGISTRY_SEED).csv;
  const people = (await readLoadRows([{ source: ONLINE_SOURCE, files: [from] }], { warn: () => undefined })).rows
    .slice(0, ONLINE_PEOPLE)
    .map(({ input }, i) => ({ ...input, localId: `C-${i}` }) as Record<string, unknown>);
  const server = await startServer(opts.port, env);
  try {
    const target = `http://127.0.0.1:${opts.port}`;
    // Untimed: a server's first calls compile its code and open its connections.
    const warm = await onlineIngest(target, adminKey, people, 0, opts.rate, { seconds: 5 });
    const idle = await onlineIngest(target, adminKey, people, warm.sent, opts.rate, { seconds: opts.seconds });
    const before = loadAverage();
    const giveWay = opts.giveWay === undefined ? [] : ['--give-way-chunk-size', opts.giveWay];
    const child = spawn(process.execPath, [MPI, 'load', '--source', 'synth', file, ...giveWay], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
    const loading = await onlineIngest(target, adminKey, people, warm.sent + idle.sent, opts.rate, { until: exited });
    const code = await exited;
    const seconds = /loaded \d+ rows in ([\d.]+) s/.exec(output);
    if (code > 1 || !seconds) throw new Error(`mpi load failed (exit ${code}):\n${output.slice(-2000)}`);
    return {
      records: opts.records,
      rate: opts.rate,
      idle: idle.latencies,
      loading: loading.latencies,
      failed: idle.failed + loading.failed,
      slowest: loading.slowest,
      loadSeconds: Number(seconds[1]),
      load: `${before} / ${loadAverage()}`,
    } satisfies Online;
  } finally {
    await stopServer(server);
  }
}

interface BenchOptions {
  chunkSize: number | undefined;
  threads: number;
  /** Prefix of the benchmark database's name (several benchmarks may share the server). */
  database: string;
  /** Whether to load the second file on top of the first. */
  both: boolean;
  /** Rows per window (default: the load default). */
  window: number | undefined;
  /** Online calls a second beside the second file's load (0: time the second load here instead). */
  online: { rate: number; seconds: number; port: number; giveWay: string | undefined; people: OnlinePeople };
}

const onlineResults: Online[] = [];

async function benchSize(records: number, { chunkSize, threads, database: prefix, both, window, online }: BenchOptions): Promise<Row[]> {
  const [first, second] = halves(records);
  const { url, drop } = await freshDatabase(prefix);
  const database = await openDatabase({ url, poolSize: 4 });
  // The pool's connections live as long as the database handle: their CPU grows from run to run.
  let serverBefore = 0;
  const rows: Row[] = [];
  try {
    const runs = [
      [first, 'empty index'],
      [second, `index of ${records}`],
    ] as const;
    for (const [file, into] of runs.slice(0, both && online.rate === 0 ? 2 : 1)) {
      const before = loadAverage();
      const cpu = process.cpuUsage();
      const summary = await runLoad({ MPI_AUTO_REGISTER_SOURCES: true }, database, [{ source: 'synth', files: [file] }], {
        chunkSize,
        window,
        threads,
        warn: () => undefined,
        onProgress: (stage, done, total) => {
          if (stage === 'load') process.stderr.write(`  ${into}: ${done}/${total}\r`);
        },
      });
      process.stderr.write('\n');
      const used = process.cpuUsage(cpu);
      const server = await serverCpu(url);
      rows.push({
        records,
        into,
        threads,
        seconds: summary.seconds,
        phases: (['read', 'check', 'plan', 'write'] as const).map((p) => summary.phases[p].toFixed(0)).join('/'),
        nodeCpu: (used.user + used.system) / 1e6,
        serverCpu: server === null ? null : server - serverBefore,
        recordsPerSecond: summary.rows / summary.seconds,
        chunks: summary.chunks,
        created: summary.created,
        linked: summary.linked,
        review: summary.review,
        peakMb: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
        databaseMb,
        load: `${before} / ${loadAverage()}`,
      });
      serverBefore = server ?? 0;
    }
    if (online.rate > 0) onlineResults.push(await onlineBesideLoad(url, second, { ...online, records }));
  } finally {
    await database.close();
    await drop();
  }
  return rows;
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--sizes <list>', 'comma-separated record counts per file', '100000')
    .option('--chunk-size <n>', 'records per transaction (default: the load default)')
    .option('--window <n>', 'rows planned and written together (default: the load default)')
    .option('--threads <list>', 'comma-separated thread counts (default: one per core)')
    .option('--database <prefix>', "prefix of the benchmark database's name", 'bench_load')
    .option('--empty-only', 'load the first file into the empty index only')
    .option('--generate-only', 'write the input files and stop (generate before a timed run)')
    .option('--online <rate>', 'time single-record ingestRecord calls a second, alone and while the second file loads', '0')
    .option('--online-seconds <n>', 'seconds of online calls with nothing else running', '15')
    .option('--port <n>', "the online server's port", '4330')
    .option('--give-way-chunk-size <n>', "mpi load's --give-way-chunk-size beside online calls (default: the load's)")
    .addOption(
      new Option('--online-people <who>', 'whom the online calls are about: the people being loaded, or other people')
        .choices(['load', 'other'])
        .default('load'),
    )
    .parse()
    .opts<{
      sizes: string;
      chunkSize?: string;
      window?: string;
      threads?: string;
      database: string;
      emptyOnly?: boolean;
      generateOnly?: boolean;
      online: string;
      onlineSeconds: string;
      port: string;
      giveWayChunkSize?: string;
      onlinePeople: OnlinePeople;
    }>();
  const online = {
    rate: Number(opts.online),
    seconds: Number(opts.onlineSeconds),
    port: Number(opts.port),
    giveWay: opts.giveWayChunkSize,
    people: opts.onlinePeople,
  };
  const chunkSize = opts.chunkSize ? Number(opts.chunkSize) : undefined;
  const sizes = opts.sizes.split(',').map(Number);
  if (opts.generateOnly) {
    for (const size of sizes) console.log(halves(size).join('\n'));
    return;
  }
  const rows: Row[] = [];
  const threadCounts = (opts.threads ?? String(availableParallelism())).split(',').map(Number);
  for (const size of sizes)
    for (const threads of threadCounts)
      rows.push(
        ...(await benchSize(size, {
          chunkSize,
          threads,
          database: opts.database,
          both: !opts.emptyOnly,
          window: opts.window ? Number(opts.window) : undefined,
          online,
        })),
      );
  console.log(`${machine()}, ${availableParallelism()} cores, PostgreSQL; load average (1, 5, 15 min) before / after each run`);
  console.log('seconds per stage: read/check/plan/write; CPU s: this process (all its threads) and the server backends');
  console.log(
    'records  into               threads  seconds  read/check/plan/write  CPU s node  CPU s server  records/s  chunks  created   linked  review  peak RSS MB  database MB  load',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        ` ${r.into.padEnd(17)}`,
        String(r.threads).padStart(8),
        r.seconds.toFixed(1).padStart(8),
        r.phases.padStart(22),
        r.nodeCpu.toFixed(1).padStart(11),
        (r.serverCpu === null ? '-' : r.serverCpu.toFixed(1)).padStart(13),
        Math.round(r.recordsPerSecond).toString().padStart(10),
        String(r.chunks).padStart(7),
        String(r.created).padStart(8),
        String(r.linked).padStart(8),
        String(r.review).padStart(7),
        String(r.peakMb).padStart(12),
        String(r.databaseMb).padStart(12),
        ` ${r.load}`,
      ].join(' '),
    );
  }
  if (onlineResults.length > 0) {
    console.log(`\nonline ingestRecord latency (ms), alone / while mpi load loads the second file`);
    console.log(
      'records  rate/s  calls alone  p50 alone  p99 alone  calls loading  p50 loading  p99 loading  p99 change  failed  load s  load',
    );
    for (const o of onlineResults) {
      console.log(
        [
          String(o.records).padStart(7),
          String(o.rate).padStart(7),
          ...latencyCells(o.idle, o.loading, [12, 10, 10, 14, 12, 12, 11]),
          String(o.failed).padStart(7),
          o.loadSeconds.toFixed(1).padStart(7),
          ` ${o.load}`,
        ].join(' '),
      );
    }
    for (const o of onlineResults) console.log(`slowest while loading (${o.records}): ${o.slowest}`);
  }
}

await main();

/**
 * `npm run bench:nats`: records/s of JetStream ingest with 1, 2 and 3 server processes (replicas) consuming one
 * durable work queue on one PostgreSQL database. For each count a fresh database and subject prefix: the servers
 * start (one after the other, as each migrates), then N records of the synthetic registry are published to
 * `<prefix>.ingest.synth` as canonical JSON, and the clock runs from the first publish until N records are stored.
 * Usage: `npm run bench:nats -- --records 5000 --workers 1,2,3`.
 *
 * `--online R` also measures what a backlog does to online callers: once the first N records are stored, a client
 * sends R single-record `ingestRecord` calls a second (open loop: each timed from when it was due) to the first
 * server for `--online-seconds` with the queue empty, then again while N more records (the same people under new
 * local ids, as a second feed), published just before, drain; and prints the latencies of both.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Command, Option } from 'commander';
import { connect, type JetStreamClient } from 'nats';
import postgres from 'postgres';
import { INGEST_CONSUMER, ingestNames } from '../api/nats-ingest.ts';
import { readLoadRows } from '../cli/load.ts';
import { demographics, US_SSN_SYSTEM, type RecordInput } from '../interop/index.ts';
import { adtUpsert } from '../interop/testing/hl7-samples.ts';
import { latencyCells, onlineIngest, sleep, startServer, stopServer } from './online-client.ts';
import { freshDatabase, machine, syntheticRegistry } from './support.ts';

const SOURCE = 'synth';
/** The identifier system of the source, for `--format fhir` (a Patient names its record by it). */
const SOURCE_SYSTEM = 'urn:mpi:bench:synth';
const FORMATS = ['json', 'fhir', 'hl7'] as const;
type Format = (typeof FORMATS)[number];

/** One record as the message body of `format`: canonical JSON, a FHIR R4 Patient or an HL7 v2 ADT^A04. */
function bodyOf(input: Record<string, unknown>, format: Format): string {
  const { source: _source, ...record } = input;
  const v = (field: string) => (typeof record[field] === 'string' && record[field] !== '' ? (record[field] as string) : undefined);
  if (format === 'json') return JSON.stringify(record);
  // The registry writes sex in several ways (M, male, f, …); HL7 and FHIR take codes: M or F, else nothing.
  const sex = { m: 'M', f: 'F' }[(v('sex') ?? '').trim().charAt(0).toLowerCase()];
  if (format === 'hl7') {
    const sample = {
      mrn: String(record.localId),
      authority: SOURCE,
      family: v('familyName') ?? '',
      given: v('givenName') ?? '',
      birth: (v('birthDate') ?? '').replace(/-/g, ''),
      sex: sex ?? '',
      street: v('addressLine1') ?? '',
      city: v('city') ?? '',
      state: v('state') ?? '',
      zip: v('postalCode') ?? '',
      phone: v('phone') ?? '',
    };
    return adtUpsert('A04', sample, `B-${String(record.localId)}`);
  }
  // The Patient the FHIR API would give for this record (`demographics`), named by the source's identifier.
  return JSON.stringify({
    resourceType: 'Patient',
    identifier: [{ system: SOURCE_SYSTEM, value: record.localId }, ...(v('ssn') ? [{ system: US_SSN_SYSTEM, value: v('ssn') }] : [])],
    ...demographics({ ...(record as RecordInput), sex: sex ?? null }),
  });
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const ONLINE_SOURCE = 'clinic';
/** Latencies (ms) of online single-record ingests, by phase. */
interface Online {
  rate: number;
  idle: number[];
  draining: number[];
  failed: number;
  /** The slowest calls while draining, with when they were due (seconds after the online calls started). */
  slowest: string;
}

interface Row {
  workers: number;
  online?: Online;
  records: number;
  seconds: number;
  stored: number;
  distinct: number;
  /** Match models the servers' lifecycle trained during the run (training and re-matching share the cores). */
  trained: number;
  load: string;
}

/** Publishes `bodies` in slices, each acknowledged by JetStream before the next (the publisher is not the bottleneck). */
async function publishAll(js: JetStreamClient, subject: string, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 200)
    await Promise.all(bodies.slice(start, start + 200).map((body) => js.publish(subject, body)));
}

/** Resolves once `count` records of the published source are stored. */
async function storedAtLeast(sql: postgres.Sql, count: number, since: number): Promise<void> {
  for (;;) {
    const [row] = await sql<Array<{ stored: number }>>`select count(*)::int as stored from source_records r
      join sources s on s.id = r.source_id where s.code = ${SOURCE}`;
    if (row!.stored >= count) return;
    if (performance.now() - since > 900_000) throw new Error(`only ${row!.stored} of ${count} records stored after 15 minutes`);
    await sleep(100);
  }
}

async function benchWorkers(
  workers: number,
  bodies: string[],
  opts: {
    nats: string;
    database: string;
    port: number;
    batch: string;
    profile?: string | undefined;
    online: number;
    onlineSeconds: number;
    onlineRecords: Array<Record<string, unknown>>;
  },
): Promise<Row> {
  const db = await freshDatabase(`${opts.database}_${workers}`);
  const prefix = `benchnats${randomBytes(4).toString('hex')}`;
  const adminKey = `mpi_${randomBytes(24).toString('base64url')}`;
  const env = {
    NODE_ENV: 'production',
    MPI_AUDIT_KEY: randomBytes(32).toString('base64'),
    // Production refuses to start without a key; the queue needs no caller, only `--online` uses it.
    MPI_BOOTSTRAP_ADMIN_KEY: adminKey,
    // The online client's calls measure latency, not the limiter.
    MPI_RATE_LIMIT_PER_MINUTE: '0',
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
    // Ready is not the same as consuming: the first server creates the stream and its consumer in the background.
    const jsm = await nc.jetstreamManager();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await jsm.consumers.info(ingestNames(prefix).stream, INGEST_CONSUMER).then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the servers created no ingest consumer within 60 s');
      await sleep(100);
    }
    // The source, with the identifier system a FHIR Patient names its record by (the servers may not have it yet).
    await sql`insert into sources (code, name, system) values (${SOURCE}, ${SOURCE}, ${SOURCE_SYSTEM})
      on conflict (code) do update set system = excluded.system`;
    const js = nc.jetstream();
    const subject = ingestNames(prefix).subject(SOURCE);
    const before = loadAverage();
    const started = performance.now();
    await publishAll(js, subject, bodies);
    await storedAtLeast(sql, bodies.length, started);
    const seconds = (performance.now() - started) / 1000;
    const after = loadAverage();
    const [row] = await sql<Array<{ stored: number; distinct: number }>>`select count(*)::int as stored,
      count(distinct (r.source_id, r.local_id))::int as distinct from source_records r join sources s on s.id = r.source_id
      where s.code = ${SOURCE}`;
    const [models] = await sql<Array<{ trained: number }>>`select count(*)::int as trained from match_model_events where type = 'TRAINED'`;
    let online: Online | undefined;
    if (opts.online > 0) {
      const url = `http://127.0.0.1:${opts.port}`;
      const idle = await onlineIngest(url, adminKey, opts.onlineRecords, 0, opts.online, { seconds: opts.onlineSeconds });
      // The same people again under new local ids, as a second feed: a backlog of N records to drain.
      const second = bodies.map((body) => {
        const record = JSON.parse(body) as { localId: string };
        return JSON.stringify({ ...record, localId: `${record.localId}-2` });
      });
      // Published first: the publishing loop shares this process with the online client, whose clock it would delay.
      const drainStarted = performance.now();
      await publishAll(js, subject, second);
      const drained = storedAtLeast(sql, 2 * bodies.length, drainStarted);
      const draining = await onlineIngest(url, adminKey, opts.onlineRecords, idle.sent, opts.online, { until: drained });
      await drained;
      online = {
        rate: opts.online,
        idle: idle.latencies,
        draining: draining.latencies,
        failed: idle.failed + draining.failed,
        slowest: draining.slowest,
      };
    }
    return {
      workers,
      records: bodies.length,
      seconds,
      stored: row!.stored,
      distinct: row!.distinct,
      trained: models!.trained,
      load: `${before} / ${after}`,
      ...(online ? { online } : {}),
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
    .option('--online <rate>', 'also time single-record ingestRecord calls a second, with the queue empty and while a backlog drains', '0')
    .option('--online-seconds <n>', 'seconds of online calls with the queue empty', '15')
    .addOption(
      new Option('--format <format>', 'message body: canonical JSON, a FHIR R4 Patient or an HL7 v2 ADT^A04')
        .choices(FORMATS)
        .default('json'),
    )
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
      online: string;
      onlineSeconds: string;
      format: Format;
    }>();
  if (opts.format !== 'json' && Number(opts.online) > 0)
    throw new Error('--online publishes its second feed as canonical JSON: use it with --format json');
  const file = opts.file ?? syntheticRegistry(Number(opts.records)).csv;
  const { rows } = await readLoadRows([{ source: SOURCE, files: [file] }], { warn: () => undefined });
  const bodies = rows.slice(0, Number(opts.records)).map(({ input }) => bodyOf(input as unknown as Record<string, unknown>, opts.format));
  // Online callers send the same people from a source of their own.
  const onlineRecords = rows
    .slice(0, Number(opts.records))
    .map(({ input }, i) => ({ ...input, source: ONLINE_SOURCE, localId: `C-${i}` }) as Record<string, unknown>);
  const results: Row[] = [];
  for (const workers of opts.workers.split(',').map(Number))
    results.push(
      await benchWorkers(workers, bodies, {
        nats: opts.nats,
        database: opts.database,
        port: Number(opts.port),
        batch: opts.batch,
        profile: opts.profile,
        online: Number(opts.online),
        onlineSeconds: Number(opts.onlineSeconds),
        onlineRecords,
      }),
    );
  console.log(`${machine()}, PostgreSQL and NATS on this host, ${opts.format} bodies; load average (1, 5, 15 min) before / after each run`);
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
  const online = results.filter((r) => r.online);
  if (online.length > 0) {
    console.log('\nonline ingestRecord latency (ms), queue empty / while a backlog of the same size drains');
    console.log('workers  rate/s  calls idle  p50 idle  p99 idle  calls draining  p50 draining  p99 draining  p99 change  failed');
    for (const r of online) {
      const o = r.online!;
      console.log(
        [
          String(r.workers).padStart(7),
          String(o.rate).padStart(7),
          ...latencyCells(o.idle, o.draining, [11, 9, 9, 15, 13, 13, 11]),
          String(o.failed).padStart(7),
        ].join(' '),
      );
    }
    for (const r of online) console.log(`slowest while draining (${r.workers} workers): ${r.online!.slowest}`);
  }
}

await main();

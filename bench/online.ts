// Online identity-service benchmark: with N records already stored in PostgreSQL, measures single-record
// ingest latency, `match` latency and batch ingest throughput through the GraphQL API (in-process).
//   npm run bench:online -- --sizes 100000,1000000 --sample 1000 --batch-records 5000
// Seeding is slow and not what is measured: `--seed-only --tag T` seeds a kept template database per size, and a
// later run with the same `--tag` copies that template (CREATE DATABASE ... TEMPLATE) instead of seeding, so
// every measurement starts from the same stored index and the seeding can run apart from the measurement.
import { Command } from 'commander';
import postgres from 'postgres';
import { createServices } from '../api/services.ts';
import { buildYoga, type MpiYoga } from '../api/yoga.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { FIELDS, readRows, seed, type Row } from './seed.ts';
import { freshDatabase, machine, percentile, PG_ADMIN_URL, syntheticRegistry } from './support.ts';

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome identity { id } } }';
const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { outcome } }';
const MATCH = 'query($input: RecordFieldsInput!) { match(input: $input, count: 5) { probability grade identity { id } } }';

async function call(yoga: MpiYoga, query: string, variables: unknown): Promise<void> {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors).slice(0, 300)}`);
}

function asInput(r: Row, suffix = ''): Record<string, string | null> {
  return { source: r.source!, localId: `${r.record_id}${suffix}`, ...fieldsOf(r) };
}

function fieldsOf(r: Row): Record<string, string | null> {
  return Object.fromEntries(FIELDS.map((f) => [f, r[f] ? r[f] : null]));
}

/** The server settings that decide how much of a large index stays in memory and how often pages are rewritten. */
async function serverSettings(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const rows =
      await sql`select name, current_setting(name) as value from pg_settings where name in ('server_version', 'shared_buffers', 'max_wal_size') order by name`;
    return rows.map((r) => `${r.name as string}=${r.value as string}`).join(', ');
  } finally {
    await sql.end();
  }
}

async function timeEach(items: Row[], run: (r: Row) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (const r of items) {
    const t = performance.now();
    await run(r);
    times.push(performance.now() - t);
  }
  return times;
}

interface SizeOptions {
  sample: number;
  batchRecords: number;
  tag: string | undefined;
  seedOnly: boolean;
}

/** Name of the kept, seeded template for one size and hold-out (the held-out rows decide what is seeded). */
function templateName(size: number, o: SizeOptions): string {
  return `mpi_bench_online_${size}_${o.sample}_${o.batchRecords}_${o.tag}`;
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => undefined });
  try {
    return (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
  } finally {
    await admin.end();
  }
}

async function benchSize(size: number, o: SizeOptions): Promise<string[]> {
  const { sample, batchRecords } = o;
  const { csv, truth } = syntheticRegistry(size);
  const rows = await readRows(csv);
  const truthMap = new Map((await readRows(truth)).map((t) => [t.record_id!, t.cluster_id!]));
  const held = rows.splice(rows.length - (sample * 2 + batchRecords), sample * 2 + batchRecords);
  const template = o.tag ? templateName(size, o) : undefined;
  if (o.seedOnly) {
    if (!template) throw new Error('--seed-only needs --tag');
    const db = await freshDatabase(template, { exact: true });
    await (await openDatabase({ url: db.url, poolSize: 1 })).close();
    const seedStart = performance.now();
    process.stderr.write(`seeding ${rows.length} records into template ${template}...\n`);
    await seed(db.url, rows, truthMap);
    return [`${size.toLocaleString('en-US')} seeded into ${template} in ${((performance.now() - seedStart) / 1000).toFixed(0)} s`];
  }
  const fromTemplate = template !== undefined && (await databaseExists(template));
  const db = await freshDatabase(`mpi_bench_online_${size}${o.tag ? `_${o.tag}` : ''}`, fromTemplate ? { template } : {});
  try {
    const handle = await openDatabase({ url: db.url, poolSize: 8 });
    const seedStart = performance.now();
    if (!fromTemplate) {
      process.stderr.write(`seeding ${rows.length} records into PostgreSQL...\n`);
      await seed(db.url, rows, truthMap);
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const settings = await serverSettings(db.url);
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: db.url });
    const yoga = buildYoga(createServices(config, handle, createLogger('silent')), { localMode: true });
    const [single, matchSet, batchSet] = [held.slice(0, sample), held.slice(sample, 2 * sample), held.slice(2 * sample)];
    await timeEach(single.slice(0, 50), (r) => call(yoga, MATCH, { input: fieldsOf(r) }));
    const ingestTimes = await timeEach(single, (r) => call(yoga, INGEST, { input: asInput(r) }));
    const matchTimes = await timeEach(matchSet, (r) => call(yoga, MATCH, { input: fieldsOf(r) }));
    const batchStart = performance.now();
    for (let i = 0; i < batchSet.length; i += 500)
      await call(yoga, INGEST_MANY, { input: batchSet.slice(i, i + 500).map((r) => asInput(r)) });
    const batchRate = batchSet.length / ((performance.now() - batchStart) / 1000);
    await handle.close();
    const f = (n: number) => n.toFixed(1);
    return [
      `${size.toLocaleString('en-US')} stored (${fromTemplate ? `copied from ${template}` : 'seeded'} in ${seedSeconds.toFixed(0)} s; PostgreSQL ${settings})`,
      `  ingestRecord  p50 ${f(percentile(ingestTimes, 50))} ms  p95 ${f(percentile(ingestTimes, 95))} ms  p99 ${f(percentile(ingestTimes, 99))} ms  (${sample} calls)`,
      `  match         p50 ${f(percentile(matchTimes, 50))} ms  p95 ${f(percentile(matchTimes, 95))} ms  p99 ${f(percentile(matchTimes, 99))} ms  (${sample} calls)`,
      `  ingestRecords ${batchRate.toFixed(0)} records/s  (${batchSet.length} records in batches of 500)`,
    ];
  } finally {
    await db.drop();
  }
}

const program = new Command('bench:online')
  .option('--sizes <list>', 'stored record counts, comma-separated', '100000,1000000')
  .option('--sample <n>', 'calls measured per operation', '1000')
  .option('--batch-records <n>', 'records ingested through ingestRecords (in batches of 500)', '5000')
  .option('--tag <name>', 'names the databases; with a kept template of this tag, copy it instead of seeding')
  .option('--seed-only', 'seed and keep the template database of --tag for each size, measure nothing')
  .parse();
const opts = program.opts<{ sizes: string; sample: string; batchRecords: string; tag?: string; seedOnly?: boolean }>();
const sizeOptions: SizeOptions = {
  sample: Number(opts.sample),
  batchRecords: Number(opts.batchRecords),
  tag: opts.tag,
  seedOnly: opts.seedOnly === true,
};
const lines = [`online benchmark on PostgreSQL, ${machine()}, 2 cores`];
for (const size of opts.sizes.split(',').map(Number)) lines.push(...(await benchSize(size, sizeOptions)));
console.log(lines.join('\n'));

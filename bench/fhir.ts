// FHIR benchmark: with N source records already stored in PostgreSQL, measures Patient create, read, PDQm
// search, PIXm and $match latency through the HTTP handler (in-process, as the server serves it).
//   npm run bench:fhir -- --sizes 100000,1000000 --sample 500
// `--keep` keeps each seeded database (mpi_bench_fhir_r<size>, or `--database` for one size) and reuses it on the
// next run, so 1M records are seeded once (`--seed-only`, no timing) and measured later on a quiet machine.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Command } from 'commander';
import postgres from 'postgres';
import { createAuthenticator } from '../api/auth.ts';
import { createHttpHandler, type HttpHandler } from '../api/http.ts';
import { createServices } from '../api/services.ts';
import { buildYoga } from '../api/yoga.ts';
import { loadR4Definitions } from '../interop/index.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { readRows, seed, type Row } from './seed.ts';
import { freshDatabase, keptDatabase, machine, percentile, syntheticRegistry } from './support.ts';

const system = (source: string) => `urn:bench:${source}`;

function patientOf(r: Row, localId: string): Record<string, unknown> {
  const given = [r.givenName, r.middleName].filter((v) => v);
  return {
    resourceType: 'Patient',
    identifier: [{ system: system(r.source!), value: localId }],
    ...(r.familyName || given.length > 0
      ? { name: [{ use: 'official', ...(r.familyName ? { family: r.familyName } : {}), ...(given.length > 0 ? { given } : {}) }] }
      : {}),
    ...(r.sex === 'M' || r.sex === 'F' ? { gender: r.sex === 'M' ? 'male' : 'female' } : {}),
    ...(/^\d{4}-\d{2}-\d{2}$/.test(r.birthDate ?? '') ? { birthDate: r.birthDate } : {}),
    ...(r.phone ? { telecom: [{ system: 'phone', value: r.phone }] } : {}),
    ...(r.postalCode || r.city
      ? {
          address: [
            {
              ...(r.addressLine1 ? { line: [r.addressLine1] } : {}),
              ...(r.city ? { city: r.city } : {}),
              ...(r.state ? { state: r.state } : {}),
              ...(r.postalCode ? { postalCode: r.postalCode } : {}),
            },
          ],
        }
      : {}),
  };
}

/**
 * `--breakdown`: the spans each measured call produced (every SQL statement is a `db.<verb>` span, see
 * platform/db/client.ts; engine stages have their own), counted and timed per operation. Spans nest, so a stage's
 * time includes the statements it ran.
 */
class Breakdown implements SpanProcessor {
  operation: string | null = null;
  readonly spans = new Map<string, Map<string, { count: number; ms: number }>>();
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.operation === null) return;
    const byName = this.spans.get(this.operation) ?? new Map<string, { count: number; ms: number }>();
    this.spans.set(this.operation, byName);
    const entry = byName.get(span.name) ?? { count: 0, ms: 0 };
    entry.count += 1;
    entry.ms += span.duration[0] * 1000 + span.duration[1] / 1e6;
    byName.set(span.name, entry);
  }
  lines(operation: string, calls: number): string[] {
    const byName = [...(this.spans.get(operation) ?? new Map()).entries()].sort((a, b) => b[1].ms - a[1].ms);
    const statements = byName.filter(([name]) => name.startsWith('db.')).reduce((n, [, e]) => n + e.count, 0);
    return [
      `    ${(statements / calls).toFixed(1)} SQL statements per call`,
      ...byName.map(
        ([name, e]) =>
          `    ${name.padEnd(28)} ${(e.count / calls).toFixed(1).padStart(5)} per call  ${(e.ms / calls).toFixed(2)} ms per call`,
      ),
    ];
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let breakdown: Breakdown | null = null;

async function timed(operation: string, items: Row[], run: (r: Row) => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  if (breakdown) breakdown.operation = operation;
  for (const r of items) {
    const t = performance.now();
    const response = await run(r);
    await response.arrayBuffer();
    times.push(performance.now() - t);
    if (response.status >= 400) throw new Error(`HTTP ${response.status}`);
  }
  if (breakdown) breakdown.operation = null;
  return times;
}

/** The seeding time an earlier run recorded in a kept database, if one finished seeding it. */
async function fhirSeedSeconds(sql: postgres.Sql): Promise<number | undefined> {
  const [table] = await sql`select to_regclass('bench_fhir_state') is not null as present`;
  if (!table?.present) return undefined;
  const [row] = await sql`select seed_seconds from bench_fhir_state`;
  return row?.seed_seconds as number | undefined;
}

interface Options {
  sample: number;
  keep: boolean;
  database: string | undefined;
  seedOnly: boolean;
}

async function benchSize(size: number, opts: Options): Promise<string[]> {
  const { sample } = opts;
  const { csv, truth } = syntheticRegistry(size);
  const rows = await readRows(csv);
  const truthMap = new Map((await readRows(truth)).map((t) => [t.record_id!, t.cluster_id!]));
  const held = rows.splice(rows.length - sample, sample);
  const db = opts.keep
    ? await keptDatabase(opts.database ?? `mpi_bench_fhir_r${size}`, fhirSeedSeconds)
    : { ...(await freshDatabase(`mpi_bench_fhir_${size}`)), state: undefined };
  try {
    // Opening the database applies the migrations the seeding needs.
    const handle = await openDatabase({ url: db.url, poolSize: 8 });
    let seedSeconds = db.state;
    if (seedSeconds === undefined) {
      process.stderr.write(`seeding ${rows.length} records into PostgreSQL...\n`);
      const seedStart = performance.now();
      await seed(db.url, rows, truthMap);
      seedSeconds = (performance.now() - seedStart) / 1000;
      const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
      await admin`update sources set system = 'urn:bench:' || code`;
      await admin`analyze`;
      if (opts.keep) {
        await admin`create table bench_fhir_state (seed_seconds real not null)`;
        await admin`insert into bench_fhir_state values (${seedSeconds})`;
      }
      await admin.end();
    } else {
      process.stderr.write(`reusing ${new URL(db.url).pathname.slice(1)}, seeded earlier\n`);
    }
    if (opts.seedOnly) {
      await handle.close();
      return [`${rows.length.toLocaleString('en-US')} source records seeded in ${seedSeconds.toFixed(0)} s (nothing measured)`];
    }
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: db.url });
    const services = createServices(config, handle, createLogger('silent'));
    const http: HttpHandler = createHttpHandler({
      yoga: buildYoga(services, { localMode: true }),
      services,
      authenticate: createAuthenticator(services, { localMode: true }),
    });
    loadR4Definitions();
    const fetch = (path: string, init: RequestInit = {}) =>
      http(
        new Request(`http://localhost/fhir${path}`, { ...init, headers: { 'content-type': 'application/fhir+json', ...init.headers } }),
        { clientAddress: '127.0.0.1' },
      );
    const stored = rows.filter((r) => r.familyName && /^\d{4}-\d{2}-\d{2}$/.test(r.birthDate ?? '')).slice(0, sample);

    const ids: string[] = [];
    // Local ids unique to this run, so creates in a kept database are creates again on the next run.
    const run = Date.now().toString(36);
    const create = await timed('create', held, async (r) => {
      const response = await fetch('/Patient', { method: 'POST', body: JSON.stringify(patientOf(r, `fhir-${run}-${r.record_id}`)) });
      ids.push(response.headers.get('x-mpi-record-id') ?? '');
      return response;
    });
    let i = 0;
    const read = await timed('read', held, () => fetch(`/Patient/${ids[i++]}`));
    const search = await timed('PDQm search', stored, (r) =>
      fetch(`/Patient?family=${encodeURIComponent(r.familyName!)}&birthdate=${r.birthDate}&_count=10`),
    );
    const pix = await timed('PIXm', stored, (r) =>
      fetch(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${system(r.source!)}|${r.record_id}`)}`),
    );
    const match = await timed('$match', stored, (r) =>
      fetch('/Patient/$match', {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { ...patientOf(r, 'probe'), identifier: undefined } },
            { name: 'count', valueInteger: 5 },
          ],
        }),
      }),
    );
    await handle.close();
    const f = (n: number) => n.toFixed(1);
    const line = (name: string, times: number[]) =>
      [
        `  ${name.padEnd(13)} p50 ${f(percentile(times, 50))} ms  p99 ${f(percentile(times, 99))} ms  (${times.length} calls)`,
        ...(breakdown?.lines(name, times.length) ?? []),
      ].join('\n');
    return [
      `${rows.length.toLocaleString('en-US')} source records stored (seeded in ${seedSeconds.toFixed(0)} s)`,
      line('create', create),
      line('read', read),
      line('PDQm search', search),
      line('PIXm', pix),
      line('$match', match),
    ];
  } finally {
    await db.drop();
  }
}

const program = new Command('bench:fhir')
  .option('--sizes <list>', 'stored record counts, comma-separated', '100000,1000000')
  .option('--sample <n>', 'calls measured per operation', '500')
  .option('--keep', 'keep each seeded database and reuse it when it is already there (mpi_bench_fhir_r<size>)')
  .option('--database <name>', 'name of the kept database (one size only; with --keep)')
  .option('--seed-only', 'seed (with --keep) and measure nothing')
  .option('--breakdown', 'also print the SQL statements and engine stages of each call (tracing adds a little time)')
  .parse();
const opts = program.opts<{ sizes: string; sample: string; keep?: boolean; database?: string; seedOnly?: boolean; breakdown?: boolean }>();
if (opts.breakdown) {
  breakdown = new Breakdown();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [breakdown] }));
}
const sizes = opts.sizes.split(',').map(Number);
if ((opts.database || opts.seedOnly) && !opts.keep) program.error('--database and --seed-only need --keep');
if (opts.database && sizes.length > 1) program.error('--database names one database: give one size');
const options: Options = {
  sample: Number(opts.sample),
  keep: opts.keep ?? false,
  database: opts.database,
  seedOnly: opts.seedOnly ?? false,
};
const lines = [`FHIR benchmark on PostgreSQL, ${machine()}, 2 cores`];
for (const size of sizes) lines.push(...(await benchSize(size, options)));
console.log(lines.join('\n'));

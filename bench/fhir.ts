// FHIR benchmark: with N source records already stored in PostgreSQL, measures Patient create, read, PDQm
// search, PIXm and $match latency through the HTTP handler (in-process, as the server serves it).
//   npm run bench:fhir -- --sizes 100000,1000000 --sample 500
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
import { freshDatabase, machine, percentile, syntheticRegistry } from './support.ts';

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

async function timed(items: Row[], run: (r: Row) => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  for (const r of items) {
    const t = performance.now();
    const response = await run(r);
    await response.arrayBuffer();
    times.push(performance.now() - t);
    if (response.status >= 400) throw new Error(`HTTP ${response.status}`);
  }
  return times;
}

async function benchSize(size: number, sample: number): Promise<string[]> {
  const { csv, truth } = syntheticRegistry(size);
  const rows = await readRows(csv);
  const truthMap = new Map((await readRows(truth)).map((t) => [t.record_id!, t.cluster_id!]));
  const held = rows.splice(rows.length - sample, sample);
  const db = await freshDatabase(`mpi_bench_fhir_${size}`);
  try {
    // Opening the database applies the migrations the seeding needs.
    const handle = await openDatabase({ url: db.url, poolSize: 8 });
    process.stderr.write(`seeding ${rows.length} records into PostgreSQL...\n`);
    const seedStart = performance.now();
    await seed(db.url, rows, truthMap);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    await admin`update sources set system = 'urn:bench:' || code`;
    await admin`analyze`;
    await admin.end();
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
    const create = await timed(held, async (r) => {
      const response = await fetch('/Patient', { method: 'POST', body: JSON.stringify(patientOf(r, `fhir-${r.record_id}`)) });
      ids.push(response.headers.get('x-mpi-record-id') ?? '');
      return response;
    });
    let i = 0;
    const read = await timed(held, () => fetch(`/Patient/${ids[i++]}`));
    const search = await timed(stored, (r) =>
      fetch(`/Patient?family=${encodeURIComponent(r.familyName!)}&birthdate=${r.birthDate}&_count=10`),
    );
    const pix = await timed(stored, (r) =>
      fetch(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${system(r.source!)}|${r.record_id}`)}`),
    );
    const match = await timed(stored, (r) =>
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
      `  ${name.padEnd(13)} p50 ${f(percentile(times, 50))} ms  p99 ${f(percentile(times, 99))} ms  (${times.length} calls)`;
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
  .parse();
const opts = program.opts<{ sizes: string; sample: string }>();
const lines = [`FHIR benchmark on PostgreSQL, ${machine()}, 2 cores`];
for (const size of opts.sizes.split(',').map(Number)) lines.push(...(await benchSize(size, Number(opts.sample))));
console.log(lines.join('\n'));

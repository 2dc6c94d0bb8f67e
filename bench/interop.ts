// Interoperability benchmark against PostgreSQL with N stored records, through the real wiring: FHIR ingest and
// $match latency through the HTTP handler (authenticated, audited), HL7 A04 messages per second with ACKs over
// the MLLP listener, and `mpi import` records per second over HTTP (first load, then an idempotent re-run).
//   npm run bench:interop -- --stored 100000 --fhir 500 --match 500 --mllp 2000 --csv 10000
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { createApp, type App } from '../api/app.ts';
import { toNodeListener } from '../api/http.ts';
import { startHl7Listener } from '../api/mllp.ts';
import { runImport } from '../cli/import.ts';
import { connectMllp } from '../interop/index.ts';
import { adtUpsert } from '../interop/testing/hl7-samples.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { openDatabase } from '../platform/db/client.ts';
import { FIELDS, readRows, seed, type Row } from './seed.ts';
import { freshDatabase, machine, percentile, syntheticRegistry } from './support.ts';

const ADMIN_KEY = 'bench-interop-admin-key-0000000000';
const systemOf = (source: string) => `urn:mpi:bench:${source}`;

/** Drops empty strings, empty arrays and empty objects: FHIR forbids them. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(compact).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, compact(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }
  return value === '' || value === null ? undefined : value;
}

/** A synthetic registry row as a FHIR Patient of its source. */
function fhirPatient(r: Row, localId: string): Record<string, unknown> {
  const sex = (r.sex ?? '').toUpperCase();
  return compact({
    resourceType: 'Patient',
    identifier: [
      { system: systemOf(r.source!), value: localId },
      ...(r.ssn ? [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: r.ssn }] : []),
    ],
    name: [{ use: 'official', family: r.familyName, given: [r.givenName, r.middleName], suffix: [r.suffix] }],
    gender: sex.startsWith('F') ? 'female' : sex.startsWith('M') ? 'male' : undefined,
    birthDate: r.birthDate,
    telecom: [r.phone ? { system: 'phone', value: r.phone } : undefined, r.email ? { system: 'email', value: r.email } : undefined],
    address: [{ line: [r.addressLine1, r.addressLine2], city: r.city, state: r.state, postalCode: r.postalCode }],
  }) as Record<string, unknown>;
}

function hl7Message(r: Row, localId: string): string {
  const sex = (r.sex ?? '').toUpperCase();
  return adtUpsert(
    'A04',
    {
      mrn: localId,
      authority: r.source!,
      family: r.familyName!,
      given: r.givenName!,
      middle: r.middleName!,
      birth: (r.birthDate ?? '').replace(/-/g, ''),
      sex: sex ? sex[0]! : '',
      street: r.addressLine1!,
      city: r.city!,
      state: r.state!,
      zip: r.postalCode!,
      phone: r.phone!,
      ssn: r.ssn!,
    },
    `B-${localId}`,
  );
}

async function timeEach<T>(items: T[], run: (item: T, i: number) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const t = performance.now();
    await run(items[i]!, i);
    times.push(performance.now() - t);
  }
  return times;
}

const ms = (n: number) => n.toFixed(1);
const latency = (times: number[]) =>
  `p50 ${ms(percentile(times, 50))} ms  p95 ${ms(percentile(times, 95))} ms  p99 ${ms(percentile(times, 99))} ms`;

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome identity { id } } }';

/** The same service through GraphQL, for comparison: what the FHIR and HL7 layers add on top of it. */
async function benchGraphql(app: App, rows: Row[]): Promise<string[]> {
  const times = await timeEach(rows, async (r) => {
    const input = { source: r.source, localId: `G-${r.record_id}`, ...Object.fromEntries(FIELDS.map((f) => [f, r[f] || null])) };
    const response = await app.http(
      new Request('http://bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ query: INGEST, variables: { input } }),
      }),
      { clientAddress: '127.0.0.1' },
    );
    const body = (await response.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(`GraphQL ingest failed: ${JSON.stringify(body.errors).slice(0, 200)}`);
  });
  return [`  GraphQL ingestRecord       ${latency(times)}  (${rows.length} calls, baseline: same records as FHIR, other local ids)`];
}

async function benchFhir(app: App, ingest: Row[], match: Row[]): Promise<string[]> {
  const post = async (path: string, body: unknown, expect: number[]) => {
    const response = await app.http(
      new Request(`http://bench/fhir${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify(body),
      }),
      { clientAddress: '127.0.0.1' },
    );
    await response.arrayBuffer();
    if (!expect.includes(response.status)) throw new Error(`FHIR ${path} answered ${response.status}`);
  };
  const outcomes = new Map<number, number>();
  const ingestTimes = await timeEach(ingest, async (r) => {
    const response = await app.http(
      new Request('http://bench/fhir/Patient', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify(fhirPatient(r, `F-${r.record_id}`)),
      }),
      { clientAddress: '127.0.0.1' },
    );
    await response.arrayBuffer();
    outcomes.set(response.status, (outcomes.get(response.status) ?? 0) + 1);
  });
  const matchTimes = await timeEach(match, (r) =>
    post(
      '/Patient/$match',
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: fhirPatient(r, 'probe') },
          { name: 'count', valueInteger: 5 },
        ],
      },
      [200],
    ),
  );
  const statuses = [...outcomes]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return [
    `  FHIR POST /Patient         ${latency(ingestTimes)}  (${ingest.length} calls; ${statuses})`,
    `  FHIR POST /Patient/$match  ${latency(matchTimes)}  (${match.length} calls, count 5)`,
  ];
}

async function benchMllp(app: App, rows: Row[]): Promise<string[]> {
  const listener = (await startHl7Listener(app.services, { port: 0, host: '127.0.0.1' }))!;
  try {
    const acks = new Map<string, number>();
    const note = (ack: string) => {
      const code =
        ack
          .split('\r')
          .find((s) => s.startsWith('MSA'))
          ?.split('|')[1] ?? '?';
      acks.set(code, (acks.get(code) ?? 0) + 1);
    };
    const half = Math.floor(rows.length / 2);
    const client = await connectMllp('127.0.0.1', listener.port);
    const started = performance.now();
    const times = await timeEach(rows.slice(0, half), async (r) => note(await client.send(hl7Message(r, `H-${r.record_id}`))));
    const oneRate = half / ((performance.now() - started) / 1000);
    await client.close();
    const rest = rows.slice(half);
    const clients = await Promise.all([0, 1, 2, 3].map(() => connectMllp('127.0.0.1', listener.port)));
    const fourStart = performance.now();
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = k; i < rest.length; i += 4) note(await c.send(hl7Message(rest[i]!, `H-${rest[i]!.record_id}`)));
        await c.close();
      }),
    );
    const fourRate = rest.length / ((performance.now() - fourStart) / 1000);
    const codes = [...acks].map(([c, n]) => `${c}: ${n}`).join(', ');
    return [
      `  MLLP A04, 1 connection     ${oneRate.toFixed(0)} messages/s with ACKs, round trip ${latency(times)}  (${half} messages)`,
      `  MLLP A04, 4 connections    ${fourRate.toFixed(0)} messages/s with ACKs  (${rest.length} messages; ACKs ${codes})`,
    ];
  } finally {
    await listener.close();
  }
}

async function benchCsv(app: App, rows: Row[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mpi-bench-import-'));
  const server = createServer(toNodeListener(app.http));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const file = join(dir, 'import.csv');
    await writeFile(
      file,
      stringify([['record_id', ...FIELDS], ...rows.map((r) => [`C-${r.record_id}`, ...FIELDS.map((f) => r[f] ?? '')])]),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const first = await runImport({ file, source: 'hosp_a', url, key: ADMIN_KEY });
    const again = await runImport({ file, source: 'hosp_a', url, key: ADMIN_KEY });
    const counts = (s: typeof first) =>
      `linked ${s.linked}, created ${s.created}, review ${s.review}, unchanged ${s.unchanged}, errors ${s.errors}`;
    return [
      `  mpi import (CSV, HTTP)     ${first.recordsPerSecond.toFixed(0)} records/s  (${first.rows} rows in batches of 500; ${counts(first)})`,
      `  mpi import re-run          ${again.recordsPerSecond.toFixed(0)} records/s  (${counts(again)})`,
    ];
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
}

const program = new Command('bench:interop')
  .option('--stored <n>', 'records stored before measuring', '100000')
  .option('--fhir <n>', 'FHIR Patient ingests measured', '500')
  .option('--match <n>', 'FHIR $match calls measured', '500')
  .option('--mllp <n>', 'HL7 A04 messages sent over MLLP (half on 1 connection, half on 4)', '2000')
  .option('--csv <n>', 'CSV rows imported', '10000')
  .parse();
const opts = program.opts<{ stored: string; fhir: string; match: string; mllp: string; csv: string }>();
const [stored, fhirN, matchN, mllpN, csvN] = [opts.stored, opts.fhir, opts.match, opts.mllp, opts.csv].map(Number) as [
  number,
  number,
  number,
  number,
  number,
];

const { csv, truth } = syntheticRegistry(stored + fhirN + matchN + mllpN + csvN);
const rows = await readRows(csv);
const truthMap = new Map((await readRows(truth)).map((t) => [t.record_id!, t.cluster_id!]));
const held = rows.splice(stored);
const db = await freshDatabase('mpi_bench_interop');
try {
  await (await openDatabase({ url: db.url })).close(); // migrate before the set-based seed
  process.stderr.write(`seeding ${rows.length} records into PostgreSQL...\n`);
  await seed(db.url, rows, truthMap);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    MPI_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    MPI_RATE_LIMIT_PER_MINUTE: '0',
  });
  const app = await createApp(config, createLogger('silent'));
  try {
    for (const s of await app.services.catalog.listSources())
      await app.services.catalog.updateSource(s.code, { system: systemOf(s.code) }, { allowOperational: true });
    const fhirRows = held.slice(0, fhirN);
    const matchRows = held.slice(fhirN, fhirN + matchN);
    const mllpRows = held.slice(fhirN + matchN, fhirN + matchN + mllpN);
    const csvRows = held.slice(fhirN + matchN + mllpN);
    const lines = [`interop benchmark on PostgreSQL, ${machine()}, ${stored.toLocaleString('en-US')} records stored`];
    process.stderr.write('FHIR...\n');
    lines.push(...(await benchFhir(app, fhirRows, matchRows)));
    lines.push(...(await benchGraphql(app, fhirRows)));
    process.stderr.write('MLLP...\n');
    lines.push(...(await benchMllp(app, mllpRows)));
    process.stderr.write('CSV import...\n');
    lines.push(...(await benchCsv(app, csvRows)));
    console.log(lines.join('\n'));
  } finally {
    await app.close();
  }
} finally {
  await db.drop();
}

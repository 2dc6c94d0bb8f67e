/**
 * Protocol-layer bench: FHIR ingest and $match latency through the fetch handler, HL7 handling, MLLP
 * messages per second with ACKs over loopback, and HL7 file import throughput.
 *
 * `benchInterop(port, ctx)` measures against any InteropPort, so the service can run it against PostgreSQL with
 * a loaded index. Run directly (`npx tsx interop/bench/interop-bench.ts`) it uses an in-memory port that does
 * no matching, which isolates the cost of parsing, validation, mapping, framing and TCP.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createFhirHandler } from '../fhir/handler.ts';
import { createHl7Handler } from '../hl7/handler.ts';
import { importHl7File } from '../mllp/file-import.ts';
import { connectMllp } from '../mllp/client.ts';
import { startMllpServer } from '../mllp/server.ts';
import type { GoldenIdentityView, InteropPort } from '../ports.ts';
import { adtUpsert, type SamplePatient } from '../testing/hl7-samples.ts';

export interface BenchOptions {
  fhirIngests?: number;
  fhirMatches?: number;
  hl7Messages?: number;
  mllpMessages?: number;
  /** FHIR identifier system and HL7 assigning authority of the bench's synthetic source. */
  system?: string;
  authority?: string;
  /** Prefix for local ids, so repeated runs against a real index create new records. */
  runTag?: string;
}

export interface BenchLine {
  name: string;
  count: number;
  perSecond: number;
  p50Ms?: number;
  p95Ms?: number;
}

const FAMILIES = ['Quillfeather', 'Brightwater', 'Ashgrove', 'Thistledown', 'Marrowby', 'Kestrelton', 'Duskwood', 'Fennimore'];
const GIVEN = ['Zephyrine', 'Ivo', 'Orla', 'Tamsin', 'Caspian', 'Wren', 'Leopold', 'Isolde'];

/** A deterministic synthetic patient for index i. */
export function benchPatient(i: number, authority: string, tag: string): SamplePatient {
  const day = String((i % 28) + 1).padStart(2, '0');
  const month = String((i % 12) + 1).padStart(2, '0');
  return {
    mrn: `${tag}-${i}`,
    authority,
    family: `${FAMILIES[i % FAMILIES.length]}${Math.floor(i / FAMILIES.length)}`,
    given: GIVEN[(i * 7) % GIVEN.length] as string,
    birth: `${1930 + (i % 80)}${month}${day}`,
    sex: i % 2 ? 'F' : 'M',
    street: `${i % 900} Larch Lane`,
    city: 'Fernvale',
    state: 'OR',
    zip: String(97000 + (i % 900)),
    phone: `555-${String(i % 10000).padStart(4, '0')}`,
  };
}

function fhirPatient(p: SamplePatient, system: string) {
  const b = p.birth as string;
  return {
    resourceType: 'Patient',
    identifier: [{ system, value: p.mrn }],
    name: [{ use: 'official', family: p.family, given: [p.given] }],
    gender: p.sex === 'F' ? 'female' : 'male',
    birthDate: `${b.slice(0, 4)}-${b.slice(4, 6)}-${b.slice(6, 8)}`,
    telecom: [{ system: 'phone', value: p.phone, use: 'home' }],
    address: [{ use: 'home', line: [p.street], city: p.city, state: p.state, postalCode: p.zip }],
  };
}

async function timed(name: string, count: number, run: (i: number) => Promise<void>): Promise<BenchLine> {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await run(i);
    latencies.push(performance.now() - t);
  }
  const total = performance.now() - start;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return { name, count, perSecond: Math.round((count / total) * 1000), p50Ms: at(0.5), p95Ms: at(0.95) };
}

async function throughput(name: string, count: number, run: () => Promise<void>): Promise<BenchLine> {
  const start = performance.now();
  await run();
  return { name, count, perSecond: Math.round((count / (performance.now() - start)) * 1000) };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Runs every measurement against `port`, passing `ctx` as the caller context. */
export async function benchInterop<C>(port: InteropPort<C>, ctx: C, opts: BenchOptions = {}): Promise<BenchLine[]> {
  const system = opts.system ?? 'urn:bench';
  const authority = opts.authority ?? 'BENCH';
  const tag = opts.runTag ?? `R${Date.now().toString(36)}`;
  const lines: BenchLine[] = [];
  const fhir = createFhirHandler(port);
  const post = (path: string, body: unknown) =>
    fhir(
      new Request(`http://bench/fhir${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(body),
      }),
      ctx,
    );

  const fhirIngests = opts.fhirIngests ?? 2000;
  lines.push(
    await timed('FHIR POST /Patient', fhirIngests, async (i) => {
      const res = await post('/Patient', fhirPatient(benchPatient(i, authority, `${tag}F`), system));
      if (res.status >= 300) throw new Error(`FHIR ingest answered ${res.status}`);
      await res.arrayBuffer();
    }),
  );
  lines.push(
    await timed('FHIR POST /Patient/$match', opts.fhirMatches ?? 500, async (i) => {
      const probe = fhirPatient(benchPatient(i % fhirIngests, authority, `${tag}F`), system);
      const res = await post('/Patient/$match', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: probe }] });
      if (res.status !== 200) throw new Error(`$match answered ${res.status}`);
      await res.arrayBuffer();
    }),
  );

  const deadLetters: string[] = [];
  const hl7 = createHl7Handler(port, { deadLetter: (raw) => void deadLetters.push(raw) });
  const hl7Count = opts.hl7Messages ?? 5000;
  lines.push(
    await timed('HL7 A04 in process', hl7Count, async (i) => {
      await hl7(adtUpsert('A04', benchPatient(i, authority, `${tag}H`)), ctx);
    }),
  );

  const server = await startMllpServer({ port: 0, handle: async (m) => (await hl7(m, ctx)).ack });
  try {
    const mllpCount = opts.mllpMessages ?? 5000;
    const client = await connectMllp('127.0.0.1', server.port);
    lines.push(
      await timed('MLLP A04 round trip, 1 connection', mllpCount, async (i) => {
        await client.send(adtUpsert('A04', benchPatient(i, authority, `${tag}M`)));
      }),
    );
    lines.push(
      await throughput('MLLP A04 pipelined (window 32), 1 connection', mllpCount, async () => {
        for (let i = 0; i < mllpCount; i += 32) {
          const batch = Array.from({ length: Math.min(32, mllpCount - i) }, (_, k) =>
            client.send(adtUpsert('A08', benchPatient(i + k, authority, `${tag}M`))),
          );
          await Promise.all(batch);
        }
      }),
    );
    await client.close();
    lines.push(
      await throughput('MLLP A04, 4 connections', mllpCount, async () => {
        const clients = await Promise.all([0, 1, 2, 3].map(() => connectMllp('127.0.0.1', server.port)));
        await Promise.all(
          clients.map(async (c, k) => {
            for (let i = k; i < mllpCount; i += 4) await c.send(adtUpsert('A04', benchPatient(i, authority, `${tag}P`)));
            await c.close();
          }),
        );
      }),
    );
  } finally {
    await server.close();
  }

  const dir = await mkdtemp(join(tmpdir(), 'hl7-bench-'));
  try {
    const path = join(dir, 'bench.hl7');
    await writeFile(path, Array.from({ length: hl7Count }, (_, i) => adtUpsert('A04', benchPatient(i, authority, `${tag}I`))).join('\r\r'));
    lines.push(
      await throughput('HL7 file import', hl7Count, async () => {
        await importHl7File(path, async (m) => (await hl7(m, ctx)).ack);
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (deadLetters.length > 0) throw new Error(`${deadLetters.length} bench messages were dead-lettered`);
  return lines;
}

/** Accepts everything and answers with a fixed identity: measures the protocol layer alone. */
function nullPort(): InteropPort<null> {
  const view: GoldenIdentityView = {
    id: 'bench-identity',
    status: 'ACTIVE',
    replaces: [],
    updatedAt: new Date(0).toISOString(),
    golden: { familyName: 'Quillfeather', givenName: 'Zephyrine', birthDate: '1984-02-29' },
    records: [{ source: 'BENCH', localId: 'x', system: 'urn:bench' }],
  };
  let n = 0;
  return {
    ingest: async () => ({ outcome: 'CREATED', recordId: `r${n++}`, identityId: view.id }),
    deleteRecord: async () => undefined,
    mergeBySourceIds: async () => ({ survivorIdentityId: view.id }),
    unlinkBySourceIds: async () => ({ identityId: view.id }),
    match: async () =>
      Array.from({ length: 3 }, (_, i) => ({ identity: { ...view, id: `c${i}` }, probability: 0.9 - i * 0.3, grade: 'PROBABLE' as const })),
    getIdentity: async () => view,
    sourceForSystem: async (_ctx, system) => (system === 'urn:bench' || system === 'BENCH' ? 'BENCH' : null),
    writePatient: async (_ctx, write) => ({
      version: { id: `r${n}`, versionId: 1, lastUpdated: view.updatedAt, resource: write.resource, identityId: view.id },
      created: true,
      outcome: 'CREATED',
      recordId: `r${n++}`,
      identityId: view.id,
    }),
    readPatient: async () => null,
    patientHistory: async () => [],
    patientIdOf: async () => null,
    deletePatient: async () => {
      throw new Error('not in the bench');
    },
    searchPatients: async () => ({ hits: [], more: false }),
    crossReference: async () => ({ identity: view }),
    createSubscription: async () => {
      throw new Error('not benchmarked');
    },
    readSubscription: async () => null,
    deleteSubscription: async () => false,
  };
}

/** Prints bench lines as an aligned table. */
export function printBench(lines: BenchLine[]): void {
  const rows = lines.map((l) => [
    l.name,
    String(l.count),
    `${l.perSecond}/s`,
    l.p50Ms === undefined ? '' : `p50 ${l.p50Ms} ms`,
    l.p95Ms === undefined ? '' : `p95 ${l.p95Ms} ms`,
  ]);
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length))) ?? [];
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`interop protocol layer, in-memory port, node ${process.version}`);
  printBench(await benchInterop(nullPort(), null));
}

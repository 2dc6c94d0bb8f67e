// Mixed-load benchmark: a real server process on PostgreSQL (production mode, one API key per role) and N
// workers that ingest, match, read and act as stewards at the same time, as a busy deployment does.
//   npm run bench:mixed -- --workers 8 --seconds 120 --port 4200
// Prints p50/p99 per operation, requests per second and the error rate. Expected conflicts (a steward acting on
// an identity another steward just merged) are counted apart from errors. It also prints the CPU time the service
// process and the database's server processes spent per request (read from /proc when the database runs on this
// host): on a shared machine that number moves much less with other work than requests per second do.
// `--statement-log FILE` (the PostgreSQL server's log file, readable by this user) also logs every statement's
// duration for the benchmark's database (log_min_duration_statement = 0) and prints statements per request and
// the statements the database spent most time on; logging costs time itself, so take timings from a run without it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import postgres from 'postgres';
import { createApiKey } from '../platform/api-keys.ts';
import { openDatabase } from '../platform/db/client.ts';
import { drawGivenName, drawSurname } from './synth/names.ts';
import { Rng } from './synth/prng.ts';
import { freshDatabase, machine, percentile } from './support.ts';

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome record { id } identity { id } } }';
const INGEST_MANY = 'mutation($input: [SourceRecordInput!]!) { ingestRecords(input: $input) { identity { id } } }';
const SEED_BATCH = 250;
const MATCH = 'query($input: RecordFieldsInput!) { match(input: $input, count: 5) { probability grade identity { id } } }';
const READ = 'query($id: ID!) { identity(id: $id) { id golden { familyName birthDate } records { id localId } } }';
const MERGE = 'mutation($a: ID!, $b: ID!) { mergeIdentities(survivorId: $a, mergedId: $b, reason: "bench duplicate") { id } }';
const UNLINK = 'mutation($r: ID!) { unlinkRecord(recordId: $r, reason: "bench split") { id } }';
/**
 * Typed refusals a steward meets when another steward got there first, or when a merge would overrule an earlier
 * not-duplicate decision (a split records one): not failures of the service.
 */
const CONFLICT_CODES = new Set(['NOT_ACTIVE', 'ONLY_RECORD', 'NOT_FOUND', 'STALE_VERSION', 'ALREADY_RESOLVED', 'MARKED_NOT_DUPLICATE']);

type Op = 'ingest' | 'match' | 'read' | 'merge' | 'unlink';
interface Person {
  givenName: string;
  familyName: string;
  birthDate: string;
  postalCode: string;
  sex: string;
}

/**
 * A new person with names drawn by frequency from the synthetic registry's lists, so a name block holds about as many
 * strangers as in a real population (a dozen fixed names would put every 120th person in one block).
 */
function person(rng: Rng): Person {
  const day = rng.int(1, 28);
  const month = rng.int(1, 12);
  const year = rng.int(1930, 2009);
  const sex = rng.chance(0.5) ? 'F' : 'M';
  return {
    givenName: drawGivenName(rng, sex, year),
    familyName: drawSurname(rng),
    birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    postalCode: String(rng.int(10000, 99998)),
    sex,
  };
}

async function waitForServer(base: string, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('server did not become ready');
}

const program = new Command('bench:mixed')
  .option('--workers <n>', 'concurrent clients', '8')
  .option('--seconds <n>', 'duration of the measured load', '120')
  .option('--port <n>', 'port of the server this benchmark starts (127.0.0.1)', '4200')
  .option('--seed-records <n>', 'records ingested before the clock starts', '2000')
  .option('--database <prefix>', 'name prefix of the database this benchmark creates and drops', 'mpi_bench_mixed')
  .option('--statement-log <file>', 'PostgreSQL server log to count the statements of the measured load in')
  .option('--cpu-prof <dir>', 'write a V8 CPU profile of the server process into this directory when it exits')
  .parse();
const opts = program.opts<{
  workers: string;
  seconds: string;
  port: string;
  seedRecords: string;
  database: string;
  statementLog?: string;
  cpuProf?: string;
}>();
const workers = Number(opts.workers);
const seconds = Number(opts.seconds);
const base = `http://127.0.0.1:${opts.port}`;

const db = await freshDatabase(opts.database);
const keys: Record<'pipeline' | 'steward', string> = {
  pipeline: randomBytes(24).toString('base64url'),
  steward: randomBytes(24).toString('base64url'),
};
const handle = await openDatabase({ url: db.url, poolSize: 2 });
for (const role of ['pipeline', 'steward'] as const) await createApiKey(handle.db, `bench-${role}`, role, keys[role]);
if (opts.statementLog)
  await handle.db.execute(`alter database ${new URL(db.url).pathname.slice(1)} set log_min_duration_statement = 0` as never);
await handle.close();

const profiling = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [];
const server = spawn(process.execPath, [...profiling, '--import', 'tsx', fileURLToPath(new URL('../api/server.ts', import.meta.url))], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    MPI_AUDIT_KEY: randomBytes(32).toString('base64'),
    PORT: opts.port,
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    LOG_LEVEL: 'error',
    MPI_RATE_LIMIT_PER_MINUTE: '10000000',
    MPI_AUTO_REGISTER_SOURCES: 'true',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const serverExit = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));

/** CPU milliseconds (user + system) a process has used, from /proc; 0 where there is no /proc. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** Bytes in a file now (0 when it cannot be read). */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Statements the database `database` logged in `file` from byte `from` on (the log line prefix must name the
 * database, as `%d` or `%q%u@%d` does), grouped by their text's first words, most frequent first, with the time
 * the database spent on each group (parse, bind and execute).
 */
function loggedStatements(
  file: string,
  from: number,
  database: string,
): { total: number; ms: number; top: Array<[string, { count: number; ms: number }]> } {
  const text = readFileSync(file).subarray(from).toString('utf8');
  const groups = new Map<string, { count: number; ms: number }>();
  let total = 0;
  let ms = 0;
  for (const match of text.matchAll(/^.* LOG: {2}duration: ([\d.]+) ms {2}(statement|parse|bind|execute)[^:]*: (.*)\n(\t.*)?/gm)) {
    if (!match[0].includes(database)) continue;
    // A statement whose text starts with a line break continues on the next, tab-indented line.
    const shape = (match[3]!.trim() || (match[4] ?? '').trim()).replace(/\s+/g, ' ').slice(0, 90);
    const group = groups.get(shape) ?? { count: 0, ms: 0 };
    groups.set(shape, group);
    group.ms += Number(match[1]);
    ms += Number(match[1]);
    if (match[2] === 'statement' || match[2] === 'execute') {
      group.count += 1;
      total += 1;
    }
  }
  return { total, ms, top: [...groups].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25) };
}

/** Linux's USER_HZ: /proc counts CPU time in hundredths of a second. */
const CLOCK_TICKS = 100;

/** CPU milliseconds of the PostgreSQL server processes serving the benchmark's database (on this host). */
function databaseCpuMs(database: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc', { withFileTypes: true })) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // A backend's title is `postgres: <user> <database> <client> <state>`.
      if (readFileSync(`/proc/${entry.name}/cmdline`, 'utf8').includes(` ${database} `)) total += cpuMs(Number(entry.name));
    } catch {
      /* the process ended */
    }
  }
  return total;
}

async function call(
  role: 'pipeline' | 'steward',
  query: string,
  variables: unknown,
): Promise<{ data?: Record<string, unknown>; code?: string }> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> };
  if (body.errors?.length) return { code: body.errors[0]?.extensions?.code ?? `HTTP_${response.status}` };
  return { data: body.data! };
}

try {
  await waitForServer(base, 60);
  const times: Record<Op, number[]> = { ingest: [], match: [], read: [], merge: [], unlink: [] };
  const errors: Record<string, number> = {};
  let conflicts = 0;
  let requests = 0;
  let localId = 0;
  const seedRng = new Rng(20);
  const known: Person[] = [];
  const identityIds: string[] = [];
  const splittable: string[] = [];
  const ingest = async (p: Person, source: string) => {
    const result = await call('pipeline', INGEST, { input: { source, localId: `m${(localId += 1)}`, ...p } });
    const r = result.data?.ingestRecord as { identity: { id: string }; record: { id: string } } | undefined;
    if (r) identityIds.push(r.identity.id);
    return { result, r };
  };
  process.stderr.write(`seeding ${opts.seedRecords} records...\n`);
  for (let i = 0; i < Number(opts.seedRecords); i += SEED_BATCH) {
    const batch = Array.from({ length: Math.min(SEED_BATCH, Number(opts.seedRecords) - i) }, () => person(seedRng));
    known.push(...batch);
    const seeded = await call('pipeline', INGEST_MANY, {
      input: batch.map((p, j) => ({ source: j % 2 === 0 ? 'EHR' : 'LAB', localId: `m${(localId += 1)}`, ...p })),
    });
    if (seeded.code) throw new Error(`seeding failed: ${seeded.code}`);
    identityIds.push(...(seeded.data!.ingestRecords as Array<{ identity: { id: string } }>).map((r) => r.identity.id));
  }

  const deadline = Date.now() + seconds * 1000;
  async function worker(n: number): Promise<void> {
    const rng = new Rng(1000 + n);
    const rnd = () => rng.next();
    while (Date.now() < deadline) {
      const roll = rnd();
      const op: Op = roll < 0.3 ? 'ingest' : roll < 0.6 ? 'match' : roll < 0.9 ? 'read' : roll < 0.96 ? 'merge' : 'unlink';
      const started = performance.now();
      let result: { data?: Record<string, unknown>; code?: string };
      try {
        if (op === 'ingest') {
          const p = rnd() < 0.3 && known.length > 0 ? known[Math.floor(rnd() * known.length)]! : person(rng);
          known.push(p);
          result = (await ingest(p, rnd() < 0.5 ? 'EHR' : 'LAB')).result;
        } else if (op === 'match') {
          result = await call('pipeline', MATCH, { input: known[Math.floor(rnd() * known.length)] });
        } else if (op === 'read') {
          result = await call('steward', READ, { id: identityIds[Math.floor(rnd() * identityIds.length)] });
        } else if (op === 'merge') {
          const a = identityIds[Math.floor(rnd() * identityIds.length)]!;
          const b = identityIds[Math.floor(rnd() * identityIds.length)]!;
          result = a === b ? { data: {} } : await call('steward', MERGE, { a, b });
          const records = (await call('steward', READ, { id: a })).data?.identity as { records: Array<{ id: string }> } | undefined;
          if (!result.code && records) splittable.push(...records.records.map((r) => r.id));
        } else {
          const recordId = splittable.splice(Math.floor(rnd() * splittable.length), 1)[0];
          result = recordId ? await call('steward', UNLINK, { r: recordId }) : { data: {} };
        }
      } catch (error) {
        result = { code: `NETWORK ${(error as Error).name}` };
      }
      requests += 1;
      times[op].push(performance.now() - started);
      if (result.code && CONFLICT_CODES.has(result.code)) conflicts += 1;
      else if (result.code) errors[result.code] = (errors[result.code] ?? 0) + 1;
    }
  }
  const databaseName = new URL(db.url).pathname.slice(1);
  const loadBefore = os.loadavg();
  const cpuBefore = { service: cpuMs(server.pid!), database: databaseCpuMs(databaseName) };
  const logFrom = opts.statementLog ? fileSize(opts.statementLog) : 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, (_, n) => worker(n)));
  const elapsed = (performance.now() - start) / 1000;
  // Backends that exited during the run took their CPU time with them; the pool keeps them open, so few do.
  const cpu = { service: cpuMs(server.pid!) - cpuBefore.service, database: databaseCpuMs(databaseName) - cpuBefore.database };
  const loadAfter = os.loadavg();
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  const f = (n: number) => n.toFixed(1);
  const lines = [`mixed load on PostgreSQL, ${machine()}, 2 cores: ${workers} workers, ${seconds} s, ${opts.seedRecords} records seeded`];
  for (const op of Object.keys(times) as Op[]) {
    const t = times[op];
    lines.push(`  ${op.padEnd(7)} p50 ${f(percentile(t, 50))} ms  p99 ${f(percentile(t, 99))} ms  (${t.length} calls)`);
  }
  lines.push(
    `  ${requests} requests, ${(requests / elapsed).toFixed(1)}/s; errors ${failed} (${((100 * failed) / Math.max(1, requests)).toFixed(2)} %)${failed ? ` ${JSON.stringify(errors)}` : ''}; steward conflicts ${conflicts}`,
  );
  if (cpu.service > 0)
    lines.push(
      `  CPU per request: service ${f(cpu.service / requests)} ms, database ${f(cpu.database / requests)} ms; load average ${loadBefore[0]!.toFixed(1)} -> ${loadAfter[0]!.toFixed(1)}`,
    );
  if (opts.statementLog) {
    const logged = loggedStatements(opts.statementLog, logFrom, databaseName);
    const per = (n: number) => (n / requests).toFixed(3).padStart(7);
    lines.push(
      `  statements per request ${(logged.total / requests).toFixed(2)}, ${(logged.ms / requests).toFixed(2)} ms in the database (${logged.total} logged); per request, by time:`,
    );
    for (const [shape, g] of logged.top) lines.push(`    ${per(g.count)} × ${per(g.ms)} ms  ${shape}`);
  }
  console.log(lines.join('\n'));
} finally {
  server.kill('SIGTERM');
  await Promise.race([serverExit, new Promise((r) => setTimeout(r, 10_000))]);
  const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
  await admin.end();
  await db.drop();
}

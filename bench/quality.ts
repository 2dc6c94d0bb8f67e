// Quality-measurement benchmark: seeds N synthetic records (with identities, links, events and review items)
// set-based into a fresh PostgreSQL database, then times `measureQuality` and each metric family.
//   npm run bench:quality -- --sizes 100000,1000000
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Command } from 'commander';
import { sql } from 'drizzle-orm';
import { measureQuality } from '../catalog/index.ts';
// The per-family timings need the individual queries, which the catalog keeps internal.
import { identityClusters, ingestOutcomes, profileSources, recordsInOpenPairs, reviewBacklog } from '../catalog/quality-queries.ts';
import { MEASUREMENT_WORK_MEM } from '../catalog/quality-service.ts';
import { openDatabase, queryRows, useWorkMem, type Database, type Executor } from '../platform/db/client.ts';
import { freshDatabase, machine } from './support.ts';

const SOURCES = 5;
/** Records per identity is about 1.4, as in a multi-source index where most patients visit one system. */
const IDENTITY_SHARE = 0.7;

/** Fills every table the metrics read, deterministically, in a handful of `insert ... select` statements. */
async function seed(db: Database, records: number): Promise<void> {
  const identities = Math.round(records * IDENTITY_SHARE);
  await db.execute(sql`insert into sources (code, name, kind)
    select 'SRC' || k, 'Synthetic source ' || k, 'EHR' from generate_series(1, ${SOURCES}) k`);
  await db.execute(sql`insert into identities (id)
    select md5('identity' || n)::uuid from generate_series(0, ${identities - 1}) n`);
  await db.execute(sql`
    with src as (select id, (row_number() over (order by code) - 1)::int as k from sources)
    insert into source_records (id, source_id, local_id, given_name, family_name, sex, birth_date, ssn, phone, email,
      address_line1, city, state, postal_code, raw, normalised, normaliser_version, content_hash, received_at, updated_at, deleted_at)
    select md5('record' || i)::uuid, src.id,
      case when i % 1000 = 0 then 'l' || (i - ${SOURCES}) else 'L' || i end,
      case when i % 50 = 0 then null else (array['Ann','Bob','Cara','Dev','Eli','Fay','Gus','Hana','Ivo','Jo'])[(1 + i % 10)::int] end,
      case when i % 60 = 0 then null else (array['Lee','Ray','Kim','Fox','Roe','Orr','Diaz','Nagy','Okafor','Sato','Berg'])[(1 + i % 11)::int] end,
      case when i % 331 = 0 then 'Q' when i % 97 = 0 then 'U' when i % 2 = 0 then 'M' else 'F' end,
      case when i % 40 = 0 then null when i % 211 = 0 then '2100-01-01'
        else to_char(date '1930-01-01' + (i * 7919 % 30000)::int, 'YYYY-MM-DD') end,
      case when i % 3 = 0 then null when i % 101 = 0 then '123-45-6789'
        else lpad((100 + i % 565)::text, 3, '0') || '-' || lpad((1 + i % 98)::text, 2, '0') || '-' || lpad((1 + i % 9998)::text, 4, '0') end,
      case when i % 20 = 0 then null else '617' || lpad((2000000 + i * 7919 % 7999999)::text, 7, '0') end,
      case when i % 4 = 0 then 'p' || i || '@mail.example.org' when i % 401 = 0 then 'p' || i || '@@bad' else null end,
      (1 + i % 9000) || ' Main St', 'Boston', (array['MA','NY','CA','TX','ZZ'])[(1 + i % 5)::int],
      case when i % 300 = 0 then '0000' else lpad((1 + i * 13 % 99998)::text, 5, '0') end,
      '{}'::jsonb, '{}'::jsonb, 'bench', md5(i::text),
      now() - make_interval(days => (i % 30)::int), now() - make_interval(days => (i % 30)::int),
      case when i % 500 = 0 then now() else null end
    from generate_series(1::bigint, ${records}::bigint) i
    join src on src.k = i % ${SOURCES}`);
  await db.execute(sql`insert into links (record_id, identity_id, match_result, link_source)
    select md5('record' || i)::uuid, md5('identity' || (i::bigint * 2654435761 % ${identities}))::uuid,
      (case when i % 50 = 0 then 'POSSIBLE_MATCH' else 'MATCH' end)::match_result,
      (case when i % 200 = 0 then 'MANUAL' else 'AUTO' end)::link_source
    from generate_series(1, ${records}) i`);
  // The first record of each identity created it.
  await db.execute(sql`insert into identity_events (identity_id, type, record_id, actor, at)
    select distinct on (l.identity_id) l.identity_id, 'CREATED', l.record_id, 'bench', r.received_at
    from links l join source_records r on r.id = l.record_id
    order by l.identity_id, r.received_at, l.record_id`);
  await db.execute(sql`insert into review_items (kind, status, record_id, identity_a, identity_b, probability, weight, priority, explanation, created_at)
    select (case when i % 200 = 0 then 'POSSIBLE_DUPLICATE' else 'RECORD_MATCH' end)::review_kind,
      (case when i % 300 = 0 then 'RESOLVED' else 'OPEN' end)::review_status,
      md5('record' || i)::uuid, md5('identity' || ((i + 1)::bigint * 2654435761 % ${identities}))::uuid,
      md5('identity' || (i::bigint * 2654435761 % ${identities}))::uuid, 0.7, 3.1, 1, '{}'::jsonb,
      now() - make_interval(days => (i % 60)::int)
    from generate_series(100, ${records}, 100) i`);
  await db.execute(sql`analyze`);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, (performance.now() - start) / 1000];
}

/**
 * CPU seconds one PostgreSQL backend spends on measureQuality with parallel workers off: the work itself,
 * which unlike wall-clock time does not grow when other processes share the machine. Null when the server
 * is not on this host (its /proc is not ours to read).
 */
async function backendCpuSeconds(url: string): Promise<number | null> {
  const handle = await openDatabase({ url, poolSize: 1, migrate: false });
  try {
    await handle.db.execute(sql`set max_parallel_workers_per_gather = 0`);
    const [row] = await queryRows<{ pid: number }>(handle.db, sql`select pg_backend_pid() as pid`);
    const ticks = () => {
      const fields = readFileSync(`/proc/${row!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (USER_HZ = 100)
    };
    let before: number;
    try {
      before = ticks();
    } catch {
      return null;
    }
    await measureQuality(handle.db);
    return (ticks() - before) / 100;
  } finally {
    await handle.close();
  }
}

async function benchSize(records: number): Promise<string[]> {
  const fresh = await freshDatabase(`mpi_bench_quality_${records}`);
  try {
    const handle = await openDatabase({ url: fresh.url, poolSize: 4 });
    try {
      process.stderr.write(`seeding ${records} records...\n`);
      const [, seedSeconds] = await timed(() => seed(handle.db, records));
      const db = handle.db;
      const since = new Date(Date.now() - 7 * 86_400_000);
      const families: Array<[string, (tx: Executor) => Promise<unknown>]> = [
        [
          'field profile (completeness, validity, uniqueness, freshness)',
          (tx) => profileSources(tx, new Date().toISOString().slice(0, 10)),
        ],
        ['records in open pairs (duplicate rate)', (tx) => recordsInOpenPairs(tx)],
        ['review backlog', (tx) => reviewBacklog(tx)],
        ['identity clusters (overlay, overlap, sizes)', (tx) => identityClusters(tx)],
        ['recent ingest outcomes', (tx) => ingestOutcomes(tx, since)],
      ];
      const lines = [`${records.toLocaleString('en-US')} records (seeded in ${seedSeconds.toFixed(1)} s)`];
      for (const [name, run] of families) {
        // As measureQuality runs it: in a transaction with the measurement's work_mem.
        const [, seconds] = await timed(() =>
          db.transaction(async (tx) => {
            await useWorkMem(tx, MEASUREMENT_WORK_MEM);
            return run(tx);
          }),
        );
        lines.push(`  ${name.padEnd(62)} ${seconds.toFixed(2)} s`);
      }
      const runs: number[] = [];
      let last = await measureQuality(db);
      for (let i = 0; i < 3; i += 1) {
        const [result, seconds] = await timed(() => measureQuality(db));
        runs.push(seconds);
        last = result;
      }
      const cpu = await backendCpuSeconds(fresh.url);
      if (cpu !== null)
        lines.push(`  measureQuality CPU of one PostgreSQL backend, parallel workers off`.padEnd(64) + ` ${cpu.toFixed(2)} s`);
      const index = (metric: string) => last.measurements.find((m) => m.metric === metric && m.scope === '*')?.value ?? Number.NaN;
      lines.push(
        `  measureQuality (all metrics, ${last.measurements.length} points stored)`.padEnd(64) +
          ` ${Math.min(...runs).toFixed(2)} s best, ${(runs.reduce((a, b) => a + b, 0) / runs.length).toFixed(2)} s mean of ${runs.length}`,
      );
      lines.push(
        `  duplicate rate ${(index('duplicate_rate') * 100).toFixed(2)}%, overlay suspects ${(index('overlay_suspect_rate') * 100).toFixed(2)}%, ` +
          `${index('records_per_identity').toFixed(2)} records per identity`,
      );
      return lines;
    } finally {
      await handle.close();
    }
  } finally {
    await fresh.drop();
  }
}

const program = new Command('bench:quality').option('--sizes <list>', 'stored record counts, comma-separated', '100000,1000000').parse();
const sizes = program
  .opts<{ sizes: string }>()
  .sizes.split(',')
  .map((s) => Number(s.trim()));
const output = [`quality benchmark on PostgreSQL, ${machine()}, ${cpus().length} cores`];
for (const size of sizes) output.push(...(await benchSize(size)));
// Wall-clock times are only comparable on a quiet machine; say how busy this one was.
output.push(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} (1 / 5 / 15 min)`,
);
console.log(output.join('\n'));

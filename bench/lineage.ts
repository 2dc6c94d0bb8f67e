// Lineage benchmark on PostgreSQL: seeds N identities with 2-3 disagreeing source records each (set-based SQL),
// builds their provenance, changes the survivorship policy and a source's trust rank, and times each set-based
// recompute with progress; then measures online ingest latency with provenance, the provenance rebuild alone,
// and identityAsOf.
//   npm run bench:lineage -- --identities 100000 --batch 1000 --ingest 400
import { Command } from 'commander';
import { sql as drizzleSql } from 'drizzle-orm';
import postgres from 'postgres';
import { createServices } from '../api/services.ts';
import type { SourceRecordInput } from '../identity/index.ts';
import {
  changeSurvivorshipPolicy,
  DEFAULT_POLICY,
  identityAsOf,
  loadActivePolicy,
  previewPolicy,
  rebuildGolden,
  rebuildGoldenMany,
  recomputeGolden,
  recomputeGoldenForSource,
  type RecomputeProgress,
} from '../lineage/index.ts';
import { loadConfig } from '../platform/config.ts';
import { openDatabase, queryRows, type Database } from '../platform/db/client.ts';
import { createLogger } from '../platform/logger.ts';
import { freshDatabase, machine, percentile } from './support.ts';

const GIVEN = [
  'Aiden',
  'Beatrix',
  'Corwin',
  'Delphine',
  'Ezekiel',
  'Florence',
  'Gideon',
  'Harriet',
  'Ignatius',
  'Juniper',
  'Kellan',
  'Lucinda',
  'Marcus',
  'Noelle',
  'Orrin',
  'Priya',
  'Quentin',
  'Rosalind',
  'Silas',
  'Thea',
];
const FAMILY = [
  'Okonkwo',
  'Vasquez',
  'Lindqvist',
  'Abernathy',
  'Castellano',
  'Nakamura',
  'Whitfield',
  'Oyelaran',
  'Brannigan',
  'Szymanski',
  'Achterberg',
  'Moreau',
  'Delacroix',
  'Petrov',
  'Haddad',
  'Quispe',
  'Ferreira',
  'Kowalczyk',
  'Mbeki',
  'Thorsen',
];

const literal = (list: string[]) => `array[${list.map((v) => `'${v}'`).join(',')}]`;

/**
 * Seeds identities whose records disagree the way real feeds do: the lab spells some given names in capitals
 * and has newer phone numbers for a quarter of patients, the payer (every third patient) has moved a fifth of
 * them, only the lab has email. Records, links and events are inserted set-based in one session.
 */
async function seed(url: string, identities: number): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  await sql`insert into sources (code, name, trust_rank) values ('ehr', 'Hospital EHR', 80), ('lab', 'Regional lab', 60), ('payer', 'Payer claims', 40)`;
  await sql`create temp table bench_people as select n, gen_random_uuid() as identity_id from generate_series(1, ${identities}::int) as n`;
  await sql`insert into identities (id, created_at, updated_at) select identity_id, timestamp '2024-01-01', timestamp '2024-01-01' from bench_people`;
  await sql.unsafe(`create temp table bench_records as
    select gen_random_uuid() as id, p.n, p.identity_id, s.id as source_id, s.code, k.ord
    from bench_people p
    cross join (values ('ehr', 0), ('lab', 1), ('payer', 2)) as k(code, ord)
    join sources s on s.code = k.code
    where k.code <> 'payer' or p.n % 3 = 0`);
  await sql.unsafe(`insert into source_records (id, source_id, local_id, given_name, family_name, sex, birth_date, phone, email,
      address_line1, city, state, postal_code, raw, normalised, normaliser_version, content_hash, received_at, updated_at)
    select r.id, r.source_id, r.code || '-' || r.n,
      case when r.code = 'lab' and r.n % 7 = 0 then upper((${literal(GIVEN)})[1 + r.n % 20]) else (${literal(GIVEN)})[1 + r.n % 20] end,
      (${literal(FAMILY)})[1 + (r.n / 20) % 20],
      case when r.n % 2 = 0 then 'F' else 'M' end,
      to_char(date '1930-01-01' + (r.n * 37) % 27000, 'YYYY-MM-DD'),
      case when r.code = 'lab' and r.n % 4 = 0 then '303' else '617' end || lpad(((r.n * 7919) % 10000000)::text, 7, '0'),
      case when r.code = 'lab' then 'patient' || r.n || '@example.test' end,
      case when r.code = 'payer' and r.n % 5 = 0 then (r.n % 900 + 100) || ' Quince Avenue' else (r.n % 9000 + 100) || ' Harbor Street' end,
      'Boston', 'MA', '02118', '{}'::jsonb, '{}'::jsonb, 'bench', md5(r.code || r.n),
      timestamp '2024-01-01' + r.ord * interval '30 days' + (r.n % 86400) * interval '1 second',
      timestamp '2024-01-01' + r.ord * interval '30 days' + (r.n % 86400) * interval '1 second'
    from bench_records r`);
  await sql`insert into links (record_id, identity_id, match_result, link_source) select id, identity_id, 'MATCH', 'AUTO' from bench_records`;
  await sql`insert into identity_events (identity_id, type, record_id, actor, at)
    select identity_id, 'CREATED'::identity_event_type, id, 'bench', timestamp '2024-01-01' from bench_records where ord = 0
    union all select identity_id, 'LINKED'::identity_event_type, id, 'bench', timestamp '2024-01-01' + ord * interval '30 days' from bench_records`;
  await sql`analyze`;
  await sql.end();
}

function progressPrinter(label: string): (p: RecomputeProgress) => void {
  let last = 0;
  return (p) => {
    if (p.elapsedMs - last < 2000 && p.scanned < p.total) return;
    last = p.elapsedMs;
    const pct = p.total > 0 ? ((100 * p.scanned) / p.total).toFixed(0) : '100';
    process.stderr.write(
      `  ${label}: ${p.scanned.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} (${pct}%)  ${(p.elapsedMs / 1000).toFixed(1)} s  ${p.valuesChanged.toLocaleString('en-US')} values changed\n`,
    );
  };
}

const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const f = (n: number) => n.toFixed(1);

async function provenanceRows(db: Database): Promise<string> {
  const [row] = await queryRows<{ n: number }>(db, drizzleSql`select count(*)::int as n from field_provenance`);
  return (row?.n ?? 0).toLocaleString('en-US');
}

const PLACES = [
  ['Austin', 'TX', '78701', '512'],
  ['Denver', 'CO', '80203', '303'],
  ['Tacoma', 'WA', '98402', '253'],
  ['Macon', 'GA', '31201', '478'],
] as const;

/** A new synthetic patient per n, distinct in name, birth date, phone and address from every other. */
function patient(n: number): Omit<SourceRecordInput, 'source' | 'localId'> {
  const [city, state, postalCode, area] = PLACES[n % 4]!;
  return {
    givenName: GIVEN[n % 20]!,
    familyName: FAMILY[Math.floor(n / 20) % 20]!,
    sex: n % 2 ? 'F' : 'M',
    birthDate: `${1930 + (n % 70)}-${String((n % 12) + 1).padStart(2, '0')}-${String((n % 28) + 1).padStart(2, '0')}`,
    phone: `${area}${String((n * 104729) % 10000000).padStart(7, '0')}`,
    addressLine1: `${((n * 37) % 9000) + 100} Monument Road`,
    city,
    state,
    postalCode,
  };
}

async function run(opts: { identities: number; batch: number; ingest: number; keep: boolean }): Promise<string[]> {
  const target = await freshDatabase('mpi_bench_lineage');
  const lines = [
    `lineage benchmark on PostgreSQL, ${machine()}, ${opts.identities.toLocaleString('en-US')} identities, batches of ${opts.batch}`,
  ];
  try {
    const handle = await openDatabase({ url: target.url, poolSize: 4 });
    const db = handle.db;
    process.stderr.write(`seeding ${opts.identities} identities...\n`);
    let t = performance.now();
    await seed(target.url, opts.identities);
    lines.push(`  seed (set-based SQL)            ${secs(performance.now() - t)}`);

    const initial = await recomputeGolden(
      db,
      { kind: 'all' },
      { batchSize: opts.batch, onProgress: progressPrinter('initial provenance') },
    );
    lines.push(
      `  initial provenance build        ${secs(initial.elapsedMs)}  ${rate(initial.identities, initial.elapsedMs)} identities  ${initial.fieldsReprovenanced.toLocaleString('en-US')} rows opened`,
    );

    t = performance.now();
    const preview = await previewPolicy(db, { phone: { rule: 'SOURCE_PRIORITY' }, givenName: { rule: 'MOST_FREQUENT' } }, { limit: 10 });
    const previewMs = performance.now() - t;
    lines.push(
      `  preview policy change           ${secs(previewMs)}  ${preview.identitiesAffected.toLocaleString('en-US')} identities, ${preview.valuesChanged.toLocaleString('en-US')} values would change`,
    );

    const change = await changeSurvivorshipPolicy(
      db,
      { phone: { rule: 'SOURCE_PRIORITY' }, givenName: { rule: 'MOST_FREQUENT' } },
      'bench',
      {
        batchSize: opts.batch,
        onProgress: progressPrinter('policy change'),
      },
    );
    const r = change.result!;
    lines.push(
      `  policy change recompute (v${change.policy.version})   ${secs(r.elapsedMs)}  ${rate(r.identities, r.elapsedMs)} identities  ${r.fieldsReprovenanced.toLocaleString('en-US')} rows re-opened, ${r.valuesChanged.toLocaleString('en-US')} values and ${r.goldenChanged.toLocaleString('en-US')} golden records changed`,
    );

    const [ehr] = await queryRows<{ id: string }>(db, drizzleSql`update sources set trust_rank = 30 where code = 'ehr' returning id`);
    const trust = await recomputeGoldenForSource(db, ehr!.id, { batchSize: opts.batch, onProgress: progressPrinter('trust change') });
    lines.push(
      `  source trust change recompute   ${secs(trust.elapsedMs)}  ${rate(trust.scanned, trust.elapsedMs)} records  ${trust.valuesChanged.toLocaleString('en-US')} values and ${trust.goldenChanged.toLocaleString('en-US')} golden records changed`,
    );
    lines.push(`  field_provenance rows now       ${await provenanceRows(db)}`);

    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: target.url });
    const services = createServices(config, handle, createLogger('silent'));
    const actor = { actor: 'bench' };
    const ingestTimes: number[] = [];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < opts.ingest; i += 1) {
      const n = 1_000_000 + i;
      for (const [source, extra] of [
        ['ehr', {}],
        ['lab', { phone: `303${String(n * 7).slice(-7)}`, email: `p${n}@example.test` }],
      ] as const) {
        t = performance.now();
        const result = await services.ingest.ingest({ source, localId: `NEW-${n}`, ...patient(n), ...extra }, actor);
        ingestTimes.push(performance.now() - t);
        outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
      }
    }
    const outcomeText = [...outcomes.entries()].map(([k, v]) => `${v} ${k}`).join(', ');
    lines.push(
      `  ingest with provenance          p50 ${f(percentile(ingestTimes, 50))} ms  p95 ${f(percentile(ingestTimes, 95))} ms  (${ingestTimes.length} calls: ${outcomeText})`,
    );

    const policy = await loadActivePolicy(db);
    const sample = await queryRows<{ id: string }>(
      db,
      drizzleSql`select id from identities where status = 'ACTIVE' order by id limit ${opts.ingest}`,
    );
    const timeRebuild = async (rebuild: (id: string) => Promise<unknown>) => {
      const times: number[] = [];
      for (const { id } of sample) {
        t = performance.now();
        await rebuild(id);
        times.push(performance.now() - t);
      }
      return times;
    };
    // What ingest and steward decisions run for the identities they touch, and the one-identity reference version.
    const bulk = await timeRebuild((id) => db.transaction((tx) => rebuildGoldenMany(tx, [id], { policy })));
    const single = await timeRebuild((id) => db.transaction((tx) => rebuildGolden(tx, id, { policy })));
    lines.push(
      `  provenance rebuild alone        p50 ${f(percentile(bulk, 50))} ms  p95 ${f(percentile(bulk, 95))} ms  (rebuildGoldenMany of one identity, as ingest and steward decisions run it)`,
    );
    lines.push(
      `                                  p50 ${f(percentile(single, 50))} ms  p95 ${f(percentile(single, 95))} ms  (rebuildGolden, the one-identity reference the tests check the others against)`,
    );

    const pingTimes: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      t = performance.now();
      await handle.ping();
      pingTimes.push(performance.now() - t);
    }
    lines.push(
      `  database round trip (select 1)  p50 ${percentile(pingTimes, 50).toFixed(2)} ms  p95 ${percentile(pingTimes, 95).toFixed(2)} ms  (how loaded the machine was)`,
    );

    const asOfTimes: number[] = [];
    const at = new Date('2024-03-01T00:00:00Z');
    for (const { id } of sample.slice(0, 200)) {
      t = performance.now();
      await identityAsOf(db, id, at);
      asOfTimes.push(performance.now() - t);
    }
    lines.push(`  identityAsOf                    p50 ${f(percentile(asOfTimes, 50))} ms  p95 ${f(percentile(asOfTimes, 95))} ms`);
    lines.push(`  (default policy version ${DEFAULT_POLICY.version}; active now ${policy.version})`);
    await handle.close();
  } finally {
    if (opts.keep) process.stderr.write(`kept ${target.url}\n`);
    else await target.drop();
  }
  return lines;
}

const program = new Command('bench:lineage')
  .option('--identities <n>', 'identities to seed', '100000')
  .option('--batch <n>', 'identities per recompute batch', '1000')
  .option('--ingest <n>', 'patients ingested (two records each) for the latency measurement', '400')
  .option('--keep', 'leave the benchmark database in place for inspection', false)
  .parse();
const o = program.opts<{ identities: string; batch: string; ingest: string; keep: boolean }>();
const lines = await run({ identities: Number(o.identities), batch: Number(o.batch), ingest: Number(o.ingest), keep: o.keep });
process.stdout.write(`${lines.join('\n')}\n`);
if (o.keep) process.exit(0); // the admin connection that would drop the database is still open

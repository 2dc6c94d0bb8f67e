/**
 * `npm run bench:load`: records/s of `mpi load` on PostgreSQL, into an empty index and into one that already
 * holds as many records. The synthetic registry of 2N records is split in two files of N rows: the first is
 * loaded into a fresh database, the second on top of it. Usage: `npm run bench:load -- --sizes 100000,1000000`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { Command } from 'commander';
import { runLoad } from '../cli/load.ts';
import { ephemeralAuditKeyring, useAuditKeyring } from '../platform/audit-keys.ts';
import { openDatabase } from '../platform/db/client.ts';
import { BENCH_OUT, freshDatabase, machine, syntheticRegistry } from './support.ts';

useAuditKeyring(ephemeralAuditKeyring());

interface Row {
  records: number;
  into: string;
  seconds: number;
  recordsPerSecond: number;
  chunks: number;
  created: number;
  linked: number;
  review: number;
  peakMb: number;
  load: string;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** The registry of 2N records as two files of N rows each (same header). */
function halves(records: number): [string, string] {
  const { csv } = syntheticRegistry(records * 2);
  const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
  const first = `${BENCH_OUT}load-${records}-a.csv`;
  const second = `${BENCH_OUT}load-${records}-b.csv`;
  writeFileSync(first, `${[lines[0], ...lines.slice(1, records + 1)].join('\n')}\n`);
  writeFileSync(second, `${[lines[0], ...lines.slice(records + 1)].join('\n')}\n`);
  return [first, second];
}

async function benchSize(records: number, chunkSize: number | undefined): Promise<Row[]> {
  const [first, second] = halves(records);
  const { url, drop } = await freshDatabase('bench_load');
  const database = await openDatabase({ url, poolSize: 4 });
  const rows: Row[] = [];
  try {
    for (const [file, into] of [
      [first, 'empty index'],
      [second, `index of ${records}`],
    ] as const) {
      const before = loadAverage();
      const summary = await runLoad({ MPI_AUTO_REGISTER_SOURCES: true }, database, [{ source: 'synth', files: [file] }], {
        chunkSize,
        warn: () => undefined,
        onProgress: (stage, done, total) => {
          if (stage === 'load') process.stderr.write(`  ${into}: ${done}/${total}\r`);
        },
      });
      process.stderr.write('\n');
      rows.push({
        records,
        into,
        seconds: summary.seconds,
        recordsPerSecond: summary.rows / summary.seconds,
        chunks: summary.chunks,
        created: summary.created,
        linked: summary.linked,
        review: summary.review,
        peakMb: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
        load: `${before} / ${loadAverage()}`,
      });
    }
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
    .parse()
    .opts<{ sizes: string; chunkSize?: string }>();
  const chunkSize = opts.chunkSize ? Number(opts.chunkSize) : undefined;
  const rows: Row[] = [];
  for (const size of opts.sizes.split(',').map(Number)) rows.push(...(await benchSize(size, chunkSize)));
  console.log(`${machine()}, ${availableParallelism()} cores, PostgreSQL; load average (1, 5, 15 min) before / after each run`);
  console.log('records  into               seconds  records/s  chunks  created   linked  review  peak RSS MB  load');
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        ` ${r.into.padEnd(17)}`,
        r.seconds.toFixed(1).padStart(8),
        Math.round(r.recordsPerSecond).toString().padStart(10),
        String(r.chunks).padStart(7),
        String(r.created).padStart(8),
        String(r.linked).padStart(8),
        String(r.review).padStart(7),
        String(r.peakMb).padStart(12),
        ` ${r.load}`,
      ].join(' '),
    );
  }
}

await main();

/**
 * Speed benchmark of `mpi link`: generates seeded synthetic registries (cached in bench/out/), runs the command
 * end to end as its own process on each with each thread count, and prints seconds (in all and per step of the
 * run: read, compare, train, cluster, write), records per second, peak
 * memory (RSS), the pairwise accuracy against the generator's truth, whether the output equals the one-thread
 * output, and the machine's load average (timings on a busy machine are not comparable).
 *
 *   npm run bench:link [-- --sizes 100000,1000000 --threads 1,2 --seed 7]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { pairwiseScore } from '../matching/index.ts';
import { machine } from './support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench/out');

function registry(records: number, seed: number): { file: string; truth: string } {
  const file = join(OUT, `link-${records}-s${seed}.csv`);
  const truth = file.replace(/\.csv$/, '_truth.csv');
  if (!existsSync(file) || !existsSync(truth)) {
    process.stderr.write(`generating ${records} records...\n`);
    execFileSync('npx', ['tsx', 'bench/synth/generate.ts', '--records', String(records), '--seed', String(seed), '--out', file], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return { file, truth };
}

/** The command line that runs `mpi link`, as users run it. */
function linkCommand(): string[] {
  return [join(ROOT, 'cli/mpi.js'), 'link'];
}

/** Second column of a two-column CSV with a header, keyed by the first (ids and cluster ids have no commas). */
function readPairs(path: string): Map<string, string> {
  const map = new Map<string, string>();
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const comma = line.indexOf(',');
    if (comma > 0) map.set(line.slice(0, comma), line.slice(comma + 1).split(',')[0]!);
  }
  return map;
}

interface Row {
  records: number;
  threads: number;
  load: string;
  sameAsOne: string;
  seconds: number;
  /** The run's own seconds per step (`mpi link`'s phases line): read/compare/train/cluster/write. */
  phases: string;
  recordsPerSecond: number;
  peakMb: number;
  pairs: string;
  precision: number;
  recall: number;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function runOne(records: number, seed: number, threads: number): Row {
  const { file, truth } = registry(records, seed);
  const out = join(OUT, `link-${records}-s${seed}-t${threads}_clusters.csv`);
  const loadBefore = loadAverage();
  const started = performance.now();
  const run = spawnSync(process.execPath, [...linkCommand(), '--threads', String(threads), '--out', out, file], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`mpi link failed on ${records} records: ${run.stderr.slice(-500)}`);
  const peak = /peak memory\s+(\d+) MB/.exec(run.stderr)?.[1];
  const pairs = /pairs compared\s+(\d+)/.exec(run.stderr)?.[1] ?? '?';
  const phases =
    [...(/^phases\s+(.*)$/m.exec(run.stderr)?.[1] ?? '').matchAll(/([\d.]+) s/g)].map((m) => Number(m[1]).toFixed(1)).join('/') || '?';
  const predicted = readPairs(out);
  const truthOf = readPairs(truth);
  const ids = [...predicted.keys()];
  const score = pairwiseScore(
    ids.length,
    (i) => predicted.get(ids[i]!)!,
    (i) => truthOf.get(ids[i]!) ?? `?${i}`,
  );
  const single = join(OUT, `link-${records}-s${seed}-t1_clusters.csv`);
  const sameAsOne = threads === 1 || !existsSync(single) ? '-' : readFileSync(single).equals(readFileSync(out)) ? 'yes' : 'NO';
  return {
    records,
    threads,
    load: `${loadBefore} / ${loadAverage()}`,
    sameAsOne,
    seconds,
    phases,
    recordsPerSecond: records / seconds,
    peakMb: Number(peak ?? NaN),
    pairs,
    precision: score.precision,
    recall: score.recall,
  };
}

function main(): void {
  const opts = new Command()
    .option('--sizes <list>', 'comma-separated record counts', '100000,1000000')
    .option('--threads <list>', 'comma-separated thread counts', `1,${availableParallelism()}`)
    .option('--seed <n>', 'generator seed', '7')
    .parse()
    .opts<{ sizes: string; threads: string; seed: string }>();
  mkdirSync(OUT, { recursive: true });
  const threads = [...new Set(opts.threads.split(',').map(Number))].sort((a, b) => a - b);
  const rows = opts.sizes.split(',').flatMap((s) => threads.map((t) => runOne(Number(s), Number(opts.seed), t)));
  console.log(`${machine()}, ${availableParallelism()} cores; load average (1, 5, 15 min) before / after each run`);
  console.log(
    'records threads    seconds  read/compare/train/cluster/write s  records/s  peak RSS MB  pairs compared  precision  recall  same as 1 thread  load',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        String(r.threads).padStart(7),
        r.seconds.toFixed(1).padStart(10),
        r.phases.padStart(35),
        Math.round(r.recordsPerSecond).toString().padStart(10),
        String(r.peakMb).padStart(12),
        r.pairs.padStart(15),
        r.precision.toFixed(4).padStart(10),
        r.recall.toFixed(4).padStart(7),
        r.sameAsOne.padStart(17),
        ` ${r.load}`,
      ].join(' '),
    );
  }
}

main();

/**
 * Speed benchmark of `mpi link`: generates seeded synthetic registries (cached in bench/out/), runs the command
 * end to end as its own process on each, and prints records per second, seconds, peak memory (RSS) and the
 * pairwise accuracy against the generator's truth.
 *
 *   npm run bench:link [-- --sizes 100000,1000000 --seed 7]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { pairwiseScore } from '../matching/index.ts';

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
  seconds: number;
  recordsPerSecond: number;
  peakMb: number;
  pairs: string;
  precision: number;
  recall: number;
}

function runOne(records: number, seed: number): Row {
  const { file, truth } = registry(records, seed);
  const out = join(OUT, `link-${records}-s${seed}_clusters.csv`);
  const started = performance.now();
  const run = spawnSync(process.execPath, [...linkCommand(), '--out', out, file], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`mpi link failed on ${records} records: ${run.stderr.slice(-500)}`);
  const peak = /peak memory\s+(\d+) MB/.exec(run.stderr)?.[1];
  const pairs = /pairs compared\s+(\d+)/.exec(run.stderr)?.[1] ?? '?';
  const predicted = readPairs(out);
  const truthOf = readPairs(truth);
  const ids = [...predicted.keys()];
  const score = pairwiseScore(
    ids.length,
    (i) => predicted.get(ids[i]!)!,
    (i) => truthOf.get(ids[i]!) ?? `?${i}`,
  );
  return {
    records,
    seconds,
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
    .option('--seed <n>', 'generator seed', '7')
    .parse()
    .opts<{ sizes: string; seed: string }>();
  mkdirSync(OUT, { recursive: true });
  const rows = opts.sizes.split(',').map((s) => runOne(Number(s), Number(opts.seed)));
  console.log('records    seconds  records/s  peak RSS MB  pairs compared  precision  recall');
  for (const r of rows) {
    console.log(
      [
        String(r.records).padStart(7),
        r.seconds.toFixed(1).padStart(10),
        Math.round(r.recordsPerSecond).toString().padStart(10),
        String(r.peakMb).padStart(12),
        r.pairs.padStart(15),
        r.precision.toFixed(4).padStart(10),
        r.recall.toFixed(4).padStart(7),
      ].join(' '),
    );
  }
}

main();

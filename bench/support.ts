import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Rng } from './synth/prng.ts';

export const BENCH_OUT = fileURLToPath(new URL('./out/', import.meta.url));
export const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The shared folder beside the checkout (`../shared`, as CI lays it out), or one level further up for a
 * checkout in a worktree folder; the first that holds `datasets/`.
 */
export function sharedDir(root: string): string {
  const candidates = [resolve(root, '../shared'), resolve(root, '../../shared')];
  return candidates.find((dir) => existsSync(join(dir, 'datasets'))) ?? candidates[0]!;
}

/** Seed of the synthetic registry the benchmarks use unless told otherwise. */
export const REGISTRY_SEED = 7;
/** Seed of a registry of other people: data the engine was not tuned on, or people a load does not hold. */
export const OTHER_REGISTRY_SEED = 11;

/**
 * The seeded synthetic registry of `records` rows (its name, the file and its truth), generating it first when
 * missing.
 */
export function syntheticRegistry(records: number, seed = REGISTRY_SEED): { name: string; csv: string; truth: string } {
  mkdirSync(BENCH_OUT, { recursive: true });
  // The default seed keeps the name files have always had; another seed is a registry of its own.
  const name = seed === REGISTRY_SEED ? `synth-${records}` : `synth-${records}-s${seed}`;
  const csv = `${BENCH_OUT}${name}.csv`;
  const truth = `${BENCH_OUT}${name}_truth.csv`;
  if (!existsSync(csv) || !existsSync(truth)) {
    process.stderr.write(`generating ${records} synthetic records...\n`);
    const run = spawnSync(
      'npx',
      [
        'tsx',
        fileURLToPath(new URL('./synth/generate.ts', import.meta.url)),
        '--records',
        String(records),
        '--seed',
        String(seed),
        '--out',
        csv,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (run.status !== 0) throw new Error('synthetic generator failed');
  }
  return { name, csv, truth };
}

/**
 * Creates a fresh PostgreSQL database for a benchmark (named per process, so two runs never share one, unless
 * `exact`), empty or copied from `template`, and returns its URL and a drop function.
 */
export async function freshDatabase(
  base: string,
  options: { exact?: boolean; template?: string } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = options.exact ? base : `${base}_p${process.pid}`;
  const admin = () => postgres(PG_ADMIN_URL, { max: 1, onnotice: () => undefined });
  const create = admin();
  await create.unsafe(`drop database if exists ${name} with (force)`);
  await create.unsafe(`create database ${name}${options.template ? ` template ${options.template}` : ''}`);
  await create.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = admin();
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

/** p-th percentile (0-100) of a list of numbers, by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * How sure a change of a percentile between two samples is: the 5th and 95th percentiles of the change (in %
 * of `before`'s) over `draws` resamplings of each sample with replacement. It treats the values as independent;
 * a machine's stalls hit neighbouring batches together, so the true uncertainty is wider, never narrower.
 */
export function percentileChangeInterval(before: number[], after: number[], p: number, draws = 2_000, seed = 1): [number, number] {
  const rng = new Rng(seed);
  const resample = (values: number[]) => Array.from(values, () => values[rng.nextUint32() % values.length]!);
  const changes = Array.from({ length: draws }, () => {
    const b = percentile(resample(before), p);
    return (100 * (percentile(resample(after), p) - b)) / b;
  });
  return [percentile(changes, 5), percentile(changes, 95)];
}

export function machine(): string {
  return `${process.platform} ${process.arch}, node ${process.version}`;
}

/**
 * A named database kept between runs (created when missing), for seeding once and measuring many times.
 * `readState` reads what the run that finished seeding it left there; an existing database without it is refused.
 */
export async function keptDatabase<S>(
  name: string,
  readState: (sql: postgres.Sql) => Promise<S | undefined>,
): Promise<{ url: string; drop: () => Promise<void>; state: S | undefined }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`--database must be a lower-case SQL identifier, not ${JSON.stringify(name)}`);
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => undefined });
  const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
  if (!exists) await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let state: S | undefined;
  if (exists) {
    const sql = postgres(url.toString(), { max: 1, onnotice: () => undefined });
    state = await readState(sql);
    await sql.end();
    if (state === undefined) throw new Error(`${name} exists but no run finished seeding it: drop it (dropdb ${name}) and run again`);
  }
  return { url: url.toString(), drop: async () => undefined, state };
}

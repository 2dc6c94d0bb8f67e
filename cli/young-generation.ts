import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';

/**
 * `mpi link` on large inputs runs with V8 semi-spaces of this many MB (its default on 64-bit is 16). Reading the
 * files, the main thread allocates each batch's rows and strings, which die within the batch; with the default
 * young generation they are collected every few milliseconds (and the lower peak with more suggests many were
 * promoted to the old generation first). With 32 MB, 1M records linked 2.2 s faster (6.7 %) in each of six runs
 * side by side, with 40-300 MB less at peak; 300,000 records 0.25 s faster; 100,000 no faster (docs/scaling.md).
 */
export const LINK_SEMI_SPACE_MB = 32;

/**
 * Input size (all files together) from which `mpi link` runs with larger semi-spaces: about 600,000 records. At
 * 300,000 the gain (0.25 s) was about what starting a second process costs (0.1-0.3 s).
 */
export const LARGE_LINK_INPUT_BYTES = 64 * 2 ** 20;

const FLAG = '--max-semi-space-size';

/** Node's options that set the semi-space size (NODE_OPTIONS, then the command line; V8 takes `_` for `-`). */
const semiSpaceOptions = (): string[] =>
  [...(process.env.NODE_OPTIONS ?? '').split(/\s+/), ...process.execArgv]
    .map((option) => option.replace(/_/g, '-'))
    .filter((option) => option.startsWith(FLAG));

/** The semi-space size Node was started with (the last one given), or null. */
export function semiSpaceMb(): number | null {
  const last = semiSpaceOptions().at(-1);
  const mb = last?.startsWith(`${FLAG}=`) ? Number(last.slice(FLAG.length + 1)) : NaN;
  return Number.isFinite(mb) ? mb : null;
}

function inputBytes(files: readonly string[]): number {
  let bytes = 0;
  for (const file of files) {
    try {
      const stat = statSync(file);
      if (stat.isFile()) bytes += stat.size;
    } catch {
      // Reported by the command itself.
    }
  }
  return bytes;
}

/**
 * The flag must be given when Node starts. So for large inputs, when no semi-space size was given, this runs the
 * same command again in a Node started with it (same options and environment, the same terminal), passes on
 * the signals this process gets, and resolves to its exit code. Resolves to null when this process is to do the
 * work itself: a small input, a size already given (an operator's `NODE_OPTIONS` wins), or no second process.
 */
export async function rerunWithLargerYoungGeneration(files: readonly string[]): Promise<number | null> {
  if (semiSpaceOptions().length > 0 || inputBytes(files) < LARGE_LINK_INPUT_BYTES) return null;
  const child = spawn(process.execPath, [...process.execArgv, `${FLAG}=${LINK_SEMI_SPACE_MB}`, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  // Failing to start it, or to send it a signal, is an 'error' event: the first leaves the work to this process,
  // the second changes nothing (it ends on its own).
  child.on('error', () => {});
  if (child.pid === undefined) return null;
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, signal) => resolve([code, signal])),
  );
  // From here on a signal for this process is one for the command: it goes to the process doing the work.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  try {
    const [code, signal] = await exited;
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    for (const signal of signals) process.off(signal, forward);
  }
}

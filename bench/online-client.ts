/**
 * What the service benchmarks share to run servers and time online callers beside other work: a server process
 * per replica, and an open-loop client of single-record `ingestRecord` calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { percentile } from './support.ts';

const SERVER = fileURLToPath(new URL('../api/server.ts', import.meta.url));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one server process (`api/server.ts`, run by tsx) with `env`; resolves once it answers /readyz. */
export async function startServer(port: number, env: Record<string, string>, profile?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), '--import', 'tsx', SERVER], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', MPI_REPLICA_ID: `bench-${port}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server on port ${port} exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`server on port ${port} did not become ready`);
}

/** Stops a server started by `startServer` and waits for it to exit. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const INGEST = 'mutation($input: SourceRecordInput!) { ingestRecord(input: $input) { outcome } }';

/**
 * Sends `rate` single-record ingests a second to `url` until `until` resolves (or `seconds` pass), each timed from
 * when it was due, so a slow answer delays none of the later calls (open loop). `records` are the calls' inputs,
 * taken in turn from `offset`. Resolves with the latencies and the number of calls that failed.
 */
export async function onlineIngest(
  url: string,
  key: string,
  records: Array<Record<string, unknown>>,
  offset: number,
  rate: number,
  stop: { seconds?: number; until?: Promise<unknown> },
): Promise<{ latencies: number[]; failed: number; sent: number; slowest: string }> {
  const timed: Array<{ at: number; latency: number }> = [];
  let failed = 0;
  let stopped = false;
  void stop.until?.then(() => (stopped = true));
  const start = performance.now();
  const calls: Array<Promise<void>> = [];
  for (let i = 0; !stopped && (stop.seconds === undefined || i < stop.seconds * rate); i++) {
    const due = start + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    if (stopped) break;
    const input = records[(offset + i) % records.length];
    calls.push(
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: INGEST, variables: { input } }),
      })
        .then(async (response) => {
          const body = (await response.json()) as { errors?: unknown[] };
          if (!response.ok || body.errors) failed += 1;
          else timed.push({ at: (due - start) / 1000, latency: performance.now() - due });
        })
        .catch(() => {
          failed += 1;
        }),
    );
  }
  await Promise.all(calls);
  const latencies = timed.map((t) => t.latency);
  const slowest = timed
    .sort((a, b) => b.latency - a.latency)
    .slice(0, 5)
    .map((t) => `${t.latency.toFixed(0)} ms at ${t.at.toFixed(1)} s`)
    .join(', ');
  return { latencies, failed, sent: calls.length, slowest };
}

/**
 * The cells comparing online latencies alone and beside other work, padded to `widths`: calls, p50 and p99 of
 * each, then the change of p99 in percent.
 */
export function latencyCells(alone: number[], beside: number[], widths: readonly number[]): string[] {
  const p99 = [percentile(alone, 99), percentile(beside, 99)] as const;
  return [
    String(alone.length),
    percentile(alone, 50).toFixed(1),
    p99[0].toFixed(1),
    String(beside.length),
    percentile(beside, 50).toFixed(1),
    p99[1].toFixed(1),
    `${p99[1] >= p99[0] ? '+' : ''}${((p99[1] / p99[0] - 1) * 100).toFixed(1)} %`,
  ].map((cell, k) => cell.padStart(widths[k]!));
}

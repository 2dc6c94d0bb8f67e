import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import postgres from 'postgres';
import { TEST_AUDIT_KEY } from './db.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** A server process (`api/server.ts`, as `npm start` runs it) and what it logged, parsed. */
export interface ServerProcess {
  url: string;
  replica: string;
  logs: Array<Record<string, unknown>>;
  child: ChildProcess;
  /** Stops it with `signal` and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a server process with `env` over the test's environment (JSON logs on stdout), once it listens. */
export async function startServer(replica: string, env: Record<string, string>, timeoutMs = 150_000): Promise<ServerProcess> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    // Replicas on one database chain the audit trail with one key.
    MPI_AUDIT_KEY: TEST_AUDIT_KEY,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    MPI_REPLICA_ID: replica,
    ...env,
  };
  for (const name of ['TEST_DATABASE_URL', 'MPI_TEST_DB', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete childEnv[name];
  const child = spawn('node', ['--import', 'tsx', 'api/server.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const listening = new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.port === 'number' && String(entry.msg).startsWith('MPI listening')) done(`http://127.0.0.1:${entry.port}`);
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => fail(new Error(`server ${replica} exited (${code}) before listening: ${stderr.slice(-2000)}`)));
    setTimeout(() => fail(new Error(`server ${replica} did not listen within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  let url: string;
  try {
    url = await listening;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    replica,
    logs,
    child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A new, empty PostgreSQL database on the server of TEST_DATABASE_URL: its URL, and a drop for afterAll. */
export async function createScratchDatabase(prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Sends a GraphQL operation to a server process. */
export async function gqlAt<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  key?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  try {
    return { status: response.status, ...(JSON.parse(text) as object) };
  } catch {
    return { status: response.status, errors: [{ message: text }] };
  }
}

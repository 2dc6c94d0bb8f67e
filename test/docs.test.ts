import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp, type App } from '../api/app.ts';
import { toNodeListener } from '../api/http.ts';
import { startHl7Listener } from '../api/mllp.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { deleteTestStreams, TEST_NATS_URL } from './nats.ts';
import { matchesShown, parseDocBlocks, valueAt, type DocBlock } from './docs/blocks.ts';

// Every executable block of the README and docs/*.md, in order, per file, against a fresh server in local mode
// on an in-memory database: the docs cannot drift from what the service does. The convention: test/docs/blocks.ts.
const ROOT = resolve(import.meta.dirname, '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const SHELL_TIMEOUT_MS = 60_000;
// Commands in the docs name the default port; each file's server listens on a free one instead.
const DEFAULT_ADDRESS = /\b(?:localhost|127\.0\.0\.1):4000\b/g;

interface Served {
  app: App;
  server: Server;
  mllp: { port: number; close(): Promise<void> };
  url: string;
  dir: string;
  vars: Record<string, unknown>;
}

// Files whose examples need the server configured beyond the defaults; the variables reach their shell blocks too.
// Change events publish to the machine's NATS server under a prefix of their own and deliver to receivers on loopback.
const FILE_ENV: Record<string, () => Record<string, string>> = {
  'docs/events.md': () => ({
    MPI_NATS_URL: TEST_NATS_URL,
    MPI_NATS_SUBJECT_PREFIX: `docs${randomBytes(4).toString('hex')}`,
    MPI_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    MPI_EVENTS_POLL_MS: '20',
  }),
  // Records published to JetStream are ingested by the server under a prefix of its own.
  'docs/scaling.md': () => ({
    MPI_NATS_URL: TEST_NATS_URL,
    MPI_NATS_SUBJECT_PREFIX: `docs${randomBytes(4).toString('hex')}`,
    MPI_NATS_INGEST: 'true',
  }),
};

async function serve(file: string): Promise<Served> {
  const fileEnv = FILE_ENV[file]?.() ?? {};
  const config = loadConfig({ NODE_ENV: 'development', MPI_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', ...fileEnv });
  const app = await createApp(config, createLogger('silent'));
  const server = createServer(toNodeListener(app.http));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const mllp = (await startHl7Listener(app.services, { port: 0, host: '127.0.0.1' }))!;
  const dir = mkdtempSync(join(tmpdir(), 'mpi-docs-'));
  symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
  return { app, server, mllp, url: `127.0.0.1:${port}`, dir, vars: { ...fileEnv } };
}

async function runShell(block: DocBlock, ctx: Served): Promise<{ output: string; status: number | null }> {
  const prelude = [
    'set -eo pipefail',
    'exec 2>&1',
    `npx() { if [ "$1" = mpi ]; then shift; node ${JSON.stringify(join(ROOT, 'cli/mpi.js'))} "$@"; else command npx "$@"; fi; }`,
  ].join('\n');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(TEST_)?DATABASE_URL$|^MPI_/.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(ctx.vars)) env[k] = String(v);
  Object.assign(env, {
    MPI_URL: `http://${ctx.url}/graphql`,
    MPI_DATA_DIR: join(ctx.dir, 'data'),
    MPI_MLLP_PORT: String(ctx.mllp.port),
    NO_COLOR: '1',
    LOG_LEVEL: 'warn',
  });
  const child = spawn('bash', ['-c', `${prelude}\n${block.code.replace(DEFAULT_ADDRESS, ctx.url)}`], {
    cwd: ctx.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), SHELL_TIMEOUT_MS);
  const status = await new Promise<number | null>((done) => child.on('close', done));
  clearTimeout(timer);
  return { output, status };
}

async function runGraphql(block: DocBlock, ctx: Served): Promise<unknown[]> {
  const operations = parse(block.code).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const results: unknown[] = [];
  for (const operation of operations) {
    const variables: Record<string, unknown> = {};
    for (const v of operation.variableDefinitions ?? []) {
      const name = v.variable.name.value;
      if (!(name in ctx.vars)) throw new Error(`$${name} is used before a block sets it (<!-- doc-test: set ${name}=… -->)`);
      variables[name] = ctx.vars[name];
    }
    const response = await fetch(`http://${ctx.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: print(operation), variables }),
    });
    results.push(await response.json());
  }
  return results;
}

for (const file of FILES) {
  const blocks = parseDocBlocks(readFileSync(join(ROOT, file), 'utf8'));
  const runnable = blocks.filter((b) => !b.skip);
  describe.skipIf(runnable.length === 0)(`${file} runs as written`, () => {
    let ctx: Served;
    beforeAll(async () => {
      ctx = await serve(file);
    }, 180_000);
    afterAll(async () => {
      if (!ctx) return;
      await new Promise((done) => ctx.server.close(done));
      await ctx.mllp.close();
      await ctx.app.close();
      const prefix = ctx.vars.MPI_NATS_SUBJECT_PREFIX;
      if (typeof prefix === 'string') await deleteTestStreams(prefix);
      rmSync(ctx.dir, { recursive: true, force: true });
    });

    for (const block of blocks) {
      test.skipIf(block.skip !== null)(
        `${file}:${block.line} (${block.kind})`,
        async () => {
          let shown: string;
          let json: unknown = undefined;
          if (block.kind === 'sh') {
            const { output, status } = await runShell(block, ctx);
            expect(status, `${file}:${block.line} exited ${status}:\n${output}`).toBe(0);
            shown = output;
            if (block.sets.length > 0) json = JSON.parse(output);
          } else {
            const results = await runGraphql(block, ctx);
            shown = results.map((r) => JSON.stringify(r)).join('\n');
            const failed = results.filter((r) => (r as { errors?: unknown }).errors);
            if (!block.expected?.text.includes('"errors"')) expect(failed, `${file}:${block.line} answered errors`).toEqual([]);
            json = results.at(-1);
          }
          if (block.expected) {
            const { format, text, line } = block.expected;
            expect(matchesShown(shown, text, format), `${file}:${line} shows\n${text}\nbut the block printed\n${shown}`).toBe(true);
          }
          for (const { name, path } of block.sets) {
            const value = valueAt(json, path);
            expect(value, `${file}:${block.line}: nothing at ${path} to set ${name}`).toBeDefined();
            ctx.vars[name] = value;
          }
        },
        SHELL_TIMEOUT_MS + 5_000,
      );
    }
  });
}

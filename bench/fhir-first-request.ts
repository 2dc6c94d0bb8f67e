// Time to the first FHIR answer of a freshly started server: starts `api/server.ts` (embedded database in
// memory, local mode) as its own process, waits until it listens, waits `--after` ms, then times one Patient
// `$match` (its Parameters validated against the R4 definitions) and a second one for comparison. Prints when the definitions
// finished loading in the background, as the server logs it.
//   npm run bench:fhir-first -- --after 0,3000 --port 4700
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { machine } from './support.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const matchRequest = (given: string) =>
  JSON.stringify({
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'resource',
        resource: { resourceType: 'Patient', name: [{ family: 'Ashdown', given: [given] }], gender: 'female', birthDate: '1950-05-06' },
      },
    ],
  });

async function run(port: number, afterMs: number): Promise<string> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      MPI_DATA_DIR: 'memory://',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      MPI_AUTO_REGISTER_SOURCES: 'true',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = performance.now();
  let listening = 0;
  let loaded = 0;
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      if (line.includes('MPI listening')) {
        listening = performance.now() - started;
        resolve();
      }
      if (line.includes('FHIR R4 definitions loaded')) loaded = performance.now() - started;
    });
  });
  try {
    await ready;
    await new Promise((r) => setTimeout(r, afterMs));
    const time = async (given: string) => {
      const t = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}/fhir/Patient/$match`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: matchRequest(given),
      });
      await response.arrayBuffer();
      if (response.status >= 400) throw new Error(`HTTP ${response.status}`);
      return performance.now() - t;
    };
    const first = await time('Perpetua');
    const second = await time('Petra');
    await new Promise((r) => setTimeout(r, 50));
    const loadedText = loaded ? `${(loaded / 1000).toFixed(1)} s after spawn` : 'not yet';
    return (
      `  first request ${afterMs} ms after listening: ${first.toFixed(0)} ms (second ${second.toFixed(0)} ms); ` +
      `listening ${(listening / 1000).toFixed(1)} s after spawn, definitions loaded ${loadedText}`
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

const opts = new Command('bench:fhir-first')
  .option('--after <list>', 'ms to wait after the server listens before the first request, comma-separated', '0,3000,10000')
  .option('--port <n>', 'port for the server', '4700')
  .parse()
  .opts<{ after: string; port: string }>();
const lines = [`first FHIR request of a fresh server, ${machine()}`];
for (const after of opts.after.split(',').map(Number)) lines.push(await run(Number(opts.port), after));
console.log(lines.join('\n'));

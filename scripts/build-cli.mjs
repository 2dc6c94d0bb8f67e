// Builds the `mpi` command into dist/cli (run by `npm ci` / `npm install` through `prepare`), so it starts
// without compiling TypeScript. cli/mpi.js runs the build while it is newer than every file it was made from,
// and the TypeScript source through tsx otherwise (a checkout without a build, or with edited sources).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('mpi: esbuild is not installed (production install?): the CLI will run from its TypeScript source\n');
  process.exit(0);
}
const result = await esbuild.build({
  absWorkingDir: root,
  // Worker threads are entries of their own, beside the chunks that start them (platform/worker.ts): the batch
  // engine's (cli/link-threads.ts starts dist/cli/link-worker.js), the model lifecycle's (identity/model-thread.ts) and
  // webhook delivery's (events/delivery-thread.ts).
  entryPoints: {
    mpi: 'cli/mpi.ts',
    'link-worker': 'cli/link-worker.ts',
    'model-worker': 'identity/model-worker.ts',
    'delivery-worker': 'events/delivery-worker.ts',
  },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies load from node_modules; only our own code is bundled. Paths made from import.meta.url
  // (migrations/, package.json) resolve from dist/cli as they do from a folder one level down in the source.
  packages: 'external',
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/'));
writeFileSync(new URL('../dist/cli/inputs.json', import.meta.url), JSON.stringify({ builtAt: Date.now(), inputs }));

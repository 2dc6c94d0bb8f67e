import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** Where tsx's ESM loader API is (`import.meta.resolve` where the runtime has it, else from tsx's package.json). */
function tsxLoaderUrl(from: string): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const manifest = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } | string }> };
  const entry = pkg.exports['./esm/api']!.import;
  return new URL(typeof entry === 'string' ? entry : entry.default, pathToFileURL(manifest)).href;
}

/**
 * Starts the worker thread whose entry is `name` beside `from` (the caller's `import.meta.url`). The built CLI
 * (dist/cli) has every worker bundled beside its chunks as `name.js` (scripts/build-cli.mjs); run from the
 * TypeScript source (through tsx, or the test runner), the worker first registers tsx's loader, then imports
 * `name.ts`.
 */
export function startWorker(from: string, name: string, options: { resourceLimits?: ResourceLimits } = {}): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), options);
  const tsx = tsxLoaderUrl(from);
  const entry = new URL(`./${name}.ts`, from).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

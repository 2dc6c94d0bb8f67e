import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = fileURLToPath(new URL('.', import.meta.url));
/** Where the production build of the console goes (never committed). */
export const CONSOLE_DIST = join(WEB_DIR, 'dist');
const STAMP = join(CONSOLE_DIST, '.built');
/** What the build reads: a change to any of these makes the build stale. */
const INPUTS = ['src', 'index.html', 'graphiql.html', 'vite.config.ts', 'build.ts', '../package-lock.json', '../schema.graphql'];

function newestInput(): number {
  let newest = 0;
  for (const input of INPUTS) {
    const path = join(WEB_DIR, input);
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (!stat.isDirectory()) {
      newest = Math.max(newest, stat.mtimeMs);
      continue;
    }
    for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Whether `web/dist` is missing or older than its sources. */
export function consoleBuildIsStale(): boolean {
  return !existsSync(STAMP) || statSync(STAMP).mtimeMs < newestInput();
}

/** Builds the console with Vite when its build is missing or stale (or always, with `force`). */
export async function buildConsole(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && !consoleBuildIsStale()) return false;
  const { build } = await import('vite');
  // Vite builds for whatever NODE_ENV the calling process has: under the test runner (`test`) that was React's
  // development build, twice the size and several times slower to render, left in web/dist for `npm start` and the
  // benchmark to serve. What is served is always the production build.
  const callersEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: options.quiet ? 'error' : 'warn' });
  } finally {
    if (callersEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = callersEnv;
  }
  writeFileSync(STAMP, new Date().toISOString());
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  const started = Date.now();
  const built = await buildConsole({ force });
  console.log(built ? `console built in web/dist (${Date.now() - started} ms)` : 'console build is up to date');
}

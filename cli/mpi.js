#!/usr/bin/env node
// Entry point for `npx mpi`. Runs the built CLI (dist/cli, made at install by scripts/build-cli.mjs) when no
// file it was built from has changed since; otherwise the TypeScript source through tsx's loader (slower start).
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function builtIsCurrent() {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
    return inputs.every((file) => statSync(new URL(file, root)).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}

if (builtIsCurrent()) {
  await import(new URL('dist/cli/mpi.js', root).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./mpi.ts');
}

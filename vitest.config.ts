import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CJS ("main") and ESM ("module"): Node loads the CJS build for our dependencies, so test files
// must get the same one or graphql sees two copies of itself.
const graphqlMain = createRequire(import.meta.url).resolve('graphql');

// Database tests (*.int.test.ts) run once on embedded PGlite and, when a server URL is given, again on PostgreSQL.
const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const unitOnly = ['**/node_modules/**', '**/*.int.test.ts', 'bench/out/**'];

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlMain }] },
  test: {
    testTimeout: 30_000,
    // Two test files at a time even on two cores (vitest's default there is one): most files spend much of their
    // time waiting for PostgreSQL, a browser or a child process. On the 2-core CI machine the suite took 951 s
    // instead of 1,371 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    hookTimeout: 60_000,
    projects: [
      { extends: true as const, test: { name: 'unit', include: ['**/*.test.ts'], exclude: unitOnly } },
      {
        extends: true as const,
        test: { name: 'pglite', include: ['**/*.int.test.ts'], exclude: ['**/node_modules/**'], env: { MPI_TEST_DB: 'pglite' } },
      },
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['**/*.int.test.ts'],
                exclude: ['**/node_modules/**'],
                env: { MPI_TEST_DB: 'postgres', TEST_DATABASE_URL: postgresUrl },
              },
            },
          ]
        : []),
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Database tests (*.int.test.ts) run once on embedded PGlite and, when a server URL is given, again on PostgreSQL.
const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const unitOnly = ['**/node_modules/**', '**/*.int.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { test: { name: 'unit', include: ['**/*.test.ts'], exclude: unitOnly } },
      { test: { name: 'pglite', include: ['**/*.int.test.ts'], exclude: ['**/node_modules/**'], env: { MPI_TEST_DB: 'pglite' } } },
      ...(postgresUrl
        ? [{ test: { name: 'postgres', include: ['**/*.int.test.ts'], exclude: ['**/node_modules/**'], env: { MPI_TEST_DB: 'postgres', TEST_DATABASE_URL: postgresUrl } } }]
        : []),
    ],
  },
});

// @ts-check
import tseslint from 'typescript-eslint';

/**
 * The layering (docs/architecture.md), checked on every relative import:
 * - the matching core is pure: nothing in matching/ imports from outside matching/;
 * - platform/ (config, db, telemetry, errors) imports no domain;
 * - nothing imports api/, the outermost ring (tests and benchmarks drive it, so they may);
 * - a folder imports another domain only through that domain's index.ts;
 * - api/ never touches the database: no db client, no drizzle schema, no drizzle-orm or postgres, no
 *   `services.database.db`. Services own the SQL. DATABASE_HOLDERS are the exceptions.
 */
const DOMAINS = ['matching', 'identity', 'lineage', 'catalog', 'interop', 'events'];
const LAYERED = [...DOMAINS, 'platform', 'api', 'cli'];
/** How deep the layered folders go: the rule matches imports by how many `../` reach the repository root. */
const MAX_DEPTH = 4;

/**
 * The api/ files that may hold the database handle: where the services are built over it (services.ts) and where
 * it is opened and closed (app.ts). The audit trail and the scheduled jobs are reached through the services.
 */
const DATABASE_HOLDERS = ['api/services.ts', 'api/app.ts'];
const NO_DATABASE = 'api/ never touches the database: call a service built in api/services.ts (its store owns the SQL).';

/** @param {string} folder @param {number} depth @param {{ database?: boolean }} [allow] */
function layeringPatterns(folder, depth, allow = {}) {
  const root = `^(\\.\\./){${depth}}`;
  const patterns = [];
  if (folder === 'matching') {
    patterns.push({ regex: `${root}`, message: 'The matching core is pure: it imports only from matching/ (and its string libraries).' });
  }
  if (folder === 'platform') {
    patterns.push({
      regex: `${root}(${[...DOMAINS, 'api', 'cli'].join('|')})/`,
      message: 'platform/ is the ground floor: it imports no domain.',
    });
  }
  if (folder !== 'api') {
    patterns.push({ regex: `${root}api/`, message: 'Nothing imports api/: it is the outermost ring.' });
  }
  if (folder === 'api' && !allow.database) {
    patterns.push(
      { regex: `${root}platform/db/(client\\.ts$|schema/)`, message: NO_DATABASE },
      { regex: '^(drizzle-orm|postgres)(/|$)', message: NO_DATABASE },
    );
  }
  const others = DOMAINS.filter((d) => d !== folder);
  patterns.push({ regex: `${root}(${others.join('|')})/(?!index\\.ts$)`, message: 'Import another domain only through its index.ts.' });
  return patterns;
}

/** One config per folder and depth: flat config replaces (does not merge) a rule's options per file. */
const layering = LAYERED.flatMap((folder) =>
  Array.from({ length: MAX_DEPTH }, (_, i) => i + 1).map((depth) => ({
    files: [`${folder}/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layeringPatterns(folder, depth) }] },
  })),
);

/** The holders get api/'s layering without the database rule (a later config replaces the rule's options). */
const databaseHolders = DATABASE_HOLDERS.map((file) => ({
  files: [file],
  rules: { 'no-restricted-imports': ['error', { patterns: layeringPatterns('api', file.split('/').length - 1, { database: true }) }] },
}));

/** Reaching for the handle through the services (`ctx.services.database.db`) is refused as well as importing it. */
const apiWithoutDatabaseHandle = {
  files: ['api/**/*.ts'],
  ignores: ['**/*.test.ts', ...DATABASE_HOLDERS],
  rules: {
    'no-restricted-syntax': [
      'error',
      {
        selector: "MemberExpression[property.name='db'][object.type='MemberExpression'][object.property.name='database']",
        message: NO_DATABASE,
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'data/**',
      'migrations/**',
      'coverage/**',
      'bench/out/**',
      'web/dist/**',
      'dist/**',
      'web/src/graphql-env.d.ts',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  ...layering,
  ...databaseHolders,
  apiWithoutDatabaseHandle,
);

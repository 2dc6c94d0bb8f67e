// @ts-check
import tseslint from 'typescript-eslint';

/**
 * The layering (docs/architecture.md), checked on every relative import:
 * - the matching core is pure: nothing in matching/ imports from outside matching/;
 * - platform/ (config, db, telemetry, errors) imports no domain;
 * - nothing imports api/, the outermost ring (tests and benchmarks drive it, so they may);
 * - a folder imports another domain only through that domain's index.ts.
 */
const DOMAINS = ['matching', 'identity', 'lineage', 'catalog', 'interop', 'events'];
const LAYERED = [...DOMAINS, 'platform', 'api', 'cli'];
/** How deep the layered folders go: the rule matches imports by how many `../` reach the repository root. */
const MAX_DEPTH = 4;

/** @param {string} folder @param {number} depth */
function layeringPatterns(folder, depth) {
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
);

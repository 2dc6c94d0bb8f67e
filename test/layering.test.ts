import { ESLint } from 'eslint';
import { describe, expect, test } from 'vitest';

const eslint = new ESLint();

/** The layering messages ESLint gives one import written in a file at `path`. */
async function layeringErrors(path: string, from: string): Promise<string[]> {
  const [result] = await eslint.lintText(`export * from '${from}';\n`, { filePath: path });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layering lint rule', () => {
  test.each([
    ['matching/scoring.ts', '../platform/errors.ts', 'matching core is pure'],
    ['matching/scoring.ts', '../identity/index.ts', 'matching core is pure'],
    ['platform/audit.ts', '../identity/index.ts', 'imports no domain'],
    ['platform/db/schema/identity.ts', '../../../lineage/index.ts', 'imports no domain'],
    ['identity/service.ts', '../api/context.ts', 'Nothing imports api/'],
    ['interop/fhir/handler.ts', '../../api/services.ts', 'Nothing imports api/'],
    ['identity/service.ts', '../lineage/store.ts', 'only through its index.ts'],
    ['api/schema/lineage.ts', '../../lineage/run-store.ts', 'only through its index.ts'],
    ['cli/link.ts', '../matching/scoring.ts', 'only through its index.ts'],
  ])('refuses %s importing %s', async (path, from, message) => {
    expect((await layeringErrors(path, from)).join('\n')).toContain(message);
  });

  test.each([
    ['matching/scoring.ts', './model.ts'],
    ['identity/service.ts', '../lineage/index.ts'],
    ['identity/service.ts', '../platform/db/client.ts'],
    ['api/schema/lineage.ts', '../../lineage/index.ts'],
    ['api/schema/lineage.ts', '../masking.ts'],
    ['interop/bench/interop-bench.ts', '../fhir/handler.ts'],
    ['test/app.ts', '../api/services.ts'],
  ])('allows %s importing %s', async (path, from) => {
    expect(await layeringErrors(path, from)).toEqual([]);
  });
});

/** The messages of the database rule for `source` written in a file at `path`. */
async function databaseErrors(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('the rule that api/ never touches the database', () => {
  test.each([
    ['api/dead-letters.ts', `import { sql } from 'drizzle-orm';\nexport { sql };\n`],
    ['api/schema/review.ts', `import { and } from 'drizzle-orm/sql';\nexport { and };\n`],
    ['api/auth.ts', `import postgres from 'postgres';\nexport { postgres };\n`],
    ['api/fhir-resources.ts', `export * from '../platform/db/client.ts';\n`],
    ['api/schema/catalog.ts', `export { phiClass } from '../../platform/db/schema/index.ts';\n`],
    ['api/schema/catalog.ts', `export { sources } from '../../platform/db/schema/catalog.ts';\n`],
    ['api/mllp.ts', `export const rows = (ctx: { services: { database: { db: unknown } } }) => ctx.services.database.db;\n`],
    ['api/audit-plugin.ts', `import type { Executor } from '../platform/db/client.ts';\nexport type { Executor };\n`],
    ['api/schema/audit.ts', `export const rows = (ctx: { services: { database: { db: unknown } } }) => ctx.services.database.db;\n`],
    ['api/schema/security.ts', `export const rows = (ctx: { services: { database: { db: unknown } } }) => ctx.services.database.db;\n`],
    ['api/jobs.ts', `export const rows = (services: { database: { db: unknown } }) => services.database.db;\n`],
  ])('refuses %s: %s', async (path, source) => {
    expect((await databaseErrors(path, source)).join('\n')).toContain('api/ never touches the database');
  });

  test.each([
    ['api/services.ts', `export * from '../platform/db/client.ts';\n`],
    ['api/app.ts', `export const rows = (services: { database: { db: unknown } }) => services.database.db;\n`],
    ['api/http.ts', `export * from '../platform/db/failures.ts';\n`],
    ['api/server.ts', `export * from '../platform/db/data-dir-lock.ts';\n`],
    ['api/dead-letters.ts', `export const list = (s: { deadLetters: { list(): unknown } }) => s.deadLetters.list();\n`],
    ['identity/store.ts', `import { sql } from 'drizzle-orm';\nexport { sql };\n`],
  ])('allows %s: %s', async (path, source) => {
    expect(await databaseErrors(path, source)).toEqual([]);
  });

  test('the holders still keep the rest of the layering', async () => {
    expect((await databaseErrors('api/services.ts', `export * from '../lineage/store.ts';\n`)).join('\n')).toContain(
      'only through its index.ts',
    );
  });
});

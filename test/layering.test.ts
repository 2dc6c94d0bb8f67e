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
    ['api/schema/lineage.ts', '../../lineage/runs.ts', 'only through its index.ts'],
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

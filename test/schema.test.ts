import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isObjectType } from 'graphql';
import { describe, expect, test } from 'vitest';
import { printSchemaSdl, schema } from '../api/schema/index.ts';

describe('GraphQL schema', () => {
  test('matches the committed schema.graphql (run `npm run schema:print` after an API change)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../schema.graphql', import.meta.url)), 'utf8');
    expect(printSchemaSdl()).toBe(committed);
  });

  test('every query and mutation declares the roles allowed to call it (default deny)', () => {
    const unguarded: string[] = [];
    for (const typeName of ['Query', 'Mutation']) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const options = (field.extensions?.pothosOptions ?? {}) as { authScopes?: unknown; skipTypeScopes?: unknown };
        if (!options.authScopes) unguarded.push(`${typeName}.${field.name}`);
      }
    }
    expect(unguarded).toEqual([]);
  });
});

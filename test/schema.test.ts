import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isEnumType, isObjectType, type GraphQLEnumType } from 'graphql';
import { describe, expect, test } from 'vitest';
import { withErrorCatalogue } from '../api/error-catalogue.ts';
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

describe('API guide', () => {
  test('lists every error code with its meaning, as the ErrorCode enum has them (run `npm run schema:print`)', () => {
    const guide = readFileSync(fileURLToPath(new URL('../docs/api.md', import.meta.url)), 'utf8');
    expect(withErrorCatalogue(guide)).toBe(guide);
    const codes = schema.getType('ErrorCode');
    expect(isEnumType(codes)).toBe(true);
    for (const value of (codes as GraphQLEnumType).getValues()) {
      expect(guide).toContain(`| \`${value.name}\` | ${value.description!.replace(/\|/g, '\\|')} |`);
    }
  });
});

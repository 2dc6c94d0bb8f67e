import { getTableConfig } from 'drizzle-orm/pg-core';
import { describe, expect, test } from 'vitest';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { CANONICAL_FIELD_SPECS, DEFAULT_GLOSSARY, canonicalField } from './canonical-fields.ts';

describe('canonical field catalog', () => {
  test.each([
    ['givenName', 'DIRECT_IDENTIFIER'],
    ['middleName', 'DIRECT_IDENTIFIER'],
    ['familyName', 'DIRECT_IDENTIFIER'],
    ['suffix', 'DIRECT_IDENTIFIER'],
    ['ssn', 'DIRECT_IDENTIFIER'],
    ['phone', 'DIRECT_IDENTIFIER'],
    ['email', 'DIRECT_IDENTIFIER'],
    ['addressLine1', 'DIRECT_IDENTIFIER'],
    ['addressLine2', 'DIRECT_IDENTIFIER'],
    ['birthDate', 'QUASI_IDENTIFIER'],
    ['sex', 'QUASI_IDENTIFIER'],
    ['postalCode', 'QUASI_IDENTIFIER'],
    ['city', 'QUASI_IDENTIFIER'],
    ['state', 'QUASI_IDENTIFIER'],
  ])('classifies %s as %s', (name, phiClass) => {
    expect(canonicalField(name)?.phiClass).toBe(phiClass);
  });

  test('maps every canonical field to its golden field and to glossary terms that exist', () => {
    const terms = new Set(DEFAULT_GLOSSARY.map((t) => t.term));
    for (const f of CANONICAL_FIELD_SPECS) {
      expect(f.goldenField).toBe(f.name);
      expect(f.glossaryTerms.length).toBeGreaterThan(0);
      for (const term of f.glossaryTerms) expect(terms.has(term), `${f.name} -> ${term}`).toBe(true);
    }
  });

  test('names each source_records column once, and only columns that exist', () => {
    const columns = CANONICAL_FIELD_SPECS.map((f) => f.column);
    expect(new Set(columns).size).toBe(columns.length);
    const existing = new Set(getTableConfig(sourceRecords).columns.map((c) => c.name));
    expect(columns.filter((c) => !existing.has(c))).toEqual([]);
    expect(CANONICAL_FIELD_SPECS).toHaveLength(14);
  });
});

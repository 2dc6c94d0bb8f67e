import { getTableColumns } from 'drizzle-orm';
import { describe, expect, test } from 'vitest';
import { MASKING_POLICY, PHI_FIELDS } from '../api/masking.ts';
import { CANONICAL_FIELD_SPECS } from '../catalog/index.ts';
import { TEXT_FIELDS } from '../identity/validate.ts';
import { DEFAULT_POLICY, GOLDEN_FIELDS } from '../lineage/index.ts';
import { CANONICAL_FIELD_DEFINITIONS, CANONICAL_FIELDS } from '../matching/index.ts';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { schema } from '../api/schema/index.ts';

const NAMES = [
  'givenName',
  'middleName',
  'familyName',
  'suffix',
  'sex',
  'birthDate',
  'ssn',
  'phone',
  'email',
  'addressLine1',
  'addressLine2',
  'city',
  'state',
  'postalCode',
];

describe('the canonical fields, defined once', () => {
  test('every layer lists the same fields in the same order', () => {
    expect([...CANONICAL_FIELDS]).toEqual(NAMES);
    for (const list of [TEXT_FIELDS, PHI_FIELDS, GOLDEN_FIELDS, CANONICAL_FIELD_SPECS.map((f) => f.name), Object.keys(MASKING_POLICY)]) {
      expect([...list]).toEqual(NAMES);
    }
  });

  test('each field names the drizzle column that stores it', () => {
    const columns = getTableColumns(sourceRecords) as Record<string, { name: string }>;
    for (const f of CANONICAL_FIELD_DEFINITIONS) expect(columns[f.name]?.name, f.name).toBe(f.column);
  });

  test.each([
    ['givenName', 'SOURCE_PRIORITY'],
    ['middleName', 'MOST_COMPLETE'],
    ['familyName', 'SOURCE_PRIORITY'],
    ['suffix', 'SOURCE_PRIORITY'],
    ['sex', 'MOST_FREQUENT'],
    ['birthDate', 'MOST_FREQUENT'],
    ['ssn', 'MOST_FREQUENT'],
    ['phone', 'MOST_RECENT'],
    ['email', 'MOST_RECENT'],
    ['addressLine1', 'MOST_RECENT'],
    ['addressLine2', 'MOST_RECENT'],
    ['city', 'MOST_RECENT'],
    ['state', 'MOST_RECENT'],
    ['postalCode', 'MOST_RECENT'],
  ])('the default survivorship policy decides %s by %s', (field, rule) => {
    expect(DEFAULT_POLICY.rules[field as keyof typeof DEFAULT_POLICY.rules]).toEqual({ rule });
  });

  test('the GraphQL record inputs and outputs carry every field', () => {
    for (const type of ['SourceRecordInput', 'RecordFieldsInput', 'SourceRecord', 'GoldenRecord']) {
      const fields = Object.keys((schema.getType(type) as unknown as { getFields(): Record<string, unknown> }).getFields());
      expect(
        NAMES.filter((n) => !fields.includes(n)),
        type,
      ).toEqual([]);
    }
  });
});

import { describe, expect, test } from 'vitest';
import { parsePatient, type FhirPatientInput } from './patient-schema.ts';
import { patientToRecord, resolveSourceIdentifier, US_SSN_SYSTEM } from './patient-to-record.ts';

const SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.1';

function valid(body: unknown): FhirPatientInput {
  const parsed = parsePatient(body);
  if (!parsed.ok) throw new Error(`fixture is invalid: ${JSON.stringify(parsed.issues)}`);
  return parsed.value;
}

function patient(extra: Record<string, unknown>): FhirPatientInput {
  return valid({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: 'MRN-1' }], ...extra });
}

describe('patientToRecord', () => {
  test.each([
    {
      behaviour: 'takes the official name, the first given name as given and the rest as middle',
      extra: {
        name: [
          { use: 'nickname', given: ['Zed'] },
          { use: 'official', family: 'Quillfeather', given: ['Zephyrine', 'Ottoline', 'Mae'], suffix: ['Jr'], prefix: ['Dr'] },
        ],
      },
      expected: { givenName: 'Zephyrine', middleName: 'Ottoline Mae', familyName: 'Quillfeather', suffix: 'Jr' },
    },
    {
      behaviour: 'falls back to the usual name when there is no official one and ignores old names',
      extra: {
        name: [
          { use: 'old', family: 'Oldname' },
          { use: 'usual', family: 'Brightwater', given: ['Ivo'] },
        ],
      },
      expected: { givenName: 'Ivo', middleName: null, familyName: 'Brightwater' },
    },
    {
      behaviour: 'maps each administrative gender to canonical sex, unknown to missing',
      extra: { gender: 'female' },
      expected: { sex: 'F' },
    },
    { behaviour: 'maps male to M', extra: { gender: 'male' }, expected: { sex: 'M' } },
    { behaviour: 'maps other to O', extra: { gender: 'other' }, expected: { sex: 'O' } },
    { behaviour: 'maps unknown gender to missing sex', extra: { gender: 'unknown' }, expected: { sex: null } },
    {
      behaviour: 'reads the SSN from the us-ssn identifier',
      extra: {
        identifier: [
          { system: SYSTEM, value: 'MRN-1' },
          { system: US_SSN_SYSTEM, value: '512-48-3067' },
        ],
      },
      expected: { ssn: '512-48-3067' },
    },
    {
      behaviour: 'prefers the home phone over work and skips old numbers, and takes the email',
      extra: {
        telecom: [
          { system: 'phone', value: '555-0100', use: 'work' },
          { system: 'phone', value: '555-0199', use: 'old' },
          { system: 'email', value: 'zq@example.test' },
          { system: 'phone', value: '555-0142', use: 'home' },
        ],
      },
      expected: { phone: '555-0142', email: 'zq@example.test' },
    },
    {
      behaviour: 'honours telecom rank before use',
      extra: {
        telecom: [
          { system: 'phone', value: '555-0142', use: 'home', rank: 2 },
          { system: 'phone', value: '555-0177', use: 'work', rank: 1 },
        ],
      },
      expected: { phone: '555-0177' },
    },
    {
      behaviour: 'takes the first home address, first line as line 1 and the rest as line 2',
      extra: {
        address: [
          { use: 'work', line: ['1 Office Park'], city: 'Worktown' },
          { use: 'home', line: ['12 Larch Lane', 'Apt 4', 'Rear'], city: 'Fernvale', state: 'OR', postalCode: '97001' },
          { use: 'home', line: ['99 Other St'] },
        ],
      },
      expected: { addressLine1: '12 Larch Lane', addressLine2: 'Apt 4, Rear', city: 'Fernvale', state: 'OR', postalCode: '97001' },
    },
    {
      behaviour: 'uses an address without a use when there is no home address, never a work one',
      extra: {
        address: [
          { use: 'work', city: 'Worktown' },
          { line: ['3 Elm Row'], city: 'Fernvale' },
        ],
      },
      expected: { addressLine1: '3 Elm Row', city: 'Fernvale' },
    },
    {
      behaviour: 'trims whitespace around values',
      extra: { name: [{ family: '  Quillfeather ', given: [' Zephyrine'] }], birthDate: '1984-02-29' },
      expected: { familyName: 'Quillfeather', givenName: 'Zephyrine', birthDate: '1984-02-29' },
    },
  ])('$behaviour', ({ extra, expected }) => {
    const { record, issues, warnings } = patientToRecord(patient(extra));
    expect(issues).toEqual([]);
    expect(warnings).toEqual([]);
    expect(record).toMatchObject(expected);
  });

  test('leaves every field missing for a Patient with only an identifier', () => {
    const { record } = patientToRecord(patient({}));
    expect(Object.values(record).every((v) => v === null)).toBe(true);
  });

  test('rejects a partial birth date without quoting the value', () => {
    const { issues } = patientToRecord(patient({ birthDate: '1984-02' }));
    expect(issues).toEqual([
      { severity: 'error', code: 'value', diagnostics: 'must be an ISO date (YYYY-MM-DD)', expression: ['Patient.birthDate'] },
    ]);
  });

  test.each([
    { value: '12-34', diagnostics: 'has the wrong number of digits' },
    { value: '000-00-0000', diagnostics: 'is a placeholder value' },
  ])('keeps the SSN $value for the service to leave out of matching and warns, naming the element', ({ value, diagnostics }) => {
    const { record, issues, warnings } = patientToRecord(
      patient({
        identifier: [
          { system: SYSTEM, value: 'MRN-1' },
          { system: US_SSN_SYSTEM, value },
        ],
      }),
    );
    expect(issues).toEqual([]);
    expect(record.ssn).toBe(value);
    expect(warnings).toEqual([{ severity: 'warning', code: 'value', diagnostics, expression: ['Patient.identifier[1].value'] }]);
  });
});

describe('parsePatient', () => {
  test.each([
    {
      behaviour: 'rejects a resource that is not a Patient',
      body: { resourceType: 'Observation' },
      expression: 'Patient.resourceType',
      code: 'invalid',
    },
    { behaviour: 'rejects a body that is not an object', body: [1, 2], expression: 'Patient', code: 'structure' },
    {
      behaviour: 'rejects an impossible calendar date',
      body: { resourceType: 'Patient', birthDate: '2001-02-30' },
      expression: 'Patient.birthDate',
      code: 'value',
    },
    {
      behaviour: 'rejects a malformed date',
      body: { resourceType: 'Patient', birthDate: '03/04/2001' },
      expression: 'Patient.birthDate',
      code: 'value',
    },
    {
      behaviour: 'rejects an unknown gender code',
      body: { resourceType: 'Patient', gender: 'M' },
      expression: 'Patient.gender',
      code: 'value',
    },
    {
      behaviour: 'rejects a given name that is not a list',
      body: { resourceType: 'Patient', name: [{ given: 'Ivo' }] },
      expression: 'Patient.name[0].given',
      code: 'structure',
    },
    {
      behaviour: 'rejects an empty array',
      body: { resourceType: 'Patient', telecom: [] },
      expression: 'Patient.telecom',
      code: 'structure',
    },
    {
      behaviour: 'rejects a blank identifier value',
      body: { resourceType: 'Patient', identifier: [{ system: SYSTEM, value: '  ' }] },
      expression: 'Patient.identifier[0].value',
      code: 'value',
    },
    {
      behaviour: 'rejects a system with whitespace',
      body: { resourceType: 'Patient', identifier: [{ system: 'not a uri', value: 'x' }] },
      expression: 'Patient.identifier[0].system',
      code: 'value',
    },
  ])('$behaviour', ({ body, expression, code }) => {
    const parsed = parsePatient(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues).toContainEqual(expect.objectContaining({ severity: 'error', code, expression: [expression] }));
  });

  test('reports every problem at once, not only the first', () => {
    const parsed = parsePatient({ resourceType: 'Patient', gender: 'x', birthDate: 'y', telecom: [] });
    expect(parsed.ok ? [] : parsed.issues.map((i) => i.expression?.[0])).toEqual(
      expect.arrayContaining(['Patient.gender', 'Patient.birthDate', 'Patient.telecom']),
    );
  });

  test('never quotes the submitted value in diagnostics', () => {
    const parsed = parsePatient({ resourceType: 'Patient', gender: 'Zephyrine', birthDate: 'Quillfeather' });
    expect(JSON.stringify(parsed)).not.toMatch(/Zephyrine|Quillfeather/);
  });

  test('accepts elements it does not use, such as extensions and contacts', () => {
    const parsed = parsePatient({ resourceType: 'Patient', extension: [{ url: 'x' }], contact: [{}], active: true });
    expect(parsed.ok).toBe(true);
  });
});

describe('resolveSourceIdentifier', () => {
  const systems: Record<string, string> = { [SYSTEM]: 'EHR', 'urn:lab': 'LAB' };
  const resolve = async (s: string) => systems[s] ?? null;

  test.each([
    {
      behaviour: 'uses the first identifier whose system is a registered source',
      identifier: [
        { system: 'urn:unregistered', value: 'A' },
        { system: 'urn:lab', value: 'L-9' },
        { system: SYSTEM, value: 'MRN-1' },
      ],
      localId: undefined,
      expected: { source: 'LAB', localId: 'L-9' },
    },
    {
      behaviour: 'never takes the SSN or an old identifier as the source key',
      identifier: [
        { system: US_SSN_SYSTEM, value: '900-12-3456' },
        { system: 'urn:lab', value: 'OLD', use: 'old' },
        { system: SYSTEM, value: 'MRN-1' },
      ],
      localId: undefined,
      expected: { source: 'EHR', localId: 'MRN-1' },
    },
    {
      behaviour: 'picks the identifier whose value is the id in the URL',
      identifier: [
        { system: 'urn:lab', value: 'L-9' },
        { system: SYSTEM, value: 'MRN-1' },
      ],
      localId: 'MRN-1',
      expected: { source: 'EHR', localId: 'MRN-1' },
    },
  ])('$behaviour', async ({ identifier, localId, expected }) => {
    const result = await resolveSourceIdentifier(valid({ resourceType: 'Patient', identifier }), resolve, localId ? { localId } : {});
    expect(result).toMatchObject({ ok: true, ref: expected });
  });

  test.each([
    { behaviour: 'requires an identifier with a system', identifier: [{ value: 'MRN-1' }], status: 400, code: 'required' },
    {
      behaviour: 'refuses identifiers of unregistered systems',
      identifier: [{ system: 'urn:nobody', value: 'A' }],
      status: 422,
      code: 'business-rule',
    },
  ])('$behaviour', async ({ identifier, status, code }) => {
    const result = await resolveSourceIdentifier(valid({ resourceType: 'Patient', identifier }), resolve);
    expect(result).toMatchObject({ ok: false, status, issues: [{ code, expression: ['Patient.identifier'] }] });
  });
});

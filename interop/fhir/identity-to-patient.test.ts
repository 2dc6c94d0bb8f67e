import { describe, expect, test } from 'vitest';
import type { GoldenIdentityView } from '../ports.ts';
import { identityToPatient } from './identity-to-patient.ts';
import { parsePatient } from './patient-schema.ts';
import { US_SSN_SYSTEM } from './patient-to-record.ts';

const base: GoldenIdentityView = {
  id: 'id-7',
  status: 'ACTIVE',
  mergedInto: null,
  replaces: [],
  golden: {
    givenName: 'Zephyrine',
    middleName: 'Mae',
    familyName: 'Quillfeather',
    suffix: 'Jr',
    sex: 'F',
    birthDate: '1984-02-29',
    ssn: '900-12-3456',
    phone: '555-0142',
    email: 'zq@example.test',
    addressLine1: '12 Larch Lane',
    addressLine2: 'Apt 4',
    city: 'Fernvale',
    state: 'OR',
    postalCode: '97001',
  },
  records: [
    { source: 'EHR', localId: 'MRN-1', system: 'urn:ehr' },
    { source: 'LAB', localId: 'L-9', system: null },
  ],
  updatedAt: '2024-01-02T03:04:05.000Z',
};

describe('identityToPatient', () => {
  test('lists the enterprise id, every source identifier and the SSN', () => {
    expect(identityToPatient(base).identifier).toEqual([
      { use: 'official', system: 'urn:mpi:identity', value: 'id-7' },
      { use: 'usual', system: 'urn:ehr', value: 'MRN-1' },
      { use: 'usual', system: 'urn:mpi:source:LAB', value: 'L-9' },
      { system: US_SSN_SYSTEM, value: '900-12-3456' },
    ]);
  });

  test('writes the golden demographics back in FHIR form', () => {
    expect(identityToPatient(base)).toMatchObject({
      resourceType: 'Patient',
      id: 'id-7',
      active: true,
      meta: { lastUpdated: '2024-01-02T03:04:05.000Z' },
      name: [{ use: 'official', family: 'Quillfeather', given: ['Zephyrine', 'Mae'], suffix: ['Jr'] }],
      gender: 'female',
      birthDate: '1984-02-29',
      telecom: [
        { system: 'phone', value: '555-0142' },
        { system: 'email', value: 'zq@example.test' },
      ],
      address: [{ use: 'home', line: ['12 Larch Lane', 'Apt 4'], city: 'Fernvale', state: 'OR', postalCode: '97001' }],
    });
  });

  test('marks a merged identity inactive and links it to its survivor', () => {
    const patient = identityToPatient({ ...base, status: 'MERGED', mergedInto: 'id-9' });
    expect(patient.active).toBe(false);
    expect(patient.link).toEqual([{ other: { reference: 'Patient/id-9' }, type: 'replaced-by' }]);
  });

  test('links a survivor to every identity it replaces', () => {
    expect(identityToPatient({ ...base, replaces: ['id-3', 'id-4'] }).link).toEqual([
      { other: { reference: 'Patient/id-3' }, type: 'replaces' },
      { other: { reference: 'Patient/id-4' }, type: 'replaces' },
    ]);
  });

  test('omits elements whose golden value is missing instead of writing empty ones', () => {
    const patient = identityToPatient({ ...base, golden: { familyName: 'Quillfeather' }, records: [] });
    expect(patient).not.toHaveProperty('telecom');
    expect(patient).not.toHaveProperty('address');
    expect(patient).not.toHaveProperty('gender');
    expect(patient.name).toEqual([{ use: 'official', family: 'Quillfeather' }]);
  });

  test('produces a Patient our own validator accepts', () => {
    expect(parsePatient(identityToPatient(base)).ok).toBe(true);
  });
});

import { describe, expect, test } from 'vitest';
import type { Principal, Role } from './context.ts';
import { maskPhi, presentPhi, type PhiField } from './masking.ts';

const as = (role: Role): { principal: Principal } => ({ principal: { id: role, name: role, roles: [role], kind: 'api-key' } });

describe('PHI masking', () => {
  test.each<[PhiField, string, string | null]>([
    ['givenName', 'beatrix', 'B.'],
    ['middleName', 'Ann', 'A.'],
    ['familyName', 'Okonkwo', 'O.'],
    ['suffix', 'Jr', '***'],
    ['sex', 'F', 'F'],
    ['birthDate', '1975-03-02', '1975'],
    ['ssn', '123-45-6789', '***-**-6789'],
    ['ssn', '987654321', '***-**-4321'],
    ['ssn', '12', '***'],
    ['phone', '6175550123', '***'],
    ['email', 'someone@example.org', '***'],
    ['addressLine1', '12 Harbor Street', '***'],
    ['addressLine2', 'Apt 4', '***'],
    ['city', 'Boston', '***'],
    ['state', 'MA', 'MA'],
    ['postalCode', '02118-1234', '021**'],
    ['postalCode', '02', '***'],
  ])('shows %s %j as %j to roles without full access', (field, value, shown) => {
    expect(maskPhi(field, value)).toBe(shown);
  });

  test('keeps absent values absent, so completeness stays visible', () => {
    expect(maskPhi('ssn', null)).toBeNull();
    expect(maskPhi('givenName', undefined)).toBeNull();
  });

  test.each<[Role, string | null]>([
    ['steward', '123-45-6789'],
    ['admin', '123-45-6789'],
    ['governance', '***-**-6789'],
    ['pipeline', '***-**-6789'],
    ['auditor', '***-**-6789'],
  ])('gives %s the SSN as %j', (role, shown) => {
    expect(presentPhi(as(role), 'ssn', '123-45-6789')).toBe(shown);
  });

  test('masks everything for an anonymous caller', () => {
    expect(presentPhi({ principal: null }, 'familyName', 'Okonkwo')).toBe('O.');
  });
});

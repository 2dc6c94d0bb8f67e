import { describe, expect, test } from 'vitest';
import { rolesFromClaims } from './auth.ts';

describe('roles from token claims', () => {
  test.each([
    ['an array claim', { roles: ['steward', 'auditor'] }, 'roles', ['steward', 'auditor']],
    ['a space-separated string', { scope: 'openid pipeline profile' }, 'scope', ['pipeline']],
    ['a comma-separated string', { groups: 'Governance,admin' }, 'groups', ['governance', 'admin']],
    ['a nested claim', { realm_access: { roles: ['offline_access', 'steward'] } }, 'realm_access.roles', ['steward']],
    ['unknown role names only', { roles: ['viewer', 'superuser'] }, 'roles', []],
    ['a missing claim', { sub: 'x' }, 'roles', []],
    ['a claim of the wrong type', { roles: 42 }, 'roles', []],
    ['repeated roles', { roles: ['admin', 'ADMIN'] }, 'roles', ['admin']],
  ])('reads %s', (_label, payload, claim, roles) => {
    expect(rolesFromClaims(payload, claim)).toEqual(roles);
  });
});

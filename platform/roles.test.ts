import { describe, expect, test } from 'vitest';
import { holds, roleScopes, ROLES, type Permission, type Role } from './roles.ts';

describe('the permission table', () => {
  test.each<[Permission, Role[]]>([
    ['ingest', ['pipeline', 'admin']],
    ['match', ['pipeline', 'steward', 'admin']],
    ['readIdentity', ['pipeline', 'steward', 'governance', 'admin']],
    ['mergeOverFhir', ['steward', 'admin']],
    ['mergeOverHl7', ['pipeline', 'steward', 'admin']],
    ['seeFullPhi', ['steward', 'admin']],
    ['decideIdentities', ['steward', 'admin']],
    ['searchIdentities', ['steward', 'governance', 'admin']],
    ['governCatalog', ['governance', 'admin']],
    ['governQuality', ['governance', 'admin']],
    ['readAudit', ['auditor', 'admin']],
    ['readIngestRuns', ['pipeline', 'governance', 'admin']],
    ['setTrustRank', ['admin']],
    ['manageSubscriptions', ['admin']],
  ])('%s is held by %j and no other role', (permission, roles) => {
    expect(ROLES.filter((r) => holds([r], permission))).toEqual(ROLES.filter((r) => roles.includes(r)));
  });

  test('gives an admin every GraphQL role scope, and others only their own', () => {
    expect(roleScopes(['admin'])).toEqual({ pipeline: true, steward: true, governance: true, auditor: true, admin: true });
    expect(roleScopes(['steward', 'auditor'])).toEqual({ pipeline: false, steward: true, governance: false, auditor: true, admin: false });
    expect(roleScopes([])).toEqual({ pipeline: false, steward: false, governance: false, auditor: false, admin: false });
  });
});

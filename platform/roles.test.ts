import { describe, expect, test } from 'vitest';
import {
  describeRolesHolding,
  holds,
  permissionScopes,
  PERMISSION_NAMES,
  ROLES,
  rolesHolding,
  type Permission,
  type Role,
} from './roles.ts';

const MATRIX: Array<[Permission, Role[]]> = [
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
  ['anchorAudit', ['governance', 'auditor', 'admin']],
  ['readIngestRuns', ['pipeline', 'governance', 'admin']],
  ['readSources', ['pipeline', 'steward', 'governance', 'admin']],
  ['registerSources', ['admin']],
  ['setTrustRank', ['admin']],
  ['readMatchModels', ['steward', 'governance', 'admin']],
  ['manageMatchModels', ['admin']],
  ['readSurvivorship', ['steward', 'governance', 'admin']],
  ['previewSurvivorship', ['governance', 'admin']],
  ['manageSurvivorship', ['admin']],
  ['readChangeEvents', ['pipeline', 'steward', 'auditor', 'admin']],
  ['manageSubscriptions', ['admin']],
  ['manageDeadLetters', ['admin']],
  ['manageApiKeys', ['admin']],
];

describe('the permission table', () => {
  test.each(MATRIX)('%s is held by %j and no other role', (permission, roles) => {
    expect(ROLES.filter((r) => holds([r], permission))).toEqual(ROLES.filter((r) => roles.includes(r)));
  });

  test('names every permission of the table in the matrix above', () => {
    expect(MATRIX.map(([p]) => p).sort()).toEqual([...PERMISSION_NAMES].sort());
  });

  test('gives an admin every permission as a GraphQL scope, and others only what their roles hold', () => {
    expect(Object.values(permissionScopes(['admin'])).every(Boolean)).toBe(true);
    expect(Object.values(permissionScopes([])).some(Boolean)).toBe(false);
    const scopes = permissionScopes(['steward', 'auditor']);
    expect(PERMISSION_NAMES.filter((p) => scopes[p])).toEqual(
      PERMISSION_NAMES.filter((p) => holds(['steward'], p) || holds(['auditor'], p)),
    );
  });

  test('names the roles that hold every one of several permissions', () => {
    expect(rolesHolding('ingest', 'decideIdentities')).toEqual(['admin']);
    expect(describeRolesHolding('ingest')).toBe('pipeline or admin');
    expect(describeRolesHolding('readChangeEvents')).toBe('pipeline, steward, auditor or admin');
    expect(describeRolesHolding('manageApiKeys')).toBe('admin');
  });
});

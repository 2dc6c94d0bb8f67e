import { holds, isRole, type Permission } from '../../../platform/roles.ts';

/**
 * What each console action needs: a permission of the service's own role table (platform/roles.ts), so the
 * console hides exactly what the API would refuse. The API stays the authority.
 */
export const CAPABILITIES = {
  workQueue: 'decideIdentities',
  readIdentities: 'searchIdentities',
  changeIdentities: 'decideIdentities',
  readCatalog: 'governCatalog',
  editCatalog: 'governCatalog',
  editTrustRank: 'setTrustRank',
  readQuality: 'governQuality',
  measureQuality: 'governQuality',
  readAudit: 'readAudit',
  readIngestRuns: 'readIngestRuns',
  seeFullDemographics: 'seeFullPhi',
} as const satisfies Record<string, Permission>;

export type Capability = keyof typeof CAPABILITIES;

/** Whether a caller with these roles (as `me.roles` reports them) may use a capability. */
export function can(roles: readonly string[], capability: Capability): boolean {
  return holds(roles.filter(isRole), CAPABILITIES[capability]);
}

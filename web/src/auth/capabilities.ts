/** The roles API keys carry (as `me.roles` reports them); admin may do everything. */
export type Role = 'pipeline' | 'steward' | 'governance' | 'auditor' | 'admin';

/**
 * What each console action needs, mirroring the API's auth scopes (api/schema). The console only hides or
 * disables what the API would refuse anyway; the API stays the authority.
 */
export const CAPABILITIES = {
  workQueue: ['steward'],
  readIdentities: ['steward', 'governance'],
  changeIdentities: ['steward'],
  readCatalog: ['governance'],
  editCatalog: ['governance'],
  editTrustRank: [],
  readQuality: ['governance'],
  measureQuality: ['governance'],
  readAudit: ['auditor'],
  readIngestRuns: ['pipeline', 'governance'],
  seeFullDemographics: ['steward'],
} as const satisfies Record<string, readonly Role[]>;

export type Capability = keyof typeof CAPABILITIES;

/** Whether a caller with these roles may use a capability. */
export function can(roles: readonly string[], capability: Capability): boolean {
  if (roles.includes('admin')) return true;
  const allowed: readonly string[] = CAPABILITIES[capability];
  return roles.some((role) => allowed.includes(role));
}

/**
 * The roles a caller can hold (API keys, OIDC claims, local mode) and the permission table: which roles may do
 * what. GraphQL scopes, the FHIR and HL7 ports, the CLI and the web console all read it; `admin` may do everything.
 * It imports nothing, so the console's build can take it as it is.
 */
export const ROLES = ['pipeline', 'steward', 'governance', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What each role is for (CLI help and documentation). */
export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  pipeline: 'ingest, resolve and match records',
  steward: 'work the review queue, merge and unmerge; sees full demographics',
  governance: 'catalog, lineage and quality; demographics masked',
  auditor: 'read the audit log',
  admin: 'everything',
};

/**
 * The roles, besides `admin`, that hold each permission. Merges and unlinks are steward decisions; an HL7
 * A40/A37 is different: it reports a merge or unlink the source system already made in its own records, so a
 * pipeline feed may send it (the MLLP listener acts as a configured pipeline principal). Over FHIR there is no
 * merge operation.
 */
export const PERMISSIONS = {
  ingest: ['pipeline'],
  match: ['pipeline', 'steward'],
  readIdentity: ['pipeline', 'steward', 'governance'],
  mergeOverFhir: ['steward'],
  mergeOverHl7: ['steward', 'pipeline'],
  seeFullPhi: ['steward'],
  /** The review queue and the steward's decisions: resolve an item, merge, unlink, mark not-duplicate. */
  decideIdentities: ['steward'],
  /** Find identities, and read their events, lineage and past states. */
  searchIdentities: ['steward', 'governance'],
  /** The catalog's datasets, fields and glossary, and editing them and a source's description. */
  governCatalog: ['governance'],
  /** Data-quality metrics and scorecards, and measuring them. */
  governQuality: ['governance'],
  readAudit: ['auditor'],
  /** Sign a checkpoint of the audit chain (its last position and hash; no patient data) to keep outside the database. */
  anchorAudit: ['auditor', 'governance'],
  readIngestRuns: ['pipeline', 'governance'],
  /** A source's trust rank, which can change every golden record the source feeds: admin only. */
  setTrustRank: [],
  /** FHIR Subscriptions are webhook endpoints: only admins register them (as in GraphQL). */
  manageSubscriptions: [],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

/** Whether a caller with these roles holds the permission. */
export function holds(roles: readonly Role[], permission: Permission): boolean {
  const allowed: readonly Role[] = PERMISSIONS[permission];
  return roles.some((r) => r === 'admin' || allowed.includes(r));
}

/** The GraphQL role scopes of a caller: each role it holds, and every role when it is an admin. */
export function roleScopes(roles: readonly Role[]): Record<Role, boolean> {
  const admin = roles.includes('admin');
  return Object.fromEntries(ROLES.map((r) => [r, admin || roles.includes(r)])) as Record<Role, boolean>;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

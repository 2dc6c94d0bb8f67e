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
 * The roles, besides `admin`, that hold each permission: the one table every door consults. GraphQL fields
 * declare a permission as their scope (`authScopes: { ingest: true }`; api/builder.ts derives a caller's scopes
 * from this table), the FHIR and HL7 ports check one per operation (api/interop-port.ts), the CLI's help and hints
 * name the roles a command needs from it, and the console hides what the API would refuse by it.
 *
 * Merges and unlinks are steward decisions; an HL7 A40/A37 is different: it reports a merge or unlink the source
 * system already made in its own records, so a pipeline feed may send it (the MLLP listener acts as a configured
 * pipeline principal). Over FHIR there is no merge operation. An empty list is admin only.
 */
export const PERMISSIONS = {
  /** Ingest and delete records, and start and finish an ingest run. */
  ingest: ['pipeline'],
  /** Match a record, and resolve a source's local id to its identity. */
  match: ['pipeline', 'steward'],
  /** Read one identity or source record by id. */
  readIdentity: ['pipeline', 'steward', 'governance'],
  mergeOverFhir: ['steward'],
  mergeOverHl7: ['steward', 'pipeline'],
  seeFullPhi: ['steward'],
  /** The review queue and the steward's decisions: resolve an item, merge, unlink, mark not-duplicate. */
  decideIdentities: ['steward'],
  /** Find identities, and read their events, lineage and past states. */
  searchIdentities: ['steward', 'governance'],
  /** The sources feeding the index: their codes, names and trust ranks. */
  readSources: ['pipeline', 'steward', 'governance'],
  /** Register a new source. */
  registerSources: [],
  /** The catalog's datasets, fields and glossary, and editing them and a source's description. */
  governCatalog: ['governance'],
  /**
   * A source's operational settings (trust rank, system, active): a new trust rank can change every golden record
   * the source feeds.
   */
  setTrustRank: [],
  /** Data-quality metrics and scorecards, and measuring them. */
  governQuality: ['governance'],
  /** The match models: their versions, specs and lifecycle events. */
  readMatchModels: ['steward', 'governance'],
  /** Train, import and activate a match model. */
  manageMatchModels: [],
  /** The survivorship policies in force. */
  readSurvivorship: ['steward', 'governance'],
  /** Preview what a survivorship policy would change, without setting it. */
  previewSurvivorship: ['governance'],
  /** Set a survivorship policy and recompute golden records. */
  manageSurvivorship: [],
  readAudit: ['auditor'],
  /** Sign a checkpoint of the audit chain (its last position and hash; no patient data) to keep outside the database. */
  anchorAudit: ['auditor', 'governance'],
  readIngestRuns: ['pipeline', 'governance'],
  /** Change events, as a list or a subscription; also the roles whose masking a webhook may ask for. */
  readChangeEvents: ['pipeline', 'steward', 'auditor'],
  /** Webhook endpoints and FHIR Subscriptions (which are webhook endpoints). */
  manageSubscriptions: [],
  /** Messages that failed on arrival: list, replay and discard them. */
  manageDeadLetters: [],
  /** Create, list and revoke API keys. */
  manageApiKeys: [],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

/** Every permission, in the table's order. */
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

/** Whether a caller with these roles holds the permission. */
export function holds(roles: readonly Role[], permission: Permission): boolean {
  const allowed: readonly Role[] = PERMISSIONS[permission];
  return roles.some((r) => r === 'admin' || allowed.includes(r));
}

/** The roles (admin among them) that hold every one of these permissions. */
export function rolesHolding(...permissions: Permission[]): Role[] {
  return ROLES.filter((r) => permissions.every((p) => holds([r], p)));
}

/** "pipeline or admin", "pipeline, steward, auditor or admin": the roles that hold the permissions, for help text. */
export function describeRolesHolding(...permissions: Permission[]): string {
  const roles = rolesHolding(...permissions);
  return roles.length > 1 ? `${roles.slice(0, -1).join(', ')} or ${roles[roles.length - 1]}` : roles.join('');
}

/** The GraphQL scopes of a caller: each permission of the table it holds. */
export function permissionScopes(roles: readonly Role[]): Record<Permission, boolean> {
  return Object.fromEntries(PERMISSION_NAMES.map((p) => [p, holds(roles, p)])) as Record<Permission, boolean>;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

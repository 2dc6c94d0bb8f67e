import { describeRolesHolding, type Permission } from '../platform/roles.ts';

/**
 * What each command that calls the running server needs of its API key: permissions of the one table in
 * platform/roles.ts, so the help and the hints name the roles the server will let in.
 */
export const COMMAND_PERMISSIONS = {
  keys: ['manageApiKeys'],
  import: ['ingest'],
  demo: ['registerSources', 'ingest', 'decideIdentities'],
  events: ['readChangeEvents'],
  'audit checkpoint': ['anchorAudit'],
  'audit verify': ['readAudit'],
} as const satisfies Record<string, readonly Permission[]>;
export type ServerCommand = keyof typeof COMMAND_PERMISSIONS;

/** "pipeline or admin": the roles whose key a command may be given. */
export function rolesFor(command: ServerCommand): string {
  return describeRolesHolding(...COMMAND_PERMISSIONS[command]);
}

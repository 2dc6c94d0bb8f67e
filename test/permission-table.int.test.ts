import { isObjectType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  INTEROP_PERMISSIONS,
  interopContext,
  interopPermission,
  ServiceInteropPort,
  type CheckedOperation,
  type InteropChannel,
} from '../api/interop-port.ts';
import { FULL_PHI_ROLES } from '../api/masking.ts';
import { schema } from '../api/schema/index.ts';
import { COMMAND_PERMISSIONS, rolesFor, type ServerCommand } from '../cli/permissions.ts';
import { PortError } from '../interop/index.ts';
import { holds, PERMISSION_NAMES, PERMISSIONS, ROLES, rolesHolding, type Permission, type Role } from '../platform/roles.ts';
import { CAPABILITIES } from '../web/src/auth/capabilities.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

type Scope = Permission | 'authenticated';

/** Every field of every object type that declares a scope, as `Type.field` -> the scope's names. */
function scopedFields(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      const scopes = (field.extensions.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
      if (scopes === undefined) continue;
      expect(typeof scopes, `${type.name}.${field.name} declares its scope as data`).toBe('object');
      const entries = Object.entries(scopes as Record<string, unknown>);
      expect(
        entries.every(([, v]) => v === true),
        `${type.name}.${field.name} asks each scope plainly`,
      ).toBe(true);
      found.set(
        `${type.name}.${field.name}`,
        entries.map(([k]) => k),
      );
    }
  }
  return found;
}

function scopeOf(field: string): Scope {
  const scopes = scopedFields().get(field);
  expect(scopes, `${field} has a scope`).toHaveLength(1);
  return scopes![0] as Scope;
}

/** The roles a GraphQL scope lets in. */
function rolesOfScope(scope: Scope): Role[] {
  return scope === 'authenticated' ? [...ROLES] : rolesHolding(scope);
}

/** The GraphQL operations each server command sends. */
const COMMAND_FIELDS: Record<ServerCommand, string[]> = {
  keys: ['Query.apiKeys', 'Mutation.createApiKey', 'Mutation.revokeApiKey'],
  import: ['Mutation.ingestRecords'],
  demo: ['Mutation.registerSource', 'Mutation.ingestRecords', 'Query.reviewQueue'],
  events: ['Subscription.changeEvents', 'Query.changeEvents'],
  'audit checkpoint': ['Mutation.exportAuditCheckpoint'],
  'audit verify': ['Query.verifyAuditChain'],
};

describe('one permission table for GraphQL, FHIR, HL7, the CLI and the console', () => {
  test('every root field of the schema is protected by one permission of the table, or by authentication alone', () => {
    const scoped = scopedFields();
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(root!.getFields())) {
        const key = `${root!.name}.${field.name}`;
        const scopes = scoped.get(key);
        expect(scopes, `${key} declares a scope`).toBeDefined();
        expect(scopes, key).toHaveLength(1);
        expect([...PERMISSION_NAMES, 'authenticated'], key).toContain(scopes![0]);
      }
    }
  });

  test('no GraphQL field names a role as its scope: roles come only from the table', () => {
    const roleScopes = [...scopedFields()].filter(([, scopes]) =>
      scopes.some((s) => (ROLES as readonly string[]).includes(s) || s.startsWith('$')),
    );
    expect(roleScopes).toEqual([]);
  });

  test('only who-am-I fields are open to every authenticated caller', () => {
    const open = [...scopedFields()].filter(([, scopes]) => scopes.includes('authenticated')).map(([key]) => key);
    expect(open.sort()).toEqual(['Query.me', 'Query.serverInfo']);
  });

  test('every FHIR and HL7 operation of the port needs a permission of the table, on both channels', () => {
    const methods = Object.getOwnPropertyNames(ServiceInteropPort.prototype).filter(
      (name) =>
        name !== 'constructor' &&
        name !== 'sourceForSystem' &&
        typeof Object.getOwnPropertyDescriptor(ServiceInteropPort.prototype, name)!.value === 'function',
    );
    const publicMethods = methods.filter((m) => !['subscriptionRow', 'currentIdentity', 'view', 'views', 'toView'].includes(m));
    expect(publicMethods.sort()).toEqual(Object.keys(INTEROP_PERMISSIONS).sort());
    for (const operation of Object.keys(INTEROP_PERMISSIONS) as CheckedOperation[]) {
      for (const channel of ['fhir', 'hl7'] as const) expect(PERMISSION_NAMES).toContain(interopPermission(operation, channel));
    }
  });

  test('the CLI names, for each command, exactly the roles the server lets run its operations', () => {
    for (const [command, fields] of Object.entries(COMMAND_FIELDS) as Array<[ServerCommand, string[]]>) {
      const byGraphql = ROLES.filter((r) => fields.every((f) => rolesOfScope(scopeOf(f)).includes(r)));
      expect(rolesHolding(...COMMAND_PERMISSIONS[command]), command).toEqual(byGraphql);
      expect(rolesFor(command), command).toBe(
        byGraphql.length > 1 ? `${byGraphql.slice(0, -1).join(', ')} or ${byGraphql.at(-1)}` : byGraphql[0],
      );
    }
  });

  test('full demographics go to exactly the roles holding seeFullPhi', () => {
    expect([...FULL_PHI_ROLES].sort()).toEqual(rolesHolding('seeFullPhi').sort());
  });

  test('every permission of the table is consulted somewhere: nothing in it is dead', () => {
    const consulted = new Set<string>([
      ...[...scopedFields().values()].flat(),
      ...(Object.keys(INTEROP_PERMISSIONS) as CheckedOperation[]).flatMap((op) => [
        interopPermission(op, 'fhir'),
        interopPermission(op, 'hl7'),
      ]),
      ...Object.values(COMMAND_PERMISSIONS).flat(),
      ...Object.values(CAPABILITIES),
    ]);
    expect(PERMISSION_NAMES.filter((p) => !consulted.has(p))).toEqual([]);
    expect(Object.keys(PERMISSIONS)).toEqual(PERMISSION_NAMES);
  });
});

describe(`FHIR and HL7 refuse exactly the roles the table refuses, on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let port: ServiceInteropPort;
  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    port = new ServiceInteropPort(app.services);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Arguments that get each operation past its permission check; what happens after does not matter here. */
  const CALLS: Record<CheckedOperation, (p: ServiceInteropPort, ctx: ReturnType<typeof interopContext>) => Promise<unknown>> = {
    ingest: (p, ctx) => p.ingest(ctx, { source: 'nope', localId: 'x' }),
    deleteRecord: (p, ctx) => p.deleteRecord(ctx, { source: 'nope', localId: 'x' }),
    mergeBySourceIds: (p, ctx) => p.mergeBySourceIds(ctx, { source: 'nope', localId: 'a' }, { source: 'nope', localId: 'b' }, 'test'),
    unlinkBySourceIds: (p, ctx) => p.unlinkBySourceIds(ctx, { source: 'nope', localId: 'a' }, 'test'),
    match: (p, ctx) => p.match(ctx, {}, {}),
    crossReference: (p, ctx) => p.crossReference(ctx, { source: 'nope', localId: 'a' }),
    getIdentity: (p, ctx) => p.getIdentity(ctx, '00000000-0000-4000-8000-000000000000'),
    writePatient: (p, ctx) => p.writePatient(ctx, { source: 'nope', localId: 'a', fields: {} } as never),
    maskedElements: (p, ctx) => p.maskedElements(ctx, { source: 'nope', localId: 'a' }, {}),
    readPatient: (p, ctx) => p.readPatient(ctx, '00000000-0000-4000-8000-000000000000'),
    patientHistory: (p, ctx) => p.patientHistory(ctx, '00000000-0000-4000-8000-000000000000'),
    patientIdOf: (p, ctx) => p.patientIdOf(ctx, { source: 'nope', localId: 'a' }),
    deletePatient: (p, ctx) => p.deletePatient(ctx, '00000000-0000-4000-8000-000000000000'),
    searchPatients: (p, ctx) => p.searchPatients(ctx, {} as never),
    createSubscription: (p, ctx) => p.createSubscription(ctx, {} as never),
    readSubscription: (p, ctx) => p.readSubscription(ctx, '00000000-0000-4000-8000-000000000000'),
    deleteSubscription: (p, ctx) => p.deleteSubscription(ctx, 'not-an-id'),
  };

  async function outcome(operation: CheckedOperation, channel: InteropChannel, role: Role | null): Promise<string> {
    const principal = role ? { id: `test-${role}`, name: `test-${role}`, roles: [role], kind: 'api-key' as const } : null;
    try {
      await CALLS[operation](port, interopContext(channel, principal, 'req-1'));
      return 'allowed';
    } catch (error) {
      if (error instanceof PortError && (error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED')) return error.code;
      return 'allowed';
    }
  }

  test.each(
    (Object.keys(INTEROP_PERMISSIONS) as CheckedOperation[]).flatMap((operation) =>
      (['fhir', 'hl7'] as const).map((channel) => ({ operation, channel })),
    ),
  )('$operation over $channel lets in exactly the roles holding its permission', async ({ operation, channel }) => {
    const permission = interopPermission(operation, channel);
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const role of ROLES) {
      outcomes[role] = await outcome(operation, channel, role);
      expected[role] = holds([role], permission) ? 'allowed' : 'FORBIDDEN';
    }
    outcomes.anonymous = await outcome(operation, channel, null);
    expected.anonymous = 'UNAUTHENTICATED';
    expect(outcomes).toEqual(expected);
  });

  test('an HL7 feed may merge where a FHIR client of the same role may not, as the table says', async () => {
    expect(await outcome('mergeBySourceIds', 'hl7', 'pipeline')).toBe('allowed');
    expect(await outcome('mergeBySourceIds', 'fhir', 'pipeline')).toBe('FORBIDDEN');
    expect(PERMISSIONS.mergeOverHl7).toContain('pipeline');
    expect(PERMISSIONS.mergeOverFhir).not.toContain('pipeline');
  });
});

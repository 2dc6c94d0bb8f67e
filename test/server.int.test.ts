import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';

describe(`service foundation on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  test('answers /healthz and a /readyz that pings the database', async () => {
    expect((await app.yoga.fetch('http://localhost/healthz')).status).toBe(200);
    expect((await app.yoga.fetch('http://localhost/readyz')).status).toBe(200);
  });

  test('applies every migration, creating the core tables', async () => {
    const rows = await queryRows<{ name: string }>(
      app.services.database.db,
      sql`select table_name as name from information_schema.tables where table_schema = 'public'`,
    );
    const names = rows.map((r) => r.name);
    for (const table of ['sources', 'source_records', 'identities', 'links', 'review_items', 'audit_log', 'field_provenance']) {
      expect(names).toContain(table);
    }
  });

  test('reports the database kind and the caller through GraphQL', async () => {
    const result = await app.gql<{ serverInfo: { database: string }; me: { roles: string[] } }>('{ serverInfo { database } me { roles } }');
    expect(result.errors).toBeUndefined();
    expect(result.data?.serverInfo.database).toBe(TEST_DB_KIND);
    expect(result.data?.me.roles).toEqual(['admin']);
  });

  test('rejects an unknown API key with a typed UNAUTHENTICATED error', async () => {
    const response = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-real-key' },
      body: JSON.stringify({ query: '{ me { name } }' }),
    });
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  test('masks unexpected errors without leaking internals', async () => {
    const result = await app.gql('{ nope }');
    expect(result.errors?.[0]?.message).toMatch(/Cannot query field "nope"/);
  });
});

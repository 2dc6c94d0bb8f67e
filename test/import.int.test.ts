import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'drizzle-orm';
import { stringify } from 'csv-stringify/sync';
import { toNodeListener } from '../api/http.ts';
import { runImport } from '../cli/import.ts';
import { createApiKey } from '../platform/api-keys.ts';
import { queryRows } from '../platform/db/client.ts';
import { createTestApp, type TestApp } from './app.ts';
import { TEST_DB_KIND } from './db.ts';
import { person } from './fixtures.ts';

const CLI = fileURLToPath(new URL('../cli/mpi.js', import.meta.url));
const COLUMNS = ['record_id', 'given_name', 'family_name', 'sex', 'birth_date', 'phone', 'address_1', 'city', 'state', 'postcode'];

/** A CSV row in the well-known column names `mpi link` recognises. */
function row(id: string, seed: number, overrides: Record<string, string> = {}): string[] {
  const p = person(seed) as Record<string, string>;
  const values: Record<string, string> = {
    record_id: id,
    given_name: p.givenName!,
    family_name: p.familyName!,
    sex: p.sex!,
    birth_date: p.birthDate!,
    phone: p.phone!,
    address_1: p.addressLine1!,
    city: p.city!,
    state: p.state!,
    postcode: p.postalCode!,
    ...overrides,
  };
  return COLUMNS.map((c) => values[c]!);
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe(`mpi import into the running service on ${TEST_DB_KIND}`, () => {
  let app: TestApp;
  let server: Server;
  let url: string;
  let key: string;
  let dir: string;

  async function counts(): Promise<Record<string, number>> {
    const [r] = await queryRows<Record<string, string>>(
      app.services.database.db,
      sql`select
      (select count(*) from source_records) as records, (select count(*) from identities) as identities,
      (select count(*) from links) as links, (select count(*) from identity_events) as events,
      (select count(*) from field_provenance) as provenance`,
    );
    return Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, Number(v)]));
  }

  async function csv(name: string, rows: string[][], header = COLUMNS): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, stringify([header, ...rows]));
    return path;
  }

  beforeAll(async () => {
    app = await createTestApp({ localMode: false });
    await app.services.catalog.registerSource({ code: 'REGISTRY', name: 'State registry' });
    await app.services.catalog.registerSource({ code: 'PAYER', name: 'Payer' });
    key = (await createApiKey(app.services.database.db, 'csv-import', 'pipeline')).key;
    server = createServer(toNodeListener(app.http));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    dir = await mkdtemp(join(tmpdir(), 'mpi-import-'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('loads every valid row, reports the rejected ones by line, and a re-run changes nothing', async () => {
    const rows = [
      ...Array.from({ length: 12 }, (_, i) => row(`R-${i}`, 100 + i)),
      row('R-bad-date', 200, { birth_date: '1980-02-30' }),
      row('', 201),
      row('R-3', 202),
      row('R-future', 203, { birth_date: '2999-01-01' }),
      row('R-sex', 204, { sex: 'Q' }),
    ];
    const file = await csv('registry.csv', rows);
    const read: Array<[number, number]> = [];
    const first = await runImport({ file, source: 'REGISTRY', url, key, batchSize: 5, onRead: (bytes, size) => read.push([bytes, size]) });
    // The first pass over the file reports its progress, up to the whole file.
    const { size } = await stat(file);
    expect(read.at(-1)).toEqual([size, size]);
    expect(first).toMatchObject({
      rows: 17,
      created: 12,
      linked: 0,
      review: 0,
      unchanged: 0,
      errors: 5,
      errorReport: join(dir, 'registry.errors.csv'),
    });
    const report = await readFile(first.errorReport!, 'utf8');
    const lines = report.trim().split('\n');
    expect(lines[0]).toBe('line,field,code,message');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '14,birthDate,INVALID_DATE',
      '15,localId,REQUIRED',
      '16,localId,DUPLICATE_ID',
      '17,birthDate,FUTURE_DATE',
      '18,sex,INVALID',
    ]);
    for (const value of ['1980-02-30', '2999-01-01', person(202).familyName, person(204).familyName])
      expect(report).not.toContain(String(value));
    const run = await app.gql<{
      ingestRun: { status: string; job: string; counts: Record<string, number>; errors: Array<{ line: number; code: string }> };
    }>('query($id: ID!) { ingestRun(id: $id) { status job counts errors { line code } } }', { id: first.runId }, { key });
    expect(run.data?.ingestRun).toMatchObject({
      status: 'COMPLETED',
      job: 'csv-import:registry.csv',
      counts: { recordsIn: 12, created: 12, rejected: 5 },
    });
    expect(run.data?.ingestRun.errors.map((e) => e.line)).toEqual([14, 15, 16, 17, 18]);

    const before = await counts();
    const again = await runImport({ file, source: 'REGISTRY', url, key, batchSize: 5 });
    expect(again).toMatchObject({ rows: 17, unchanged: 12, created: 0, linked: 0, review: 0, errors: 5 });
    expect(await counts()).toEqual(before);
  });

  test('links rows of a second source to the identities the first one created', async () => {
    await runImport({ file: await csv('registry-2.csv', [row('A-1', 300), row('A-2', 301)]), source: 'REGISTRY', url, key });
    const summary = await runImport({
      file: await csv('payer.csv', [row('P-1', 300), row('P-2', 301), row('P-3', 302)]),
      source: 'PAYER',
      url,
      key,
    });
    expect(summary).toMatchObject({ linked: 2, created: 1, errors: 0, errorReport: null });
    expect((await app.services.ingest.resolve('PAYER', 'P-1'))?.id).toBe((await app.services.ingest.resolve('REGISTRY', 'A-1'))?.id);
  });

  test('runs as `mpi import` with a mapping file, reading the key from MPI_API_KEY', async () => {
    const header = ['mrn', 'first', 'last', 'dob', 'zip'];
    const p = person(400) as Record<string, string>;
    const file = await csv('mapped.csv', [['M-1', p.givenName!, p.familyName!, p.birthDate!, p.postalCode!]], header);
    const mapping = join(dir, 'mapping.json');
    await writeFile(
      mapping,
      JSON.stringify({ id: 'mrn', fields: { givenName: 'first', familyName: 'last', birthDate: 'dob', postalCode: 'zip' } }),
    );
    const run = await cli(['import', '--source', 'PAYER', '--mapping', mapping, '--url', url, file], { MPI_API_KEY: key });
    expect(run.stderr).toContain('created 1');
    expect(run.code).toBe(0);
    const stored = await app.services.identity.sourceRecordByLocalId('PAYER', 'M-1');
    expect(stored?.record).toMatchObject({
      givenName: p.givenName,
      familyName: p.familyName,
      birthDate: p.birthDate,
      postalCode: p.postalCode,
    });
  });

  test.each([
    ['a missing file', async () => [join(dir, 'nope.csv')], /error: input file not found/],
    [
      'a malformed CSV row',
      async () => {
        const path = join(dir, 'broken.csv');
        await writeFile(path, `${COLUMNS.join(',')}\n${row('B-1', 500).join(',')}\nB-2,"unclosed,Quote\n`);
        return [path];
      },
      /error: .*broken\.csv: malformed CSV at line 3/,
    ],
    [
      'an unknown mapping column',
      async () => {
        const mapping = join(dir, 'bad-mapping.json');
        await writeFile(mapping, JSON.stringify({ id: 'record_id', fields: { givenName: 'forename_x' } }));
        return ['--mapping', mapping, await csv('ok.csv', [row('K-1', 501)])];
      },
      /error: .*mapping names column "forename_x"/,
    ],
    [
      'an unregistered source',
      async () => ['--source', 'NOWHERE', await csv('ok2.csv', [row('K-2', 502)])],
      /error: the server refused the import: UNKNOWN_SOURCE/,
    ],
    [
      'a batch size over the limit',
      async () => ['--batch-size', '5000', await csv('ok3.csv', [row('K-3', 503)])],
      /error: --batch-size must be between 1 and 1000/,
    ],
  ])('exits 2 with a one-line error for %s, storing nothing', async (_name, args, message) => {
    const before = await counts();
    const extra = await args();
    const source = extra.includes('--source') ? [] : ['--source', 'PAYER'];
    const run = await cli(['import', ...source, '--url', url, '--key', key, ...extra]);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
    expect(await counts()).toEqual(before);
  });

  test('exits 2 when the key is refused, and writes no error report', async () => {
    const file = await csv('refused.csv', [row('Z-1', 600)]);
    const run = await cli(['import', '--source', 'PAYER', '--url', url, '--key', 'not-a-real-key', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error: the server refused the import: UNAUTHENTICATED/);
    expect(existsSync(join(dir, 'refused.errors.csv'))).toBe(false);
  });
});

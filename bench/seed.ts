// Set-based seeding of a benchmark database with records already resolved into identities.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import postgres from 'postgres';
import { blockingKeys, CANONICAL_FIELDS, defaultModel, normaliseRecord, NORMALISER_VERSION } from '../matching/index.ts';
import { stableStringify } from '../platform/audit.ts';

export type Row = Record<string, string>;
/** The canonical record fields, in contract order (defined once in matching/fields.ts). */
export const FIELDS = CANONICAL_FIELDS;
const SEED_CHUNK = 5000;

export async function readRows(path: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of createReadStream(path).pipe(parse({ columns: true }))) rows.push(row as Row);
  return rows;
}

/** Stores records as if already resolved (one identity per true person), set-based, so 1M loads in minutes. */
export async function seed(url: string, rows: Row[], truth: Map<string, string>): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const model = defaultModel();
  const sourceIds = new Map<string, string>();
  for (const code of new Set(rows.map((r) => r.source!))) {
    const [s] = await sql`insert into sources (code, name) values (${code}, ${code}) returning id`;
    sourceIds.set(code, s!.id as string);
  }
  const identityOf = new Map<string, string>();
  const started = performance.now();
  for (let at = 0; at < rows.length; at += SEED_CHUNK) {
    const chunk = rows.slice(at, at + SEED_CHUNK);
    const rec: Record<string, unknown[]> = { id: [], source_id: [], local_id: [], raw: [], normalised: [], hash: [], identity: [] };
    for (const f of FIELDS) rec[f] = [];
    const keys: string[] = [];
    const keyRecords: string[] = [];
    const newIdentities: string[] = [];
    for (const r of chunk) {
      const id = randomUUID();
      const input = Object.fromEntries(FIELDS.map((f) => [f, r[f] ? r[f] : null]));
      const { record } = normaliseRecord(input);
      const cluster = truth.get(r.record_id!)!;
      let identity = identityOf.get(cluster);
      if (!identity) {
        identity = randomUUID();
        identityOf.set(cluster, identity);
        newIdentities.push(identity);
      }
      rec.id!.push(id);
      rec.source_id!.push(sourceIds.get(r.source!));
      rec.local_id!.push(r.record_id);
      for (const f of FIELDS) rec[f]!.push(input[f]);
      rec.raw!.push(JSON.stringify(input));
      rec.normalised!.push(JSON.stringify(record));
      rec.hash!.push(createHash('sha256').update(stableStringify(input)).digest('hex'));
      rec.identity!.push(identity);
      for (const k of new Set(blockingKeys(record, model))) {
        keys.push(k);
        keyRecords.push(id);
      }
    }
    await sql.begin(async (tx) => {
      if (newIdentities.length > 0) await tx`insert into identities (id) select * from unnest(${newIdentities}::uuid[])`;
      await tx`insert into source_records (id, source_id, local_id, given_name, middle_name, family_name, suffix, sex, birth_date, ssn, phone, email, address_line1, address_line2, city, state, postal_code, raw, normalised, content_hash, normaliser_version)
        select u.id, u.source_id, u.local_id, u.given_name, u.middle_name, u.family_name, u.suffix, u.sex, u.birth_date, u.ssn, u.phone, u.email,
          u.address_line1, u.address_line2, u.city, u.state, u.postal_code, u.raw::jsonb, u.normalised::jsonb, u.hash, ${NORMALISER_VERSION}
        from unnest(${rec.id as string[]}::uuid[], ${rec.source_id as string[]}::uuid[], ${rec.local_id as string[]}::text[],
          ${rec.givenName as string[]}::text[], ${rec.middleName as string[]}::text[], ${rec.familyName as string[]}::text[], ${rec.suffix as string[]}::text[], ${rec.sex as string[]}::text[],
          ${rec.birthDate as string[]}::text[], ${rec.ssn as string[]}::text[], ${rec.phone as string[]}::text[], ${rec.email as string[]}::text[], ${rec.addressLine1 as string[]}::text[],
          ${rec.addressLine2 as string[]}::text[], ${rec.city as string[]}::text[], ${rec.state as string[]}::text[], ${rec.postalCode as string[]}::text[],
          ${rec.raw as string[]}::text[], ${rec.normalised as string[]}::text[], ${rec.hash as string[]}::text[])
          as u(id, source_id, local_id, given_name, middle_name, family_name, suffix, sex, birth_date, ssn, phone, email, address_line1, address_line2, city, state, postal_code, raw, normalised, hash)`;
      await tx`insert into links (record_id, identity_id, match_result, link_source) select r, i, 'MATCH', 'AUTO' from unnest(${rec.id as string[]}::uuid[], ${rec.identity as string[]}::uuid[]) as t(r, i)`;
      await tx`insert into record_block_keys (key_hash, record_id) select hashtextextended(k, 0), r from unnest(${keys}::text[], ${keyRecords}::uuid[]) as u(k, r)`;
    });
    const done = Math.min(rows.length, at + SEED_CHUNK);
    if (done % 100_000 < SEED_CHUNK || done === rows.length) {
      process.stderr.write(`  seeded ${done}/${rows.length} (${((done / (performance.now() - started)) * 1000).toFixed(0)} rec/s)\n`);
    }
  }
  // What autovacuum does soon after a bulk load: statistics, and visibility so index-only scans skip the heap.
  await sql`vacuum (analyze)`;
  await sql.end();
}

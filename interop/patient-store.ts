import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { fhirPatientVersions, sourceRecords } from '../platform/db/schema/index.ts';
import { CANONICAL_FIELDS } from '../matching/index.ts';
import { isUuid } from '../platform/ids.ts';
import { escapeLike } from '../platform/db/like.ts';

/*
 * The SQL of the FHIR Patient resources of source records: their stored versions and the PDQm search over
 * the records they belong to. Every read returns what the port needs to build a Patient: the latest stored
 * version if there is one, else the record's canonical fields.
 */

export type PatientVersionRow = typeof fhirPatientVersions.$inferSelect;

/** One version of a resource id, or null. */
export async function versionOf(db: Executor, id: string, versionId: number): Promise<PatientVersionRow | null> {
  const [row] = await db
    .select()
    .from(fhirPatientVersions)
    .where(and(eq(fhirPatientVersions.id, id), eq(fhirPatientVersions.versionId, versionId)))
    .limit(1);
  return row ?? null;
}

/** Every version of a resource id, newest first. */
export async function historyOf(db: Executor, id: string): Promise<PatientVersionRow[]> {
  return db.select().from(fhirPatientVersions).where(eq(fhirPatientVersions.id, id)).orderBy(desc(fhirPatientVersions.versionId));
}

export async function insertVersion(db: Executor, row: typeof fhirPatientVersions.$inferInsert): Promise<PatientVersionRow> {
  const [stored] = await db.insert(fhirPatientVersions).values(row).returning();
  return stored!;
}

/** What `appendVersion` found and did. */
export interface AppendedVersion {
  /** The record's current version before the write, or null. */
  current: PatientVersionRow | null;
  /** The record holding the resource id asked for, when the record had no version yet and another one holds it. */
  holderRecordId: string | null;
  /** The version written, or null when a check failed or the resource is unchanged (jsonb equality: key order aside). */
  written: PatientVersionRow | null;
}

/**
 * Appends a version of a record's Patient in one statement, reading the current version and writing the next
 * only when the write may go ahead: its resource id is the record's own (or free), `If-Match` names the current
 * version (`base` when the record has none yet), and the resource changed. The caller tells which check failed.
 */
export async function appendVersion(
  db: Executor,
  write: { recordId: string; id: string | undefined; ifMatch: number | undefined; base: number; resource: Record<string, unknown> },
): Promise<AppendedVersion> {
  type Json = { id: string; version_id: number; record_id: string; resource: Record<string, unknown> | null; recorded_at: string };
  const resource = sql`${JSON.stringify(write.resource)}::jsonb`;
  const id = write.id ?? null;
  const holder =
    id === null
      ? sql`select null::uuid as record_id where false`
      : sql`select f.record_id from fhir_patient_versions f where f.id = ${id} and not exists (select 1 from cur) limit 1`;
  const [row] = await queryRows<{ current: Json | null; holder: string | null; written: Json | null }>(
    db,
    sql`with cur as (
      select f.id, f.version_id, f.record_id, f.resource, f.recorded_at from fhir_patient_versions f
      where f.record_id = ${write.recordId}::uuid order by f.version_id desc limit 1
    ), holder as (${holder}), ins as (
      insert into fhir_patient_versions (id, version_id, record_id, resource)
      select coalesce((select id from cur), ${id}::text, ${write.recordId}::text), coalesce((select version_id from cur), ${write.base}::int) + 1,
        ${write.recordId}::uuid, ${resource}
      where not exists (select 1 from cur where cur.resource = ${resource})
        and ${id === null ? sql`true` : sql`not exists (select 1 from cur where cur.id <> ${id}) and not exists (select 1 from holder where holder.record_id <> ${write.recordId}::uuid)`}
        and ${write.ifMatch === undefined ? sql`true` : sql`coalesce((select version_id from cur), ${write.base}::int) = ${write.ifMatch}::int`}
      returning id, version_id, record_id, resource, recorded_at
    )
    select (select row_to_json(cur) from cur) as current, (select record_id from holder) as holder, (select row_to_json(ins) from ins) as written`,
  );
  const version = (v: Json | null): PatientVersionRow | null =>
    v && { id: v.id, versionId: v.version_id, recordId: v.record_id, resource: v.resource, recordedAt: new Date(v.recorded_at) };
  return { current: version(row!.current), holderRecordId: row!.holder, written: version(row!.written) };
}

/** A source record with its source, current link and latest stored Patient version (if any). */
export interface RecordResourceRow extends Record<string, unknown> {
  record_id: string;
  source_code: string;
  source_system: string | null;
  local_id: string;
  identity_id: string | null;
  record_version: number;
  updated_at: Date | string;
  deleted: boolean;
  fields: Record<string, string | null>;
  resource_id: string | null;
  version_id: number | null;
  resource: Record<string, unknown> | null;
  recorded_at: Date | string | null;
}

/** A record's canonical fields as one JSON object keyed by field name, from the one field list. */
const RECORD_FIELDS_JSON = sql`json_build_object(${sql.join(
  CANONICAL_FIELDS.map((f) => sql`${sql.raw(`'${f}'`)}, sr.${sql.identifier(sourceRecords[f].name)}`),
  sql`, `,
)})`;

const RECORD_RESOURCE_COLUMNS = sql`
  sr.id as record_id, s.code as source_code, s.system as source_system, sr.local_id, l.identity_id,
  sr.version as record_version, sr.updated_at, sr.deleted_at is not null as deleted,
  ${RECORD_FIELDS_JSON} as fields,
  v.id as resource_id, v.version_id, v.resource, v.recorded_at`;

const RECORD_RESOURCE_FROM = sql`
  from source_records sr
  join sources s on s.id = sr.source_id
  left join links l on l.record_id = sr.id
  left join lateral (
    select f.id, f.version_id, f.resource, f.recorded_at from fhir_patient_versions f
    where f.record_id = sr.id order by f.version_id desc limit 1
  ) v on true`;

/** The source record a Patient id names: a stored resource id, else a record id (uuid). */
export async function recordResource(db: Executor, id: string): Promise<RecordResourceRow | null> {
  const byResource = sql`sr.id = (select f.record_id from fhir_patient_versions f where f.id = ${id} limit 1)`;
  const byRecord = isUuid(id) ? sql`sr.id = ${id}::uuid` : sql`false`;
  const [row] = await queryRows<RecordResourceRow>(
    db,
    sql`select ${RECORD_RESOURCE_COLUMNS} ${RECORD_RESOURCE_FROM}
    where ${byResource} or (${byRecord} and not exists (select 1 from fhir_patient_versions f where f.record_id = sr.id and f.id <> ${id}))
    limit 1`,
  );
  return row ?? null;
}

/** The source record of a (source code, local id), if any. */
export async function recordResourceByRef(db: Executor, source: string, localId: string): Promise<RecordResourceRow | null> {
  const [row] = await queryRows<RecordResourceRow>(
    db,
    sql`select ${RECORD_RESOURCE_COLUMNS} ${RECORD_RESOURCE_FROM}
    where s.code = ${source} and sr.local_id = ${localId} limit 1`,
  );
  return row ?? null;
}

/** Current Patient resource ids of the given records (records never written as FHIR are absent). */
export async function resourceIdsOfRecords(db: Executor, recordIds: string[]): Promise<Map<string, string>> {
  if (recordIds.length === 0) return new Map();
  const rows = await queryRows<{ record_id: string; id: string }>(
    db,
    sql`
    select distinct on (record_id) record_id, id from fhir_patient_versions
    where record_id in (${sql.join(
      recordIds.map((r) => sql`${r}::uuid`),
      sql`, `,
    )})
    order by record_id, version_id desc`,
  );
  return new Map(rows.map((r) => [r.record_id, r.id]));
}

/** An identity as the protocol layer shows it, read in one statement: its row, who it replaces, its live records. */
export interface IdentityViewRow extends Record<string, unknown> {
  id: string;
  status: 'ACTIVE' | 'MERGED';
  merged_into: string | null;
  golden: Record<string, string | null>;
  version: number;
  updated_at: Date | string;
  /** Ids of the identities merged into this one, in id order. */
  replaces: string[];
  /** Live source records, by source code then local id, each with its Patient resource id (the record id if none). */
  records: Array<{ source: string; system: string | null; localId: string; resourceId: string }>;
}

const IDENTITY_VIEW_COLUMNS = sql`
  i.id, i.status, i.merged_into, i.golden, i.version, i.updated_at,
  array(select m.id::text from identities m where m.merged_into = i.id order by m.id) as replaces,
  coalesce((
    select json_agg(json_build_object('source', s.code, 'system', s.system, 'localId', sr.local_id, 'resourceId', coalesce(
      (select f.id from fhir_patient_versions f where f.record_id = sr.id order by f.version_id desc limit 1), sr.id::text
    )) order by s.code, sr.local_id)
    from links l join source_records sr on sr.id = l.record_id and sr.deleted_at is null join sources s on s.id = sr.source_id
    where l.identity_id = i.id
  ), '[]'::json) as records`;

/** Several identities (exactly these rows, not following merges) as the protocol layer shows them, in one statement. */
export async function identityViewRows(db: Executor, ids: string[]): Promise<IdentityViewRow[]> {
  const wanted = [...new Set(ids.filter((id) => isUuid(id)))];
  if (wanted.length === 0) return [];
  return queryRows<IdentityViewRow>(
    db,
    sql`select ${IDENTITY_VIEW_COLUMNS} from identities i where i.id in (${sql.join(
      wanted.map((id) => sql`${id}::uuid`),
      sql`, `,
    )})`,
  );
}

/** The identity a live source record is linked to (not following merges), shown as `identityViewRows` shows it. */
export async function identityViewOfRecord(db: Executor, source: string, localId: string): Promise<IdentityViewRow | null> {
  const [row] = await queryRows<IdentityViewRow>(
    db,
    sql`select ${IDENTITY_VIEW_COLUMNS} from identities i
    where i.id = (select l.identity_id from source_records sr join sources s on s.id = sr.source_id join links l on l.record_id = sr.id
      where s.code = ${source} and sr.local_id = ${localId} and sr.deleted_at is null limit 1)`,
  );
  return row ?? null;
}

/** PDQm criteria over the canonical columns of live source records. */
export interface RecordCriteria {
  family?: string;
  given?: string;
  name?: string;
  birthDate?: string;
  sex?: string;
  /** A registered source code (from the identifier's system) and/or the local id. */
  source?: string;
  localId?: string;
  ssn?: string;
  postalCode?: string;
  phoneDigits?: string;
  email?: string;
  /** Only the records with these ids. */
  recordIds?: string[];
  /** Only records of identities with these ids. */
  identityIds?: string[];
  /**
   * Names, postal code and phone match only as whole values (case-insensitive), never as a prefix or suffix: for
   * callers who see them masked, so that a series of searches cannot spell out a value one character at a time.
   */
  wholeValuesOnly?: boolean;
}

/** Which Patients a PDQm search returns: source records, golden identities, or both (source ones first). */
export type SearchKind = 'source' | 'golden' | 'any';

/** One PDQm page: the source records and identities (shown as `identityViewRows` shows them) on it. */
export interface SearchPageRows {
  records: RecordResourceRow[];
  identities: IdentityViewRow[];
  /** Whether there are more hits after this page. */
  more: boolean;
}

/**
 * One PDQm page in one statement. Source records match on their canonical fields and come first, ordered by
 * record id; then the identities their records belong to, ordered by identity id; `count` in all from `offset`.
 * All matching records are counted only when the page starts past the last of them (as a page of golden ones).
 */
export async function searchPage(
  db: Executor,
  criteria: RecordCriteria,
  kind: SearchKind,
  count: number,
  offset: number,
): Promise<SearchPageRows> {
  const where = whereOf(criteria);
  const sources =
    kind === 'golden'
      ? sql`select ${RECORD_RESOURCE_COLUMNS} ${RECORD_RESOURCE_FROM} where false`
      : sql`select ${RECORD_RESOURCE_COLUMNS} ${RECORD_RESOURCE_FROM} where ${where} order by sr.id limit ${count + 1} offset ${offset}`;
  const onPage = sql`(select count(*) from src)`;
  const allSources = sql`(select count(*) from source_records sr join sources s on s.id = sr.source_id
    left join links l on l.record_id = sr.id where ${where})`;
  // Golden ones fill what the source ones leave of the page, plus one to tell whether more follow.
  const [limit, skip] =
    kind === 'golden'
      ? [sql`${count + 1}`, sql`${offset}`]
      : [
          sql`case when ${onPage} > ${count} then 0 else ${count + 1} - ${onPage} end`,
          sql`case when ${onPage} > 0 then 0 else greatest(0, ${offset} - ${allSources}) end`,
        ];
  const golden =
    kind === 'source'
      ? sql`select null::uuid as identity_id where false`
      : sql`select distinct l.identity_id from source_records sr join sources s on s.id = sr.source_id
        join links l on l.record_id = sr.id where ${where} order by l.identity_id limit ${limit} offset ${skip}`;
  const [row] = await queryRows<{ records: RecordResourceRow[]; identities: IdentityViewRow[]; golden_rows: number }>(
    db,
    sql`with src as materialized (${sources}), gold as materialized (${golden})
    select
      (select coalesce(json_agg(x order by x.record_id), '[]'::json) from src x) as records,
      (select coalesce(json_agg(v order by v.id), '[]'::json) from (
        select ${IDENTITY_VIEW_COLUMNS} from identities i where i.id in (select identity_id from gold)) v) as identities,
      (select count(*)::int from gold) as golden_rows`,
  );
  const { records, identities, golden_rows: goldenRows } = row!;
  if (records.length > count) return { records: records.slice(0, count), identities: [], more: true };
  const room = kind === 'golden' ? count : count - records.length;
  return { records, identities: identities.slice(0, room), more: goldenRows > room };
}

/** `LIKE` pattern for a prefix, with the wildcards of the input escaped. */
function prefix(value: string): string {
  return `${escapeLike(value.toLowerCase())}%`;
}

function whereOf(c: RecordCriteria): SQL {
  const parts: SQL[] = [sql`sr.deleted_at is null`];
  const text = (column: SQL, value: string): SQL =>
    c.wholeValuesOnly ? sql`lower(${column}) = ${value.toLowerCase()}` : sql`lower(${column}) like ${prefix(value)}`;
  if (c.family) parts.push(text(sql`sr.family_name`, c.family));
  if (c.given) parts.push(sql`(${text(sql`sr.given_name`, c.given)} or ${text(sql`sr.middle_name`, c.given)})`);
  if (c.name) {
    const [family, given, middle] = [sql`sr.family_name`, sql`sr.given_name`, sql`sr.middle_name`].map((col) => text(col, c.name!));
    parts.push(sql`(${family} or ${given} or ${middle})`);
  }
  if (c.birthDate)
    parts.push(c.birthDate.length === 10 ? sql`sr.birth_date = ${c.birthDate}` : sql`sr.birth_date like ${`${c.birthDate}%`}`);
  if (c.sex) parts.push(sql`sr.sex = ${c.sex}`);
  if (c.source) parts.push(sql`s.code = ${c.source}`);
  if (c.localId) parts.push(sql`sr.local_id = ${c.localId}`);
  if (c.ssn) parts.push(sql`regexp_replace(sr.ssn, '[^0-9]', '', 'g') = ${c.ssn}`);
  if (c.postalCode) parts.push(text(sql`sr.postal_code`, c.postalCode));
  if (c.phoneDigits) {
    const digits = sql`regexp_replace(sr.phone, '[^0-9]', '', 'g')`;
    parts.push(c.wholeValuesOnly ? sql`${digits} = ${c.phoneDigits}` : sql`${digits} like ${`%${c.phoneDigits}`}`);
  }
  if (c.email) parts.push(sql`lower(sr.email) = ${c.email.toLowerCase()}`);
  if (c.recordIds)
    parts.push(
      c.recordIds.length === 0
        ? sql`false`
        : sql`sr.id in (${sql.join(
            c.recordIds.map((r) => sql`${r}::uuid`),
            sql`, `,
          )})`,
    );
  if (c.identityIds)
    parts.push(
      c.identityIds.length === 0
        ? sql`false`
        : sql`l.identity_id in (${sql.join(
            c.identityIds.map((r) => sql`${r}::uuid`),
            sql`, `,
          )})`,
    );
  return sql.join(parts, sql` and `);
}

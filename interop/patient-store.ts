import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { fhirPatientVersions, sourceRecords } from '../platform/db/schema/index.ts';
import { CANONICAL_FIELDS } from '../matching/index.ts';

/*
 * The SQL of the FHIR Patient resources of source records: their stored versions and the PDQm search over
 * the records they belong to. Every read returns what the port needs to build a Patient: the latest stored
 * version if there is one, else the record's canonical fields.
 */

export type PatientVersionRow = typeof fhirPatientVersions.$inferSelect;

/** The current (highest) version of a resource id, or null. */
export async function currentVersion(db: Executor, id: string): Promise<PatientVersionRow | null> {
  const [row] = await db
    .select()
    .from(fhirPatientVersions)
    .where(eq(fhirPatientVersions.id, id))
    .orderBy(desc(fhirPatientVersions.versionId))
    .limit(1);
  return row ?? null;
}

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

/** The current version stored for a source record, or null when it was never written as FHIR. */
export async function currentVersionOfRecord(db: Executor, recordId: string): Promise<PatientVersionRow | null> {
  const [row] = await db
    .select()
    .from(fhirPatientVersions)
    .where(eq(fhirPatientVersions.recordId, recordId))
    .orderBy(desc(fhirPatientVersions.versionId))
    .limit(1);
  return row ?? null;
}

export async function insertVersion(db: Executor, row: typeof fhirPatientVersions.$inferInsert): Promise<PatientVersionRow> {
  const [stored] = await db.insert(fhirPatientVersions).values(row).returning();
  return stored!;
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
  const byRecord = UUID.test(id) ? sql`sr.id = ${id}::uuid` : sql`false`;
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
  const wanted = [...new Set(ids.filter((id) => UUID.test(id)))];
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

/** A page of matching source records, ordered by record id. */
export async function searchRecords(db: Executor, criteria: RecordCriteria, limit: number, offset: number): Promise<RecordResourceRow[]> {
  return queryRows<RecordResourceRow>(
    db,
    sql`select ${RECORD_RESOURCE_COLUMNS} ${RECORD_RESOURCE_FROM}
    where ${whereOf(criteria)} order by sr.id limit ${limit} offset ${offset}`,
  );
}

/** How many live source records match. */
export async function countRecords(db: Executor, criteria: RecordCriteria): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(
    db,
    sql`select count(*) as n from source_records sr
    join sources s on s.id = sr.source_id left join links l on l.record_id = sr.id where ${whereOf(criteria)}`,
  );
  return Number(row?.n ?? 0);
}

/** A page of the identities (current, after merges) whose records match, ordered by identity id. */
export async function searchIdentityIds(db: Executor, criteria: RecordCriteria, limit: number, offset: number): Promise<string[]> {
  const rows = await queryRows<{ identity_id: string }>(
    db,
    sql`select distinct l.identity_id from source_records sr
    join sources s on s.id = sr.source_id join links l on l.record_id = sr.id
    where ${whereOf(criteria)} order by l.identity_id limit ${limit} offset ${offset}`,
  );
  return rows.map((r) => r.identity_id);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `LIKE` pattern for a prefix, with the wildcards of the input escaped. */
function prefix(value: string): string {
  return `${value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
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

/** Whether a string is a record or identity id (uuid). */
export function isUuidText(value: string): boolean {
  return UUID.test(value);
}

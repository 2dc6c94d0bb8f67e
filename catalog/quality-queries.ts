import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';
import { presentValue, validitySql } from './validity-rules.ts';

/**
 * The set-based SQL behind the quality metrics: one query per metric family, each a single pass (or a few
 * hash joins) over the tables, returning aggregates only. No patient value ever leaves the database.
 */

/** Per source: record counts, present and valid counts per canonical field, distinct local ids, last change. */
export interface SourceProfileRow {
  source: string;
  records: number;
  distinctLocalIds: number;
  freshnessHours: number | null;
  present: Record<string, number>;
  valid: Record<string, number>;
}

const num = (value: unknown): number => Number(value ?? 0);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function profileColumns(): { trimmed: SQL; aggregates: SQL } {
  const trimmed = sql.join(CANONICAL_FIELD_SPECS.map((f) => sql`${presentValue(sql.raw(f.column))} as ${sql.raw(f.column)}`), sql`, `);
  const aggregates = sql.join(CANONICAL_FIELD_SPECS.flatMap((f) => {
    const value = sql.raw(`r.${f.column}`);
    const present = sql`count(*) filter (where r.active and ${value} is not null)::int as ${sql.raw(`present_${f.column}`)}`;
    if (!f.validity) return [present];
    return [present, sql`count(*) filter (where r.active and ${value} is not null and ${validitySql(f.validity, value)})::int as ${sql.raw(`valid_${f.column}`)}`];
  }), sql`, `);
  return { trimmed, aggregates };
}

/** One scan of source_records: completeness, validity, uniqueness and freshness inputs for every source. */
export async function profileSources(db: Executor): Promise<SourceProfileRow[]> {
  const { trimmed, aggregates } = profileColumns();
  // `offset 0` keeps the trimmed values computed once per row instead of once per rule that reads them.
  const rows = await queryRows<Record<string, unknown>>(db, sql`
    select s.code as source, p.*
    from sources s
    left join (
      select r.source_id,
        count(*) filter (where r.active)::int as records,
        count(distinct r.local_key) filter (where r.active)::int as distinct_local_ids,
        (extract(epoch from now() - max(r.updated_at)) / 3600)::float8 as freshness_hours,
        ${aggregates}
      from (
        select source_id, deleted_at is null as active, updated_at, lower(btrim(local_id)) as local_key, ${trimmed}
        from source_records offset 0
      ) r
      group by r.source_id
    ) p on p.source_id = s.id
    where s.active or p.source_id is not null
    order by s.code`);
  return rows.map((row) => ({
    source: String(row.source),
    records: num(row.records),
    distinctLocalIds: num(row.distinct_local_ids),
    freshnessHours: numOrNull(row.freshness_hours),
    present: Object.fromEntries(CANONICAL_FIELD_SPECS.map((f) => [f.name, num(row[`present_${f.column}`])])),
    valid: Object.fromEntries(CANONICAL_FIELD_SPECS.filter((f) => f.validity).map((f) => [f.name, num(row[`valid_${f.column}`])])),
  }));
}

/**
 * Active records, per source, that sit in an open review item: the records of both identities of a possible
 * duplicate pair, and the incoming record of a record-match item with the records of its candidate.
 */
export async function recordsInOpenPairs(db: Executor): Promise<Array<{ source: string; records: number }>> {
  const rows = await queryRows<{ source: string; records: unknown }>(db, sql`
    with open_items as (
      select identity_a, identity_b, record_id from review_items where status = 'OPEN'
    ), pair_records as (
      select l.record_id from open_items o join links l on l.identity_id = o.identity_a
      union
      select l.record_id from open_items o join links l on l.identity_id = o.identity_b
      union
      select o.record_id from open_items o where o.record_id is not null
    )
    select s.code as source, count(*)::int as records
    from pair_records p
    join source_records r on r.id = p.record_id and r.deleted_at is null
    join sources s on s.id = r.source_id
    group by s.code`);
  return rows.map((r) => ({ source: r.source, records: num(r.records) }));
}

export interface BacklogRow {
  open: number;
  maxAgeDays: number;
  medianAgeDays: number;
}

/** The open review queue: its size, oldest and median age. */
export async function reviewBacklog(db: Executor): Promise<BacklogRow> {
  const [row] = await queryRows<Record<string, unknown>>(db, sql`
    select count(*)::int as open,
      coalesce(max(extract(epoch from now() - created_at)), 0)::float8 / 86400 as max_age_days,
      coalesce(percentile_cont(0.5) within group (order by extract(epoch from now() - created_at)), 0)::float8 / 86400 as median_age_days
    from review_items where status = 'OPEN'`);
  return { open: num(row?.open), maxAgeDays: num(row?.max_age_days), medianAgeDays: num(row?.median_age_days) };
}

export interface ClusterRow {
  identities: number;
  records: number;
  multiSource: number;
  overlaySuspects: number;
  size1: number;
  size2: number;
  size3to5: number;
  size6to10: number;
  sizeOver10: number;
  maxSize: number;
}

/**
 * One pass over active identities and their active records: cluster sizes, cross-source overlap, and overlay
 * suspects. A birth-date conflict is two different full dates or two different years (a partial date agreeing
 * with a full one is not a conflict); a sex conflict is male against female (unknown or other never conflicts).
 */
export async function identityClusters(db: Executor): Promise<ClusterRow> {
  const [row] = await queryRows<Record<string, unknown>>(db, sql`
    with clusters as (
      select l.identity_id,
        count(*) as records,
        count(distinct r.source_id) as sources,
        count(distinct r.birth_date) filter (where r.birth_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') as full_dates,
        count(distinct left(r.birth_date, 4)) filter (where r.birth_date ~ '^[0-9]{4}') as years,
        count(distinct upper(left(btrim(r.sex), 1))) filter (where upper(left(btrim(r.sex), 1)) in ('M', 'F')) as sexes
      from links l
      join identities i on i.id = l.identity_id and i.status = 'ACTIVE'
      join source_records r on r.id = l.record_id and r.deleted_at is null
      group by l.identity_id
    )
    select count(*)::int as identities,
      coalesce(sum(records), 0)::int as records,
      count(*) filter (where sources >= 2)::int as multi_source,
      count(*) filter (where full_dates > 1 or years > 1 or sexes > 1)::int as overlay_suspects,
      count(*) filter (where records = 1)::int as size1,
      count(*) filter (where records = 2)::int as size2,
      count(*) filter (where records between 3 and 5)::int as size3to5,
      count(*) filter (where records between 6 and 10)::int as size6to10,
      count(*) filter (where records > 10)::int as size_over10,
      coalesce(max(records), 0)::int as max_size
    from clusters`);
  return {
    identities: num(row?.identities), records: num(row?.records), multiSource: num(row?.multi_source),
    overlaySuspects: num(row?.overlay_suspects), size1: num(row?.size1), size2: num(row?.size2),
    size3to5: num(row?.size3to5), size6to10: num(row?.size6to10), sizeOver10: num(row?.size_over10),
    maxSize: num(row?.max_size),
  };
}

export interface IngestOutcomeRow {
  source: string;
  received: number;
  autoLinked: number;
  review: number;
  created: number;
}

/**
 * What happened to each record first received since `since`, per source. Outcomes are read from what the
 * identity service leaves behind: a record-match review item or a possible-match link means REVIEW (checked
 * first: a record in review may also have started a provisional identity); a CREATED event naming the record
 * means a new identity; an automatic MATCH link means auto-linked. Manual links count only in `received`.
 */
export async function ingestOutcomes(db: Executor, since: Date): Promise<IngestOutcomeRow[]> {
  const rows = await queryRows<Record<string, unknown>>(db, sql`
    with recent as (
      select id, source_id from source_records where received_at >= ${since.toISOString()}::timestamptz
    ), created as (
      select distinct record_id from identity_events
      where type = 'CREATED' and record_id is not null and at >= ${since.toISOString()}::timestamptz
    ), reviewed as (
      select distinct record_id from review_items where kind = 'RECORD_MATCH' and record_id is not null
    ), outcomes as (
      select rc.source_id,
        (rv.record_id is not null or coalesce(l.match_result = 'POSSIBLE_MATCH', false)) as review,
        c.record_id is not null as created,
        (l.link_source = 'AUTO' and l.match_result = 'MATCH') as auto_linked
      from recent rc
      left join links l on l.record_id = rc.id
      left join created c on c.record_id = rc.id
      left join reviewed rv on rv.record_id = rc.id
    )
    select s.code as source, count(*)::int as received,
      count(*) filter (where review)::int as review,
      count(*) filter (where not review and created)::int as created,
      count(*) filter (where not review and not created and coalesce(auto_linked, false))::int as auto_linked
    from outcomes o join sources s on s.id = o.source_id
    group by s.code
    order by s.code`);
  return rows.map((r) => ({
    source: String(r.source), received: num(r.received), autoLinked: num(r.auto_linked), review: num(r.review), created: num(r.created),
  }));
}

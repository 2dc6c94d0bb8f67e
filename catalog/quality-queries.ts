import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { CANONICAL_FIELD_SPECS } from './canonical-fields.ts';
import { isPresent, validitySql } from './validity-rules.ts';

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

function fieldAggregates(today: string): SQL {
  return sql.join(
    CANONICAL_FIELD_SPECS.flatMap((f) => {
      const value = sql.raw(`r.${f.column}`);
      const present = sql`count(*) filter (where ${isPresent(value)})::int as ${sql.raw(`present_${f.column}`)}`;
      if (!f.validity) return [present];
      return [present, sql`count(*) filter (where ${validitySql(f.validity, value, today)})::int as ${sql.raw(`valid_${f.column}`)}`];
    }),
    sql`, `,
  );
}

/**
 * One scan of the active records: completeness, validity and freshness inputs for every source. Plain
 * aggregates over a handful of groups, so PostgreSQL can split the scan across parallel workers.
 */
async function fieldProfile(db: Executor, today: string): Promise<Array<Record<string, unknown>>> {
  return queryRows<Record<string, unknown>>(
    db,
    sql`
    select s.code as source, p.*
    from sources s
    left join (
      select r.source_id,
        count(*)::int as records,
        (extract(epoch from now() - max(r.updated_at)) / 3600)::float8 as freshness_hours,
        ${fieldAggregates(today)}
      from source_records r
      where r.deleted_at is null
      group by r.source_id
    ) p on p.source_id = s.id
    where s.active or p.source_id is not null
    order by s.code`,
  );
}

/**
 * Active local ids per source that repeat another once case and surrounding spaces are ignored. Exact ids are
 * unique by constraint, so only an id that differs from its canonical form (upper-case, trimmed) can repeat
 * one: those few are grouped by canonical form, and the canonical id itself is found through the unique index
 * instead of hashing every id of every source.
 */
async function repeatedLocalIds(db: Executor): Promise<Map<string, number>> {
  const rows = await queryRows<{ source_id: string; repeats: unknown }>(
    db,
    sql`
    with variants as (
      select source_id, upper(btrim(local_id)) as canonical, count(*) as n
      from source_records
      where deleted_at is null and local_id <> upper(btrim(local_id))
      group by source_id, upper(btrim(local_id))
    )
    select v.source_id, sum(v.n - 1 + case when exists (
      select 1 from source_records c where c.source_id = v.source_id and c.local_id = v.canonical and c.deleted_at is null
    ) then 1 else 0 end)::int as repeats
    from variants v
    group by v.source_id`,
  );
  return new Map(rows.map((r) => [r.source_id, num(r.repeats)]));
}

/** Completeness, validity, uniqueness and freshness inputs for every source; `today` is an ISO date. */
export async function profileSources(db: Executor, today: string): Promise<SourceProfileRow[]> {
  const rows = await fieldProfile(db, today);
  const repeats = await repeatedLocalIds(db);
  return rows.map((row) => ({
    source: String(row.source),
    records: num(row.records),
    distinctLocalIds: num(row.records) - (repeats.get(String(row.source_id)) ?? 0),
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
  const rows = await queryRows<{ source: string; records: unknown }>(
    db,
    sql`
    with open_items as (
      select identity_a, identity_b, record_id from review_items where status = 'OPEN'
    ), pair_identities as (
      select identity_a as id from open_items
      union
      select identity_b from open_items where identity_b is not null
    ), pair_records as (
      select l.record_id from links l where l.identity_id in (select id from pair_identities)
      union
      select o.record_id from open_items o where o.record_id is not null
    )
    select s.code as source, count(*)::int as records
    from pair_records p
    join source_records r on r.id = p.record_id and r.deleted_at is null
    join sources s on s.id = r.source_id
    group by s.code`,
  );
  return rows.map((r) => ({ source: r.source, records: num(r.records) }));
}

export interface BacklogRow {
  open: number;
  maxAgeDays: number;
  medianAgeDays: number;
}

/** The open review queue: its size, oldest and median age. */
export async function reviewBacklog(db: Executor): Promise<BacklogRow> {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`
    select count(*)::int as open,
      coalesce(max(extract(epoch from now() - created_at)), 0)::float8 / 86400 as max_age_days,
      coalesce(percentile_cont(0.5) within group (order by extract(epoch from now() - created_at)), 0)::float8 / 86400 as median_age_days
    from review_items where status = 'OPEN'`,
  );
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
 * Only min/max comparisons and boolean aggregates: count(distinct ...) per identity would sort every group.
 * Dates are compared by their 32-bit hashes so the per-identity state stays a few integers; two different
 * dates of one identity share a hash about once in four billion, so a conflict is missed that rarely.
 */
export async function identityClusters(db: Executor): Promise<ClusterRow> {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`
    with src as (
      select id, row_number() over (order by id) as n from sources
    ), clusters as (
      select l.identity_id,
        count(*) as records,
        min(src.n) <> max(src.n) as multi_source,
        min(hashtext(r.birth_date)) filter (where length(r.birth_date) = 10)
          <> max(hashtext(r.birth_date)) filter (where length(r.birth_date) = 10) as dates_differ,
        min(hashtext(left(r.birth_date, 4))) <> max(hashtext(left(r.birth_date, 4))) as years_differ,
        bool_or(upper(r.sex) in ('M', 'MALE')) and bool_or(upper(r.sex) in ('F', 'FEMALE')) as sexes_differ
      from links l
      join source_records r on r.id = l.record_id and r.deleted_at is null
      join src on src.id = r.source_id
      where l.identity_id not in (select id from identities where status <> 'ACTIVE')
      group by l.identity_id
    )
    select count(*)::int as identities,
      coalesce(sum(records), 0)::int as records,
      count(*) filter (where multi_source)::int as multi_source,
      count(*) filter (where dates_differ or years_differ or sexes_differ)::int as overlay_suspects,
      count(*) filter (where records = 1)::int as size1,
      count(*) filter (where records = 2)::int as size2,
      count(*) filter (where records between 3 and 5)::int as size3to5,
      count(*) filter (where records between 6 and 10)::int as size6to10,
      count(*) filter (where records > 10)::int as size_over10,
      coalesce(max(records), 0)::int as max_size
    from clusters`,
  );
  return {
    identities: num(row?.identities),
    records: num(row?.records),
    multiSource: num(row?.multi_source),
    overlaySuspects: num(row?.overlay_suspects),
    size1: num(row?.size1),
    size2: num(row?.size2),
    size3to5: num(row?.size3to5),
    size6to10: num(row?.size6to10),
    sizeOver10: num(row?.size_over10),
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
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`
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
    order by s.code`,
  );
  return rows.map((r) => ({
    source: String(r.source),
    received: num(r.received),
    autoLinked: num(r.auto_linked),
    review: num(r.review),
    created: num(r.created),
  }));
}

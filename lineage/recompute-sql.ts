import { sql, type SQL } from 'drizzle-orm';
import { sourceRecords } from '../platform/db/schema/index.ts';
import { completeRules, GOLDEN_FIELDS, type PolicyRules } from './survivorship.ts';

/**
 * Survivorship as one set-based query over many identities, for bulk recomputes (policy and trust changes).
 * It decides exactly as `buildGolden` does — same candidates, same order of preference, same tie-breaks, same
 * competitors — and the two are held together by tests that run both over the same records. Values are
 * trimmed and compared case- and space-insensitively; recency compares milliseconds, as JavaScript dates do.
 */

/** A value with surrounding ASCII whitespace removed, as String.prototype.trim does for ASCII input. */
function trimmed(column: SQL): SQL {
  return sql`btrim(${column}, E' \\t\\n\\r\\f\\v')`;
}

/** One row per golden field of each candidate record: `(field, value)` pairs unpivoted from source_records. */
function unpivotedFields(): SQL {
  const rows = GOLDEN_FIELDS.map((f) => sql`(${sql.raw(`'${f}'`)}, ${trimmed(sql`r.${sql.identifier(sourceRecords[f].name)}`)})`);
  return sql`(values ${sql.join(rows, sql`, `)}) as v(field, value)`;
}

/**
 * The policy as rows: the rule that picks among source values (a steward override's fallback) and, for a
 * steward override with a value, that value.
 */
function policyRows(rules: PolicyRules): SQL {
  const complete = completeRules(rules);
  const rows = GOLDEN_FIELDS.map((f) => {
    const rule = complete[f];
    const picks = rule.rule === 'STEWARD_OVERRIDE' ? (rule.fallback ?? 'SOURCE_PRIORITY') : rule.rule;
    const override = rule.rule === 'STEWARD_OVERRIDE' && rule.value !== undefined && rule.value !== null ? rule.value : null;
    return sql`(${f}::text, ${picks}::text, ${override}::text)`;
  });
  return sql`(values ${sql.join(rows, sql`, `)}) as p(field, rule, override)`;
}

/**
 * Decisions for every golden field of the given identities, each beside the field's open provenance row:
 * `changed` says the open row no longer stands (it must be closed and a new one opened), `value_changed`
 * that the golden value itself moved.
 */
export function decisionsQuery(identityIds: string[], rules: PolicyRules): SQL {
  // Every (identity, field) cell gets a placeholder row beside its candidates, so one window pass and one
  // grouping decide all cells, empty ones included, without joining intermediate results (whose row counts
  // the planner cannot estimate for an array parameter, and would nest-loop over).
  return sql`
    with batch as (select unnest(${sql.param(identityIds)}::uuid[]) as identity_id),
    policy as (select * from ${policyRows(rules)}),
    candidates as (
      select b.identity_id, v.field, v.value, r.id as record_id, r.source_id, s.trust_rank,
        date_trunc('milliseconds', r.updated_at) as updated_ms,
        lower(regexp_replace(v.value, '\\s+', ' ', 'g')) as value_key
      from batch b
      join links l on l.identity_id = b.identity_id
      join source_records r on r.id = l.record_id and r.deleted_at is null
      join sources s on s.id = r.source_id
      cross join lateral ${unpivotedFields()}
      where v.value is not null and v.value <> ''
    ),
    cells as (
      select b.identity_id, p.field, null::text as value, null::uuid as record_id, null::uuid as source_id,
        null::int as trust_rank, null::timestamptz as updated_ms, null::text as value_key
      from batch b cross join policy p
      union all
      select * from candidates
    ),
    counted as (
      select c.*, count(c.value) over (partition by c.identity_id, c.field, c.value_key) as frequency from cells c
    ),
    ranked as (
      select c.*, p.rule, p.override,
        row_number() over (
          partition by c.identity_id, c.field
          order by
            c.value is null,
            case when p.rule = 'MOST_FREQUENT' then c.frequency end desc nulls last,
            case when p.rule = 'MOST_COMPLETE' then char_length(c.value) end desc nulls last,
            case when p.rule = 'MOST_RECENT' then c.updated_ms end desc nulls last,
            c.trust_rank desc, c.updated_ms desc, c.record_id
        ) as preference
      from counted c join policy p on p.field = c.field
    ),
    decisions as (
      select identity_id, field,
        coalesce(min(override), (array_agg(value) filter (where preference = 1))[1]) as value,
        case when min(override) is null then (array_agg(record_id) filter (where preference = 1))[1] end as record_id,
        case when min(override) is null then (array_agg(source_id) filter (where preference = 1))[1] end as source_id,
        case when min(override) is null then min(rule) else 'STEWARD_OVERRIDE' end as rule,
        coalesce(
          jsonb_agg(jsonb_build_object('value', value, 'recordId', record_id, 'sourceId', source_id) order by record_id)
            filter (where value is not null and (preference > 1 or override is not null)),
          '[]'::jsonb) as competitors
      from ranked
      group by identity_id, field
    )
    select d.*, o.id as open_id, o.value as open_value, o.rule as open_rule,
      case
        when o.id is null then d.value is not null
        when o.value is null and d.value is null then false
        else o.value is distinct from d.value or o.record_id is distinct from d.record_id
          or o.rule <> d.rule or o.competitors <> d.competitors
      end as changed,
      o.value is distinct from d.value as value_changed
    from decisions d
    left join field_provenance o on o.identity_id = d.identity_id and o.field = d.field and o.valid_to is null`;
}

import { and, asc, count, eq, gt, inArray, isNull, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { alias, type PgColumn } from 'drizzle-orm/pg-core';
import { queryRows, type Executor } from '../platform/db/client.ts';
import { fieldProvenance, identities, links, sourceRecords, sources } from '../platform/db/schema/index.ts';
import { completeRules, GOLDEN_FIELDS, type GoldenField, type PolicyRules } from './survivorship.ts';

/**
 * The SQL of set-based golden recomputes and policy previews. Survivorship as one set-based query over many
 * identities, for bulk recomputes (policy and trust changes).
 * It decides exactly as `buildGolden` does — same candidates, same order of preference, same tie-breaks, same
 * competitors — and the two are held together by tests that run both over the same records. Values are
 * trimmed and compared case- and space-insensitively; recency compares milliseconds, as JavaScript dates do.
 */

const l = alias(links, 'l');
const r = alias(sourceRecords, 'r');
const s = alias(sources, 's');
const o = alias(fieldProvenance, 'o');

/** A column's bare name, for SET targets and insert column lists (where PostgreSQL takes no table name). */
function bare(column: PgColumn): SQL {
  return sql`${sql.identifier(column.name)}`;
}

/** A value with surrounding ASCII whitespace removed, as String.prototype.trim does for ASCII input. */
function trimmed(column: SQL): SQL {
  return sql`btrim(${column}, E' \\t\\n\\r\\f\\v')`;
}

/** One row per golden field of each candidate record: `(field, value)` pairs unpivoted from source_records. */
function unpivotedFields(): SQL {
  const rows = GOLDEN_FIELDS.map((f) => sql`(${sql.raw(`'${f}'`)}, ${trimmed(sql`${r[f]}`)})`);
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
      select b.identity_id, v.field, v.value, ${r.id} as record_id, ${r.sourceId} as source_id, ${s.trustRank} as trust_rank,
        date_trunc('milliseconds', ${r.updatedAt}) as updated_ms,
        lower(regexp_replace(v.value, '\\s+', ' ', 'g')) as value_key
      from batch b
      join ${links} l on ${l.identityId} = b.identity_id
      join ${sourceRecords} r on ${r.id} = ${l.recordId} and ${r.deletedAt} is null
      join ${sources} s on ${s.id} = ${r.sourceId}
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
            c.trust_rank desc, c.updated_ms desc, c.record_id desc
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
    select d.*, ${o.id} as open_id, ${o.value} as open_value, ${o.rule} as open_rule,
      case
        when ${o.id} is null then d.value is not null
        when ${o.value} is null and d.value is null then false
        else ${o.value} is distinct from d.value or ${o.recordId} is distinct from d.record_id
          or ${o.rule} <> d.rule or ${o.competitors} <> d.competitors
      end as changed,
      ${o.value} is distinct from d.value as value_changed
    from decisions d
    left join ${fieldProvenance} o on ${o.identityId} = d.identity_id and ${o.field} = d.field and ${o.validTo} is null`;
}

/** Which golden records to recompute: every active identity, or those fed by one source's records. */
export type RecomputeScope = { kind: 'all' } | { kind: 'source'; sourceId: string };

/** How many units the scope holds: active identities, or the source's stored records. */
export async function scopeSize(db: Executor, scope: RecomputeScope): Promise<number> {
  const [row] =
    scope.kind === 'all'
      ? await db.select({ n: count() }).from(identities).where(eq(identities.status, 'ACTIVE'))
      : await db
          .select({ n: count() })
          .from(sourceRecords)
          .where(and(eq(sourceRecords.sourceId, scope.sourceId), isNull(sourceRecords.deletedAt)));
  return row?.n ?? 0;
}

/** Active identity ids in id order, after `cursor`. */
export async function activeIdentityIds(db: Executor, cursor: string | null, size: number): Promise<string[]> {
  const rows = await db
    .select({ id: identities.id })
    .from(identities)
    .where(and(eq(identities.status, 'ACTIVE'), cursor ? gt(identities.id, cursor) : undefined))
    .orderBy(asc(identities.id))
    .limit(size);
  return rows.map((row) => row.id);
}

/** The next page of the scope in key order: identity ids, and the cursor to continue from. */
export async function nextScopePage(
  tx: Executor,
  scope: RecomputeScope,
  cursor: string | null,
  size: number,
): Promise<{ ids: string[]; scanned: number; cursor: string | null }> {
  if (scope.kind === 'all') {
    const ids = await activeIdentityIds(tx, cursor, size);
    return { ids, scanned: ids.length, cursor: ids.at(-1) ?? null };
  }
  // Walks the source's records by local id (its unique index); an identity met twice is recomputed twice, harmlessly.
  const rows = await tx
    .select({ localId: sourceRecords.localId, identityId: links.identityId })
    .from(sourceRecords)
    .innerJoin(links, eq(links.recordId, sourceRecords.id))
    .where(
      and(
        eq(sourceRecords.sourceId, scope.sourceId),
        isNull(sourceRecords.deletedAt),
        cursor ? gt(sourceRecords.localId, cursor) : undefined,
      ),
    )
    .orderBy(asc(sourceRecords.localId))
    .limit(size);
  return { ids: [...new Set(rows.map((row) => row.identityId))], scanned: rows.length, cursor: rows.at(-1)?.localId ?? null };
}

/** Locks the identities for update, in id order as every other writer does; returns the ids that exist. */
export async function lockIdentities(tx: Executor, identityIds: string[]): Promise<string[]> {
  if (identityIds.length === 0) return [];
  const rows = await tx
    .select({ id: identities.id })
    .from(identities)
    .where(inArray(identities.id, [...new Set(identityIds)]))
    .orderBy(asc(identities.id))
    .for('update');
  return rows.map((row) => row.id);
}

/** One changed field decision of a policy preview, beside the open provenance row it would replace. */
export interface ChangedDecision extends Record<string, unknown> {
  identity_id: string;
  field: GoldenField;
  value: string | null;
  rule: string;
  open_value: string | null;
  open_rule: string | null;
  value_changed: boolean;
}

/** The field decisions of `identityIds` under `rules` that differ from their open provenance rows; writes nothing. */
export function changedDecisions(tx: Executor, identityIds: string[], rules: PolicyRules): Promise<ChangedDecision[]> {
  return queryRows<ChangedDecision>(
    tx,
    sql`select identity_id, field, value, rule, open_value, open_rule, value_changed from (${decisionsQuery(identityIds, rules)}) d where changed order by identity_id, field`,
  );
}

/** What one batch recompute changed. */
export interface DecisionCounts {
  fieldsReprovenanced: number;
  valuesChanged: number;
  goldenChanged: number;
}

/**
 * Writes a recompute of the locked identities, entirely in SQL: decides every field in one query into a
 * temporary table, then closes the provenance rows that no longer stand, opens their successors stamped `at`
 * and rewrites the changed golden records, one statement each. Returns the identities whose golden values
 * changed (with their new version and the changed fields) and the counts.
 */
export async function writeDecisions(
  tx: Executor,
  lockedIds: string[],
  options: { rules: PolicyRules; policyVersion: number; ingestRunId: string | null; at: SQL },
): Promise<{ updated: Array<{ id: string; version: number; fields: string[] }>; counts: DecisionCounts }> {
  const { at } = options;
  await tx.execute(sql`create temp table golden_decisions (
      identity_id uuid, field text, value text, record_id uuid, source_id uuid, rule text, competitors jsonb,
      open_id bigint, open_value text, open_rule text, changed boolean, value_changed boolean
    ) on commit drop`);
  await tx.execute(sql`insert into golden_decisions ${decisionsQuery(lockedIds, options.rules)}`);
  // The rows to close go by primary key: a join from the temporary table would scan every open row.
  const [{ closing }] = (await queryRows<{ closing: Array<number | string> | null }>(
    tx,
    sql`
    select array_agg(open_id) as closing from golden_decisions where changed and open_id is not null`,
  )) as [{ closing: Array<number | string> | null }];
  if (closing && closing.length > 0) {
    await tx.execute(sql`update ${fieldProvenance} set ${bare(fieldProvenance.validTo)} = ${at}
      where ${fieldProvenance.id} = any(${sql.param(closing.map(String))}::bigint[]) and ${fieldProvenance.validTo} is null`);
  }
  const p = fieldProvenance;
  const opened: SQLWrapper[] = [
    p.identityId,
    p.field,
    p.value,
    p.recordId,
    p.sourceId,
    p.rule,
    p.policyVersion,
    p.competitors,
    p.ingestRunId,
    p.validFrom,
  ];
  await tx.execute(sql`insert into ${fieldProvenance}
      (${sql.join(
        opened.map((c) => bare(c as PgColumn)),
        sql`, `,
      )})
    select identity_id, field, value, record_id, source_id, rule, ${options.policyVersion}::int, competitors, ${options.ingestRunId}::uuid, ${at}
    from golden_decisions where changed`);
  const i = alias(identities, 'i');
  const updated = await queryRows<{ id: string; version: number; fields: string[] }>(
    tx,
    sql`update ${identities} i set ${bare(identities.golden)} = g.golden, ${bare(identities.version)} = ${i.version} + 1, ${bare(identities.updatedAt)} = ${at}
    from (
      select identity_id, jsonb_object_agg(field, value) as golden,
        array_agg(field order by field) filter (where changed and value_changed) as fields
      from golden_decisions group by identity_id having bool_or(changed and value_changed)
    ) g
    where ${i.id} = g.identity_id and ${i.id} = any(${sql.param(lockedIds)}::uuid[])
    returning ${i.id} as id, ${i.version} as version, g.fields`,
  );
  const [counts] = await queryRows<{ reprovenanced: number; values_changed: number; golden_changed: number }>(
    tx,
    sql`
    select count(*) filter (where changed)::int as reprovenanced,
      count(*) filter (where changed and value_changed)::int as values_changed,
      count(distinct identity_id) filter (where changed and value_changed)::int as golden_changed
    from golden_decisions`,
  );
  await tx.execute(sql`drop table golden_decisions`);
  return {
    updated,
    counts: {
      fieldsReprovenanced: Number(counts?.reprovenanced ?? 0),
      valuesChanged: Number(counts?.values_changed ?? 0),
      goldenChanged: Number(counts?.golden_changed ?? 0),
    },
  };
}

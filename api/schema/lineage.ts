import { phi } from '../masking.ts';
import type { SourceRow } from '../../catalog/index.ts';
import { isUuid } from '../../identity/index.ts';
import {
  fhirProvenance,
  GOLDEN_FIELDS,
  INGEST_RUN_STATUSES,
  openLineageEvents,
  parseRuleChanges,
  RECOMPUTE_JOBS,
  SURVIVORSHIP_RULES,
  type ColumnMapping,
  type Competitor,
  type FieldProvenanceRow,
  type FieldRuleInput,
  type GoldenField,
  type IdentitySnapshot,
  type IngestRunPageRow,
  type IngestRunRow,
  type PolicyChange,
  type PolicyPreview,
  type PolicyVersion,
} from '../../lineage/index.ts';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { InputShapeFromFields } from '@pothos/core';
import { builder } from '../builder.ts';
import { actorOf, type RequestContext } from '../context.ts';
import { Source } from './catalog.ts';
import { GoldenRecord, Identity, SourceRecord } from './identity-types.ts';
import { answeringErrors } from './errors.ts';

import { namedConnection, timeKeysetConnection } from './paging.ts';

/** Lineage: field-level provenance, time travel, survivorship policy, ingest runs and their exports. */

const GoldenFieldEnum = builder.enumType('GoldenField', { values: GOLDEN_FIELDS, description: 'A field of the golden record.' });
const SurvivorshipRuleEnum = builder.enumType('SurvivorshipRule', {
  values: SURVIVORSHIP_RULES,
  description:
    'SOURCE_PRIORITY: the most trusted source. MOST_RECENT: the latest updated record. MOST_FREQUENT: the value most records agree on. MOST_COMPLETE: the longest value. STEWARD_OVERRIDE: a value a steward set. Ties go to trust, then recency.',
});
export const IngestRunStatusEnum = builder.enumType('IngestRunStatus', { values: INGEST_RUN_STATUSES });

/** Sources by id, fetched once per request. */
const sourceCache = new WeakMap<RequestContext, Map<string, Promise<SourceRow | null>>>();
function sourceById(ctx: RequestContext, id: string | null): Promise<SourceRow | null> {
  if (!id) return Promise.resolve(null);
  let cache = sourceCache.get(ctx);
  if (!cache) sourceCache.set(ctx, (cache = new Map()));
  let found = cache.get(id);
  if (!found) cache.set(id, (found = ctx.services.lineage.sourcesByIds([id]).then((rows) => rows[0] ?? null)));
  return found;
}

const ProvenanceCompetitor = builder.objectRef<Competitor & { identityId: string; field: string }>('ProvenanceCompetitor').implement({
  description: "A value a golden field's winner beat, and the record that held it.",
  fields: (t) => ({
    value: t.string({
      nullable: true,
      ...phi((c: { field: string }) => c.field),
      resolve: (c, _a, ctx) => {
        ctx.audit.touch('identity', c.identityId);
        return c.value;
      },
    }),
    record: t.field({ type: SourceRecord, nullable: true, resolve: (c, _a, ctx) => ctx.loaders.sourceRecord.load(c.recordId) }),
    source: t.field({ type: Source, nullable: true, resolve: (c, _a, ctx) => sourceById(ctx, c.sourceId) }),
  }),
});

export const IngestRun = builder.objectRef<IngestRunRow>('IngestRun');

const FieldProvenance = builder.objectRef<FieldProvenanceRow>('FieldProvenance').implement({
  description:
    'Where one golden value came from and while it held: the winning record and source, the rule and policy version that chose it, and the values it beat. A change closes the row (validTo) and opens a new one.',
  fields: (t) => ({
    id: t.id({ resolve: (p) => String(p.id) }),
    identityId: t.exposeID('identityId'),
    identity: t.field({ type: Identity, nullable: true, resolve: (p, _a, ctx) => ctx.loaders.identityExact.load(p.identityId) }),
    field: t.field({ type: GoldenFieldEnum, resolve: (p) => p.field as GoldenField }),
    value: t.string({
      nullable: true,
      ...phi((p: { field: string }) => p.field),
      resolve: (p, _a, ctx) => {
        ctx.audit.touch('identity', p.identityId);
        return p.value;
      },
    }),
    record: t.field({
      type: SourceRecord,
      nullable: true,
      description: 'The winning source record; null for a steward override or an empty field.',
      resolve: (p, _a, ctx) => (p.recordId ? ctx.loaders.sourceRecord.load(p.recordId) : null),
    }),
    source: t.field({ type: Source, nullable: true, resolve: (p, _a, ctx) => sourceById(ctx, p.sourceId) }),
    rule: t.field({ type: SurvivorshipRuleEnum, resolve: (p) => p.rule as (typeof SURVIVORSHIP_RULES)[number] }),
    policyVersion: t.exposeInt('policyVersion', { description: 'The survivorship policy version that decided this value.' }),
    competitors: t.field({
      type: [ProvenanceCompetitor],
      resolve: (p) => (p.competitors as Competitor[]).map((c) => ({ ...c, identityId: p.identityId, field: p.field })),
    }),
    validFrom: t.expose('validFrom', { type: 'DateTime' }),
    validTo: t.expose('validTo', { type: 'DateTime', nullable: true }),
    current: t.boolean({ resolve: (p) => p.validTo === null }),
    ingestRun: t.field({
      type: IngestRun,
      nullable: true,
      resolve: (p, _a, ctx) => (p.ingestRunId ? ctx.services.lineage.getRun(p.ingestRunId) : null),
    }),
    fhirProvenance: t.field({
      type: 'JSON',
      description: 'This row as a FHIR R4 Provenance resource (target: the golden Patient element).',
      resolve: async (p, _a, ctx) => {
        const source = await sourceById(ctx, p.sourceId);
        const history = await ctx.services.lineage.fieldHistory(p.identityId, p.field);
        return fhirProvenance(p, {
          source: source ? { code: source.code, name: source.name } : null,
          hasPredecessor: history.some(
            (h) => h.validFrom.getTime() < p.validFrom.getTime() || (h.validFrom.getTime() === p.validFrom.getTime() && h.id < p.id),
          ),
        });
      },
    }),
  }),
});

interface FieldLineageShape {
  identityId: string;
  field: GoldenField;
  history: FieldProvenanceRow[];
}

const FieldLineage = builder.objectRef<FieldLineageShape>('FieldLineage').implement({
  description: 'The full history of one golden field of an identity.',
  fields: (t) => ({
    identity: t.field({ type: Identity, nullable: true, resolve: (l, _a, ctx) => ctx.loaders.identityExact.load(l.identityId) }),
    field: t.field({ type: GoldenFieldEnum, resolve: (l) => l.field }),
    current: t.field({ type: FieldProvenance, nullable: true, resolve: (l) => l.history.find((h) => h.validTo === null) ?? null }),
    history: t.field({ type: [FieldProvenance], description: 'Newest first.', resolve: (l) => l.history }),
  }),
});

builder.objectField(Identity, 'provenance', (t) =>
  t.field({
    type: [FieldProvenance],
    description: "Provenance of this identity's golden fields, newest first: one field's full history, or every field's.",
    authScopes: { searchIdentities: true },
    args: { field: t.arg({ type: GoldenFieldEnum, required: false }), current: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (i, args, ctx) => ctx.services.lineage.fieldHistory(i.id, args.field ?? undefined, { currentOnly: args.current ?? false }),
  }),
);

builder.objectField(SourceRecord, 'contributions', (t) =>
  t.field({
    type: [FieldProvenance],
    description: 'The golden fields this record currently supplies, per identity: what changes if this source is wrong.',
    authScopes: { searchIdentities: true },
    resolve: (r, _a, ctx) => ctx.services.lineage.contributionsOf(r.record.id),
  }),
);

const SnapshotRecord = builder.objectRef<IdentitySnapshot['records'][number] & { identityId: string }>('SnapshotRecord').implement({
  description: "A record linked at the snapshot's instant, with the golden-field values it held then.",
  fields: (t) => ({
    record: t.field({
      type: SourceRecord,
      nullable: true,
      description: 'The record as it is now.',
      resolve: (r, _a, ctx) => ctx.loaders.sourceRecord.load(r.recordId),
    }),
    values: t.field({
      type: GoldenRecord,
      resolve: (r, _a, ctx) => {
        ctx.audit.touch('record', r.recordId);
        return Object.fromEntries(GOLDEN_FIELDS.map((f) => [f, r.values[f] ?? null]));
      },
    }),
  }),
});

const IdentitySnapshotRef = builder.objectRef<IdentitySnapshot>('IdentitySnapshot').implement({
  description: 'An identity as it stood at a past instant, rebuilt from its events and provenance history.',
  fields: (t) => ({
    requestedId: t.exposeID('requestedId'),
    identityId: t.exposeID('identityId', { description: 'The identity the requested ID stood for then (merges followed as of then).' }),
    redirectedFrom: t.idList({ resolve: (s) => s.redirectedFrom }),
    at: t.expose('at', { type: 'DateTime' }),
    identity: t.field({
      type: Identity,
      nullable: true,
      description: 'That identity as it is now.',
      resolve: (s, _a, ctx) => ctx.loaders.identityExact.load(s.identityId),
    }),
    golden: t.field({
      type: GoldenRecord,
      resolve: (s, _a, ctx) => {
        ctx.audit.touch('identity', s.identityId);
        return s.golden;
      },
    }),
    records: t.field({ type: [SnapshotRecord], resolve: (s) => s.records.map((r) => ({ ...r, identityId: s.identityId })) }),
    provenance: t.field({ type: [FieldProvenance], resolve: (s) => s.provenance }),
  }),
});

const FieldRule = builder.objectRef<{ field: GoldenField; rule: PolicyVersion['rules'][GoldenField] & object }>('FieldRule').implement({
  fields: (t) => ({
    field: t.field({ type: GoldenFieldEnum, resolve: (r) => r.field }),
    rule: t.field({ type: SurvivorshipRuleEnum, resolve: (r) => r.rule.rule }),
    value: t.string({
      nullable: true,
      ...phi((r: { field: string }) => r.field),
      description: 'STEWARD_OVERRIDE only: the value set for every identity.',
      resolve: (r) => r.rule.value ?? null,
    }),
    fallback: t.field({
      type: SurvivorshipRuleEnum,
      nullable: true,
      description: 'STEWARD_OVERRIDE only: the rule used while no value is set.',
      resolve: (r) => r.rule.fallback ?? null,
    }),
  }),
});

const SurvivorshipPolicy = builder.objectRef<PolicyVersion>('SurvivorshipPolicy').implement({
  description: 'A versioned set of survivorship rules, one per golden field. Version 1 is the built-in default.',
  fields: (t) => ({
    version: t.exposeInt('version'),
    active: t.exposeBoolean('active'),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true }),
    rules: t.field({ type: [FieldRule], resolve: (p) => GOLDEN_FIELDS.map((field) => ({ field, rule: p.rules[field]! })) }),
  }),
});

const FieldRuleInputRef = builder.inputType('FieldRuleInput', {
  description: "A golden field's rule. value and fallback apply to STEWARD_OVERRIDE only.",
  fields: (t) => ({
    field: t.field({ type: GoldenFieldEnum, required: true }),
    rule: t.field({ type: SurvivorshipRuleEnum, required: true }),
    value: t.string({ required: false }),
    fallback: t.field({ type: SurvivorshipRuleEnum, required: false }),
  }),
});

const PolicyChangeRef = builder.objectRef<PolicyChange>('PolicyChange').implement({
  fields: (t) => ({
    policy: t.field({ type: SurvivorshipPolicy, resolve: (c) => c.policy }),
    run: t.field({ type: IngestRun, description: 'The recompute of every golden record under the new policy.', resolve: (c) => c.run }),
  }),
});

const PolicyFieldImpact = builder.objectRef<PolicyPreview['byField'][number]>('PolicyFieldImpact').implement({
  fields: (t) => ({
    field: t.field({ type: GoldenFieldEnum, resolve: (f) => f.field }),
    reprovenanced: t.exposeInt('reprovenanced', { description: 'Identities whose provenance of this field would be re-opened.' }),
    valuesChanged: t.exposeInt('valuesChanged', { description: 'Identities whose value of this field would change.' }),
  }),
});

const PolicyPreviewChange = builder.objectRef<PolicyPreview['changes'][number]>('PolicyPreviewChange').implement({
  fields: (t) => ({
    identityId: t.exposeID('identityId'),
    identity: t.field({ type: Identity, nullable: true, resolve: (c, _a, ctx) => ctx.loaders.identityExact.load(c.identityId) }),
    field: t.field({ type: GoldenFieldEnum, resolve: (c) => c.field }),
    currentValue: t.string({
      nullable: true,
      ...phi((c: { field: string }) => c.field),
      resolve: (c, _a, ctx) => {
        ctx.audit.touch('identity', c.identityId);
        return c.currentValue;
      },
    }),
    proposedValue: t.string({
      nullable: true,
      ...phi((c: { field: string }) => c.field),
      resolve: (c, _a, ctx) => {
        ctx.audit.touch('identity', c.identityId);
        return c.proposedValue;
      },
    }),
    currentRule: t.field({
      type: SurvivorshipRuleEnum,
      nullable: true,
      resolve: (c) => c.currentRule as (typeof SURVIVORSHIP_RULES)[number] | null,
    }),
    proposedRule: t.field({ type: SurvivorshipRuleEnum, resolve: (c) => c.proposedRule as (typeof SURVIVORSHIP_RULES)[number] }),
  }),
});

const PolicyPreviewRef = builder.objectRef<PolicyPreview>('PolicyPreview').implement({
  description: 'What a policy change would do, decided exactly as the recompute would, without changing anything.',
  fields: (t) => ({
    identitiesScanned: t.exposeInt('identitiesScanned'),
    identitiesAffected: t.exposeInt('identitiesAffected'),
    fieldsReprovenanced: t.exposeInt('fieldsReprovenanced'),
    valuesChanged: t.exposeInt('valuesChanged'),
    byField: t.field({ type: [PolicyFieldImpact], resolve: (p) => p.byField }),
    changes: t.field({ type: [PolicyPreviewChange], description: 'The first changes, by identity id.', resolve: (p) => p.changes }),
  }),
});

const IngestRunError = builder.objectRef<IngestRunRow['errors'][number]>('IngestRunError').implement({
  fields: (t) => ({
    line: t.int({ nullable: true, resolve: (e) => e.line ?? null }),
    field: t.string({ nullable: true, resolve: (e) => e.field ?? null }),
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

/** The catalog's mapping of the source's fields to golden fields; the canonical one-to-one mapping when it has none. */
async function columnMapping(ctx: RequestContext, sourceCode: string): Promise<{ dataset: string; columns: ColumnMapping[] | undefined }> {
  const entries = await ctx.services.catalog.searchFields({ source: sourceCode });
  const mapped = entries.filter((e) => e.field.goldenField && (GOLDEN_FIELDS as readonly string[]).includes(e.field.goldenField));
  if (mapped.length === 0) return { dataset: 'patients', columns: undefined };
  const dataset = mapped[0]!.dataset.name;
  return {
    dataset,
    columns: mapped
      .filter((e) => e.dataset.name === dataset)
      .map((e) => ({ sourceField: e.field.name, goldenField: e.field.goldenField as GoldenField })),
  };
}

IngestRun.implement({
  description: 'One batch or stream session that fed records in, or a recompute of golden records (an OpenLineage run).',
  fields: (t) => ({
    id: t.exposeID('id'),
    source: t.field({ type: Source, nullable: true, resolve: (r, _a, ctx) => sourceById(ctx, r.sourceId) }),
    job: t.exposeString('job'),
    status: t.field({ type: IngestRunStatusEnum, resolve: (r) => r.status as (typeof INGEST_RUN_STATUSES)[number] }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    counts: t.field({ type: 'JSON', description: 'Counts in and out, e.g. recordsIn, created, linked, review.', resolve: (r) => r.counts }),
    errors: t.field({ type: [IngestRunError], resolve: (r) => r.errors }),
    facets: t.field({ type: 'JSON', resolve: (r) => r.facets }),
    openLineageEvents: t.field({
      type: ['JSON'],
      description:
        'The run as OpenLineage RunEvents (START, then COMPLETE, FAIL or ABORT), with column lineage from source to golden fields.',
      resolve: async (r, _a, ctx) => {
        const source = await sourceById(ctx, r.sourceId);
        const mapping = source ? await columnMapping(ctx, source.code) : null;
        const policy = await ctx.services.lineage.activePolicy();
        return openLineageEvents(r, {
          source: source ? { code: source.code, dataset: mapping!.dataset } : null,
          columns: mapping?.columns,
          rules: policy.rules,
        });
      },
    }),
  }),
});

const IngestRunFilter = builder.inputType('IngestRunFilter', {
  description: 'Which runs to list; every given criterion must hold.',
  fields: (t) => ({
    source: t.string({ required: false, description: 'A source code.' }),
    status: t.field({ type: IngestRunStatusEnum, required: false }),
    job: t.string({ required: false }),
  }),
});

builder.queryFields((t) => ({
  lineage: t.field({
    type: FieldLineage,
    nullable: true,
    description:
      "The full history of one golden field: each value, the record and source it came from, the rule, the policy version, the values it beat, and when it held. A merged identity's ID gives its survivor's lineage.",
    authScopes: { searchIdentities: true },
    args: { identityId: t.arg.id({ required: true }), field: t.arg({ type: GoldenFieldEnum, required: true }) },
    resolve: async (_r, args, ctx) => {
      const identity = await ctx.services.identity.getIdentity(String(args.identityId));
      if (!identity) return null;
      ctx.audit.touch('identity', identity.id);
      return { identityId: identity.id, field: args.field, history: await ctx.services.lineage.fieldHistory(identity.id, args.field) };
    },
  }),
  identityAsOf: t.field({
    type: IdentitySnapshotRef,
    nullable: true,
    description:
      'An identity as it stood at `at`: golden values, linked records and provenance, rebuilt from history. Null if it did not exist yet.',
    authScopes: { searchIdentities: true },
    args: { id: t.arg.id({ required: true }), at: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (_r, args, ctx) => {
      const id = String(args.id);
      if (!isUuid(id)) return null;
      const snapshot = await ctx.services.lineage.identityAsOf(id, args.at);
      if (snapshot) ctx.audit.touch('identity', snapshot.identityId);
      return snapshot;
    },
  }),
  survivorshipPolicy: t.field({
    type: SurvivorshipPolicy,
    description: 'The active survivorship policy.',
    authScopes: { readSurvivorship: true },
    resolve: (_r, _a, ctx) => ctx.services.lineage.activePolicy(),
  }),
  survivorshipPolicies: t.field({
    type: [SurvivorshipPolicy],
    description: 'Every policy version, newest first.',
    authScopes: { readSurvivorship: true },
    resolve: (_r, _a, ctx) => ctx.services.lineage.listPolicies(),
  }),
  previewSurvivorshipPolicy: t.field({
    type: PolicyPreviewRef,
    description: 'Which identities and fields would change if these rules replaced the active ones. Changes nothing.',
    authScopes: { previewSurvivorship: true },
    args: { rules: t.arg({ type: [FieldRuleInputRef], required: true }), limit: t.arg.int({ required: false, defaultValue: 100 }) },
    resolve: (_r, args, ctx) => {
      const limit = args.limit ?? 100;
      if (limit < 0 || limit > 1000) throw ValidationError.of('limit', 'OUT_OF_RANGE', 'must be between 0 and 1000');
      return ctx.services.lineage.previewPolicy(parseRuleChanges(args.rules as FieldRuleInput[]), { limit });
    },
  }),
  ingestRuns: t.connection(
    {
      type: IngestRun,
      description:
        'Ingest runs and golden-record recomputes, newest first (at most 100 per page). Paged by keyset: runs started while paging skip none and repeat none.',
      authScopes: { readIngestRuns: true },
      args: {
        filter: t.arg({ type: IngestRunFilter, required: false }),
        source: t.arg.string({ required: false, description: 'A source code.', deprecationReason: 'Use filter: { source }.' }),
        status: t.arg({ type: IngestRunStatusEnum, required: false, deprecationReason: 'Use filter: { status }.' }),
        job: t.arg.string({ required: false, deprecationReason: 'Use filter: { job }.' }),
      },
      resolve: async (_r, args, ctx) => {
        const filter = args.filter ?? { source: args.source, status: args.status, job: args.job };
        const source = filter.source ? await ctx.services.catalog.getSourceByCode(filter.source) : null;
        const unknownSource = Boolean(filter.source && !source);
        const runs = { sourceId: source?.id, status: filter.status, job: filter.job };
        return timeKeysetConnection<IngestRunPageRow>({
          list: 'ingestRuns',
          args,
          load: async (page) => (unknownSource ? [] : ctx.services.lineage.runsPage(runs, page)),
          count: async () => (unknownSource ? 0 : ctx.services.lineage.countRuns(runs)),
        });
      },
    },
    namedConnection(IngestRun, 'IngestRun', { counted: true }),
  ),
  ingestRun: t.field({
    type: IngestRun,
    nullable: true,
    authScopes: { readIngestRuns: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => (isUuid(String(args.id)) ? ctx.services.lineage.getRun(String(args.id)) : null),
  }),
}));

const SET_POLICY_DESCRIPTION =
  "Activates a new policy version: the active rules with these fields' rules replaced. Every golden record is then recomputed set-based; with wait: false the mutation returns once the recompute run has started.";

const setPolicyArgs = builder.args((t) => ({
  rules: t.field({ type: [FieldRuleInputRef], required: true }),
  wait: t.boolean({ required: false, defaultValue: true }),
}));

async function setSurvivorshipPolicy(args: InputShapeFromFields<typeof setPolicyArgs>, ctx: RequestContext): Promise<PolicyChange> {
  const changes = parseRuleChanges(args.rules as FieldRuleInput[]);
  ctx.audit.wrote = true;
  const change = await ctx.services.lineage.changePolicy(changes, actorOf(ctx), { wait: args.wait ?? true });
  return { ...change, run: (await ctx.services.lineage.getRun(change.run.id)) ?? change.run };
}

builder.mutationFields((t) => ({
  setSurvivorshipPolicy: t.field({
    type: PolicyChangeRef,
    description: SET_POLICY_DESCRIPTION,
    authScopes: { manageSurvivorship: true },
    args: setPolicyArgs,
    resolve: (_r, args, ctx) => setSurvivorshipPolicy(args, ctx),
  }),
  setSurvivorshipPolicyResult: t.field({
    type: PolicyChangeRef,
    description:
      'Answers invalid rules as a typed ValidationError in the union (see the Error interface); same arguments as setSurvivorshipPolicy.',
    authScopes: { manageSurvivorship: true },
    args: setPolicyArgs,
    errors: {
      types: [ValidationError],
      union: { name: 'SetSurvivorshipPolicyResult', description: 'The policy change and its recompute, or why nothing changed.' },
      result: { name: 'SetSurvivorshipPolicySuccess' },
      dataField: { name: 'change' },
    },
    resolve: (_r, args, ctx) => answeringErrors(ctx, () => setSurvivorshipPolicy(args, ctx)),
  }),
  recomputeGoldenRecords: t.field({
    type: IngestRun,
    description:
      'Recomputes golden records under the active policy: those a source feeds (after its trust rank changed), or all. Returns the finished run.',
    authScopes: { manageSurvivorship: true },
    args: { source: t.arg.string({ required: false, description: 'A source code; omit for every identity.' }) },
    resolve: async (_r, args, ctx) => {
      const source = args.source ? await ctx.services.catalog.getSourceByCode(args.source) : null;
      if (args.source && !source) throw new NotFoundError('Source', 'source');
      ctx.audit.wrote = true;
      const result = await ctx.services.lineage.recompute(source ? { kind: 'source', sourceId: source.id } : { kind: 'all' }, {
        job: source ? RECOMPUTE_JOBS.source : RECOMPUTE_JOBS.manual,
      });
      return (await ctx.services.lineage.getRun(result.runId))!;
    },
  }),
}));

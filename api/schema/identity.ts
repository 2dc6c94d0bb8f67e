import {
  INGEST_OUTCOMES,
  isUuid,
  MAX_BATCH_SIZE,
  type IdentityPageRow,
  type IngestResultData,
  type SourceRecordInput as SourceRecordInputShape,
} from '../../identity/index.ts';
import { CANONICAL_FIELDS } from '../../matching/index.ts';
import { DomainError, ValidationError } from '../../platform/errors.ts';
import { builder, type ApiTypes } from '../builder.ts';
import { actorOf, type RequestContext } from '../context.ts';
import { phi, seesFullPhi } from '../masking.ts';
import {
  GoldenRecord,
  Identity,
  IdentityEvent,
  IdentityStatusEnum,
  Link,
  MatchCandidate,
  ReviewItem,
  SourceRecord,
} from './identity-types.ts';

import { namedConnection, timeKeysetConnection } from './paging.ts';

const CANONICAL_INPUT_FIELDS = CANONICAL_FIELDS;

/** The demographic input fields: text, except birthDate, a calendar date. */
function demographicInputs(t: PothosSchemaTypes.InputFieldBuilder<ApiTypes, 'InputObject'>) {
  return Object.fromEntries(
    CANONICAL_INPUT_FIELDS.map((f) => [f, f === 'birthDate' ? t.field({ type: 'Date', required: false }) : t.string({ required: false })]),
  ) as Record<(typeof CANONICAL_INPUT_FIELDS)[number], ReturnType<typeof t.string>>;
}

export const RecordFieldsInput = builder.inputType('RecordFieldsInput', {
  description: 'Demographics to match, without a source (for `match`). birthDate is a calendar date (YYYY-MM-DD).',
  fields: (t) => demographicInputs(t) as never,
});

export const SourceRecordInput = builder.inputType('SourceRecordInput', {
  description:
    "One patient as one source knows it. `source` is a registered source code; `localId` is the source's own ID. birthDate is a calendar date (YYYY-MM-DD).",
  fields: (t) => ({
    source: t.string({ required: true }),
    localId: t.string({ required: true }),
    ...demographicInputs(t),
  }),
});

const IngestOutcomeEnum = builder.enumType('IngestOutcome', {
  values: INGEST_OUTCOMES,
  description:
    'LINKED: joined an existing identity. CREATED: a new identity. REVIEW: uncertain, a steward will decide (a provisional identity is returned). UNCHANGED: the same record was sent before.',
});

const FieldWarning = builder.objectRef<{ field: string; code: string; message: string }>('FieldWarning').implement({
  description: 'A value that was accepted but not used for matching (e.g. a placeholder SSN).',
  fields: (t) => ({ field: t.exposeString('field'), code: t.exposeString('code'), message: t.exposeString('message') }),
});

const IngestResult = builder.objectRef<IngestResultData>('IngestResult').implement({
  fields: (t) => ({
    outcome: t.field({ type: IngestOutcomeEnum, resolve: (r) => r.outcome }),
    record: t.field({ type: SourceRecord, resolve: async (r, _a, ctx) => (await ctx.loaders.sourceRecord.load(r.recordId))! }),
    identity: t.field({ type: Identity, resolve: async (r, _a, ctx) => (await ctx.loaders.identity.load(r.identityId))! }),
    candidates: t.field({ type: [MatchCandidate], resolve: (r) => r.candidates }),
    warnings: t.field({ type: [FieldWarning], resolve: (r) => r.warnings }),
    reviewItem: t.field({
      type: ReviewItem,
      nullable: true,
      resolve: (r, _a, ctx) => (r.reviewItemId ? ctx.services.identity.reviewItem(r.reviewItemId) : null),
    }),
    mergedIdentityIds: t.field({
      type: ['ID'],
      description:
        'Identities that this record bridged and the matcher merged into `identity` (it matched each above the match threshold and the merge guard passed on all their records); they now redirect to it. Usually empty.',
      resolve: (r) => r.mergedIdentityIds,
    }),
  }),
});

const IdentityFilter = builder.inputType('IdentityFilter', {
  description: 'Which identities to list; every given criterion must hold. Names match by case-insensitive prefix.',
  fields: (t) => ({
    familyName: t.string({ required: false }),
    givenName: t.string({ required: false }),
    birthDate: t.field({ type: 'Date', required: false }),
  }),
});

function touchIdentity(ctx: RequestContext, id: string): void {
  ctx.audit.touch('identity', id);
}

Identity.implement({
  description: 'A golden identity: one real patient, with an enterprise ID that stays valid (merged IDs redirect).',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: IdentityStatusEnum, resolve: (i) => i.status }),
    version: t.exposeInt('version', { description: 'Increases on every change; pass it back to detect concurrent edits.' }),
    mergedInto: t.exposeID('mergedInto', { nullable: true }),
    golden: t.field({
      type: GoldenRecord,
      resolve: (i, _a, ctx) => {
        touchIdentity(ctx, i.id);
        return i.golden;
      },
    }),
    records: t.field({
      type: [SourceRecord],
      description: 'The active source records linked to this identity.',
      resolve: (i, _a, ctx) => ctx.loaders.recordsOf.load(i.id),
    }),
    history: t.field({
      type: [IdentityEvent],
      description: 'Every event of this identity, oldest first, in one unbounded list.',
      deprecationReason: 'Unbounded; use events (paged, with totalCount).',
      authScopes: { searchIdentities: true },
      resolve: (i, _a, ctx) => ctx.services.identity.history(i.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

SourceRecord.implement({
  description: 'One patient as one source knows it.',
  fields: (t) => ({
    id: t.id({ resolve: (r) => r.record.id }),
    source: t.string({ resolve: (r) => r.source.code }),
    localId: t.string({ resolve: (r) => r.record.localId }),
    ...(Object.fromEntries(
      CANONICAL_INPUT_FIELDS.map((f) => [
        f,
        t.string({
          nullable: true,
          ...phi(f),
          resolve: (r, _a, ctx) => {
            ctx.audit.touch('record', r.record.id);
            return r.record[f];
          },
        }),
      ]),
    ) as Record<string, ReturnType<typeof t.string>>),
    link: t.field({ type: Link, nullable: true, resolve: (r) => r.link }),
    identity: t.field({
      type: Identity,
      nullable: true,
      resolve: (r, _a, ctx) => (r.link ? ctx.loaders.identity.load(r.link.identityId) : null),
    }),
    deleted: t.boolean({ resolve: (r) => r.record.deletedAt !== null }),
    version: t.int({ resolve: (r) => r.record.version }),
    receivedAt: t.field({ type: 'DateTime', resolve: (r) => r.record.receivedAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.record.updatedAt }),
  }),
});

/**
 * Filters on demographics answer "is there a patient whose surname starts with …": to a role that sees names
 * masked they would be an oracle for the masked value, letter by letter. Only roles that see PHI may use them.
 */
function refusePhiFilters(
  ctx: RequestContext,
  args: { familyName?: string | null; givenName?: string | null; birthDate?: string | null },
): void {
  if (seesFullPhi(ctx.principal)) return;
  const used = (['familyName', 'givenName', 'birthDate'] as const).find((f) => args[f] !== null && args[f] !== undefined);
  if (used) throw new DomainError('FORBIDDEN', 'Searching by patient demographics needs a role that sees them unmasked', { field: used });
}

function actor(ctx: RequestContext, reason?: string | null) {
  return { actor: actorOf(ctx), reason: reason ?? null, requestId: ctx.requestId };
}

builder.queryFields((t) => ({
  identity: t.field({
    type: Identity,
    nullable: true,
    description: 'An identity by enterprise ID; a merged ID returns the surviving identity.',
    authScopes: { readIdentity: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.identity.getIdentity(String(args.id)),
  }),
  identities: t.connection(
    {
      type: Identity,
      description:
        'Active identities, oldest first, optionally filtered by name prefix and birth date (at most 100 per page). Paged by keyset: identities created or merged while paging skip none and repeat none.',
      authScopes: { searchIdentities: true },
      args: {
        filter: t.arg({ type: IdentityFilter, required: false }),
        familyName: t.arg.string({ required: false, deprecationReason: 'Use filter: { familyName }.' }),
        givenName: t.arg.string({ required: false, deprecationReason: 'Use filter: { givenName }.' }),
        birthDate: t.arg.string({ required: false, deprecationReason: 'Use filter: { birthDate }.' }),
      },
      resolve: (_r, args, ctx) => {
        const filter = args.filter ?? { familyName: args.familyName, givenName: args.givenName, birthDate: args.birthDate };
        refusePhiFilters(ctx, filter);
        return timeKeysetConnection<IdentityPageRow>({
          list: 'identities',
          args,
          load: (page) => ctx.services.identity.searchPage(filter, page),
          count: () => ctx.services.identity.countIdentities(filter),
        });
      },
    },
    namedConnection(Identity, 'Identity', { counted: true }),
  ),
  resolve: t.field({
    type: Identity,
    nullable: true,
    description: 'Which patient is this? The current identity of a source record, following merges.',
    authScopes: { match: true },
    args: { source: t.arg.string({ required: true }), localId: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.ingest.resolve(args.source, args.localId),
  }),
  sourceRecord: t.field({
    type: SourceRecord,
    nullable: true,
    description: 'A source record by its id, or by source code and local ID.',
    authScopes: { readIdentity: true },
    args: { id: t.arg.id({ required: false }), source: t.arg.string({ required: false }), localId: t.arg.string({ required: false }) },
    resolve: (_r, args, ctx) => {
      if (args.id) return ctx.services.identity.sourceRecord(String(args.id));
      if (args.source && args.localId) return ctx.services.identity.sourceRecordByLocalId(args.source, args.localId);
      throw ValidationError.of('id', 'REQUIRED', 'give either id, or source and localId');
    },
  }),
  match: t.field({
    type: [MatchCandidate],
    description: 'Ranked candidate identities for a record, with grades and explanations. Stores nothing.',
    authScopes: { match: true },
    args: {
      input: t.arg({ type: RecordFieldsInput, required: true }),
      count: t.arg.int({
        required: false,
        description: 'How many candidates at most: 1 to 100, default 10. Outside that range the query is refused with OUT_OF_RANGE.',
      }),
      onlyCertain: t.arg.boolean({ required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const candidates = await ctx.services.ingest.match(args.input as never, { count: args.count, onlyCertain: args.onlyCertain });
      const rows = await ctx.services.identity.identitiesByIds(candidates.map((c) => c.identityId));
      return candidates.map((c) => ({ ...c, identityRow: rows.get(c.identityId) ?? null }));
    },
  }),
  identityHistory: t.field({
    type: [IdentityEvent],
    description: 'Every event of an identity, oldest first, in one unbounded list.',
    deprecationReason: 'Unbounded; use identityEvents (paged, with totalCount).',
    authScopes: { searchIdentities: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => {
      touchIdentity(ctx, String(args.id));
      return ctx.services.identity.history(String(args.id));
    },
  }),
}));

const RUN_ID_DESCRIPTION = "An ingest run from startIngestRun: the records, their provenance and the run's counts name it.";

function runIdOf(id: string | number | null | undefined): string | null {
  if (id === null || id === undefined) return null;
  if (!isUuid(String(id))) throw ValidationError.of('runId', 'INVALID_ID', 'is not an ingest run id');
  return String(id);
}

function markWrite(ctx: RequestContext, results: IngestResultData[]): void {
  ctx.audit.wrote = true;
  for (const r of results) {
    ctx.audit.touch('record', r.recordId);
    ctx.audit.touch('identity', r.identityId);
  }
}

builder.mutationFields((t) => ({
  ingestRecord: t.field({
    type: IngestResult,
    description: 'Idempotent upsert of one source record keyed by (source, localId), then matching.',
    authScopes: { ingest: true },
    args: {
      input: t.arg({ type: SourceRecordInput, required: true }),
      runId: t.arg.id({ required: false, description: RUN_ID_DESCRIPTION }),
    },
    resolve: async (_r, args, ctx) => {
      // Its audit entry is written inside the ingest transaction (auditMutationsInTransaction).
      const result = await ctx.services.ingest.ingest(args.input as SourceRecordInputShape, actor(ctx), { runId: runIdOf(args.runId) });
      markWrite(ctx, [result]);
      return result;
    },
  }),
  ingestRecords: t.field({
    type: [IngestResult],
    description: `Batch ingest of up to ${MAX_BATCH_SIZE} records. Every record is validated first; one invalid record rejects the batch with nothing stored.`,
    authScopes: { ingest: true },
    args: {
      input: t.arg({ type: [SourceRecordInput], required: true }),
      runId: t.arg.id({ required: false, description: RUN_ID_DESCRIPTION }),
    },
    resolve: async (_r, args, ctx) => {
      const results = await ctx.services.ingest.ingestMany(args.input as SourceRecordInputShape[], actor(ctx), {
        runId: runIdOf(args.runId),
      });
      markWrite(ctx, results);
      return results;
    },
  }),
  deleteRecord: t.field({
    type: SourceRecord,
    description: 'Soft-deletes a source record; its identity is rebuilt without it.',
    authScopes: { ingest: true },
    args: {
      source: t.arg.string({ required: true }),
      localId: t.arg.string({ required: true }),
      reason: t.arg.string({ required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const { recordId, identityId } = await ctx.services.ingest.deleteRecord(args.source, args.localId, actor(ctx, args.reason));
      ctx.audit.wrote = true;
      ctx.audit.touch('record', recordId);
      ctx.audit.touch('identity', identityId);
      return (await ctx.services.identity.sourceRecord(recordId))!;
    },
  }),
}));

export { actor, touchIdentity };

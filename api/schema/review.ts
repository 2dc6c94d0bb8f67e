import {
  IDENTITY_EVENT_TYPES,
  MODEL_EVENT_TYPES,
  REVIEW_DECISIONS,
  REVIEW_KINDS,
  REVIEW_QUEUE_ORDERS,
  REVIEW_STATUSES,
  reviewItemKey,
  type MatchModelRow,
  type ModelEventRow,
  type ReviewQueueItem,
} from '../../identity/index.ts';
import { gradeOf } from '../../matching/index.ts';
import { ValidationError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import { actor } from './identity.ts';
import { GradeEnum, Identity, IdentityEvent, MatchExplanation, ReviewItem, SourceRecord } from './identity-types.ts';
import { keysetConnection, namedConnection } from './paging.ts';
import { isUuid } from '../../platform/ids.ts';

/** Review queue pages: at most this many items each. */
export const MAX_REVIEW_PAGE = 100;

export const ReviewKindEnum = builder.enumType('ReviewKind', {
  values: REVIEW_KINDS,
  description: 'RECORD_MATCH: is this record the same patient as identityA? POSSIBLE_DUPLICATE: are identityA and identityB one patient?',
});
export const ReviewStatusEnum = builder.enumType('ReviewStatus', { values: REVIEW_STATUSES });
export const ReviewDecisionEnum = builder.enumType('ReviewDecision', {
  values: REVIEW_DECISIONS,
  description:
    'MATCH: same patient (the record joins identityA, or identityB merges into identityA). NOT_MATCH: different patients, kept apart for good.',
});
export const EventTypeEnum = builder.enumType('IdentityEventType', { values: IDENTITY_EVENT_TYPES });

ReviewItem.implement({
  description: 'A case the matcher was unsure about, waiting for a data steward.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.field({ type: ReviewKindEnum, resolve: (r) => r.kind }),
    status: t.field({ type: ReviewStatusEnum, resolve: (r) => r.status }),
    priority: t.exposeFloat('priority', { description: 'Higher first: uncertainty times the number of records at stake.' }),
    probability: t.exposeFloat('probability'),
    grade: t.field({
      type: GradeEnum,
      description: "The probability's grade under the active model's thresholds: the band the queue's grade filter puts it in.",
      resolve: async (r, _a, ctx) => gradeOf(r.probability, await ctx.services.models.active()),
    }),
    weight: t.exposeFloat('weight'),
    explanation: t.field({ type: MatchExplanation, resolve: (r) => r.explanation as never }),
    blockers: t.stringList({ resolve: (r) => (r.explanation as { blockers?: string[] }).blockers ?? [] }),
    record: t.field({
      type: SourceRecord,
      nullable: true,
      resolve: (r, _a, ctx) => {
        if (r.sourceRecord !== undefined) return r.sourceRecord;
        return r.recordId ? ctx.loaders.sourceRecord.load(r.recordId) : null;
      },
    }),
    identityA: t.field({ type: Identity, nullable: true, resolve: (r, _a, ctx) => ctx.loaders.identity.load(r.identityA) }),
    identityB: t.field({
      type: Identity,
      nullable: true,
      resolve: (r, _a, ctx) => (r.identityB ? ctx.loaders.identity.load(r.identityB) : null),
    }),
    modelVersion: t.exposeString('modelVersion', { nullable: true }),
    decision: t.exposeString('decision', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    decidedBy: t.exposeString('decidedBy', { nullable: true }),
    decidedAt: t.expose('decidedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

IdentityEvent.implement({
  description: "One append-only event in an identity's history.",
  fields: (t) => ({
    id: t.id({ resolve: (e) => String(e.id) }),
    type: t.field({ type: EventTypeEnum, resolve: (e) => e.type }),
    identityId: t.exposeID('identityId'),
    recordId: t.exposeID('recordId', { nullable: true }),
    otherIdentityId: t.exposeID('otherIdentityId', { nullable: true }),
    actor: t.exposeString('actor'),
    reason: t.exposeString('reason', { nullable: true }),
    modelVersion: t.exposeString('modelVersion', { nullable: true }),
    evidence: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Scores and explanation behind a matcher decision.',
      resolve: (e) => e.evidence ?? null,
    }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const MatchModelInfo = builder.objectRef<MatchModelRow>('MatchModel').implement({
  fields: (t) => ({
    version: t.exposeString('version'),
    active: t.exposeBoolean('active'),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    spec: t.field({ type: 'JSON', description: 'The model document, as `mpi link --model` reads it.', resolve: (m) => m.spec }),
    summary: t.field({ type: 'JSON', nullable: true, resolve: (m) => m.summary ?? null }),
  }),
});

/** Model events per page at most. */
export const MAX_MODEL_EVENTS_PAGE = 200;

const ModelEventTypeEnum = builder.enumType('MatchModelEventType', {
  description:
    'TRAINED: a candidate model was trained (trigger, records, pairs). EVALUATED: it was compared with the active model (agreement, expected precision and recall, link counts). ACTIVATED: it became the active model. REJECTED: it was not activated; `data.reasons` says why.',
  values: MODEL_EVENT_TYPES,
});

const MatchModelEventFilter = builder.inputType('MatchModelEventFilter', {
  description: 'Which model events to list; every given criterion must hold.',
  fields: (t) => ({
    version: t.string({ required: false, description: 'Only events of this model version.' }),
    type: t.field({ type: ModelEventTypeEnum, required: false }),
  }),
});

const MatchModelEvent = builder.objectRef<ModelEventRow>('MatchModelEvent').implement({
  description: 'One step of a match model through training, evaluation and activation or rejection. No patient data.',
  fields: (t) => ({
    id: t.id({ resolve: (e) => String(e.id) }),
    version: t.exposeString('version', { description: 'The model version the event is about.' }),
    type: t.field({ type: ModelEventTypeEnum, resolve: (e) => e.type }),
    actor: t.exposeString('actor', { description: '`model-lifecycle` for the self-running lifecycle, else the caller.' }),
    data: t.field({ type: 'JSON', description: 'The numbers of the step (see the type).', resolve: (e) => e.data }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const ReviewQueueFilter = builder.inputType('ReviewQueueFilter', {
  description: 'Which review items to list; every given criterion must hold.',
  fields: (t) => ({
    status: t.field({
      type: ReviewStatusEnum,
      required: false,
      defaultValue: 'OPEN',
      description: 'OPEN (the default) or RESOLVED; null for both.',
    }),
    kind: t.field({ type: ReviewKindEnum, required: false }),
    grade: t.field({
      type: GradeEnum,
      required: false,
      description: "The match probability's grade under the active model's thresholds.",
    }),
    source: t.string({ required: false, description: 'A source code: record-match items whose record came from it.' }),
    createdAfter: t.field({ type: 'DateTime', required: false, description: 'Raised after this instant (exclusive).' }),
    createdBefore: t.field({ type: 'DateTime', required: false, description: 'Raised before this instant (exclusive): older items.' }),
  }),
});

const ReviewQueueOrderEnum = builder.enumType('ReviewQueueOrder', {
  values: REVIEW_QUEUE_ORDERS,
  description:
    'PRIORITY: highest priority first (the default). OLDEST / NEWEST: by when the item was raised. PROBABILITY: most likely match first. Ties go by id.',
});

const ReviewItemConnection = namedConnection(ReviewItem, 'ReviewItem', { counted: true });

const isReviewKey = (key: unknown[]): key is [number, string] =>
  key.length === 2 && typeof key[0] === 'number' && Number.isFinite(key[0]) && typeof key[1] === 'string' && isUuid(key[1]);

builder.queryFields((t) => ({
  reviewQueue: t.connection(
    {
      type: ReviewItem,
      description: `The stewards' queue, highest priority first unless another order is asked for. Paged by keyset: a page starts after the last item seen, so items resolved while paging skip nothing. At most ${MAX_REVIEW_PAGE} per page.`,
      authScopes: { decideIdentities: true },
      args: {
        filter: t.arg({ type: ReviewQueueFilter, required: false }),
        orderBy: t.arg({ type: ReviewQueueOrderEnum, required: false, defaultValue: 'PRIORITY' }),
        status: t.arg({ type: ReviewStatusEnum, required: false, defaultValue: 'OPEN', deprecationReason: 'Use filter: { status }.' }),
      },
      resolve: (_r, args, ctx) => {
        // filter.status wins when a filter is given; on its own, the old status argument (default OPEN) applies.
        const { filter: given } = args;
        const filter = given
          ? {
              status: given.status ?? null,
              kind: given.kind ?? null,
              grade: given.grade ?? null,
              source: given.source ?? null,
              createdAfter: given.createdAfter ?? null,
              createdBefore: given.createdBefore ?? null,
            }
          : { status: args.status ?? null };
        const order = args.orderBy ?? 'PRIORITY';
        return keysetConnection<ReviewQueueItem, { value: number; id: string }>({
          // Each order has its own cursors: a cursor of one order means nothing in another.
          list: order === 'PRIORITY' ? 'reviewQueue' : `reviewQueue:${order}`,
          args,
          defaultSize: 20,
          maxSize: MAX_REVIEW_PAGE,
          keyOf: (r) => {
            const key = reviewItemKey(r, order);
            return [key.value, key.id];
          },
          parseKey: isReviewKey,
          toKey: ([value, id]) => ({ value: value as number, id: id as string }),
          load: (page) => ctx.services.identity.reviewQueuePage(filter, page, order),
          count: () => ctx.services.identity.countReviewItems(filter),
        });
      },
    },
    ReviewItemConnection,
  ),
  matchModels: t.field({
    type: [MatchModelInfo],
    authScopes: { readMatchModels: true },
    resolve: (_r, _a, ctx) => ctx.services.models.list(),
  }),
  matchModelEvents: t.field({
    type: [MatchModelEvent],
    description: `Model events, newest first: training, evaluation, activation and rejection (at most ${MAX_MODEL_EVENTS_PAGE} per page; \`before\` pages on by id).`,
    authScopes: { readMatchModels: true },
    args: {
      filter: t.arg({ type: MatchModelEventFilter, required: false }),
      version: t.arg.string({ required: false, deprecationReason: 'Use filter: { version }.' }),
      type: t.arg({ type: ModelEventTypeEnum, required: false, deprecationReason: 'Use filter: { type }.' }),
      before: t.arg.id({ required: false, description: 'Only events older than this id.' }),
      first: t.arg.int({ required: false, defaultValue: 50 }),
    },
    resolve: (_r, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > MAX_MODEL_EVENTS_PAGE)
        throw ValidationError.of('first', 'OUT_OF_RANGE', `must be between 1 and ${MAX_MODEL_EVENTS_PAGE}`);
      const before = args.before == null ? null : Number(args.before);
      if (before !== null && !(Number.isSafeInteger(before) && before > 0))
        throw ValidationError.of('before', 'INVALID_ID', 'is not a model event id');
      const { version, type } = args.filter ?? args;
      return ctx.services.models.events({ version, type, before, limit: first });
    },
  }),
  matchModel: t.field({
    type: 'JSON',
    description: 'A stored model by version, or the active one (the built-in default when none was trained).',
    authScopes: { readMatchModels: true },
    args: { version: t.arg.string({ required: false }) },
    resolve: async (_r, args, ctx) =>
      args.version ? ((await ctx.services.models.get(args.version))?.spec ?? null) : ctx.services.models.active(),
    nullable: true,
  }),
}));

builder.mutationFields((t) => ({
  trainModel: t.field({
    type: MatchModelInfo,
    description: 'Trains a new model version from the stored records (unsupervised EM). Existing links are kept.',
    authScopes: { manageMatchModels: true },
    args: { activate: t.arg.boolean({ required: false, defaultValue: true }) },
    resolve: (_r, args, ctx) => ctx.services.models.train(actor(ctx).actor, { activate: args.activate ?? true }),
  }),
  importMatchModel: t.field({
    type: MatchModelInfo,
    description: 'Stores a model document (e.g. from `mpi link --save-model`).',
    authScopes: { manageMatchModels: true },
    args: { spec: t.arg({ type: 'JSON', required: true }), activate: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_r, args, ctx) => ctx.services.models.import(args.spec, actor(ctx).actor, args.activate ?? false),
  }),
  activateMatchModel: t.field({
    type: MatchModelInfo,
    authScopes: { manageMatchModels: true },
    args: { version: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.models.activate(args.version, actor(ctx).actor),
  }),
}));

builder.queryFields((t) => ({
  reviewItem: t.field({
    type: ReviewItem,
    nullable: true,
    description: 'One review item by id, open or resolved (the console links to it).',
    authScopes: { decideIdentities: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.identity.reviewItem(String(args.id)),
  }),
}));

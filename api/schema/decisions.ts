import type { InputShapeFromFields, ShapeFromTypeParam } from '@pothos/core';
import { isUuid } from '../../identity/index.ts';
import { NotFoundError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
import { answeringErrors, DECISION_ERRORS } from './errors.ts';
import { actor, touchIdentity } from './identity.ts';
import { Identity, ReviewItem, SourceRecord } from './identity-types.ts';
import { ReviewDecisionEnum } from './review.ts';

/**
 * A steward's decisions. Each is a mutation that answers a failure as a GraphQL error (as it always has) and a
 * sibling `<name>Result` with the same arguments that answers the expected failures as typed error objects in a
 * union (`... on StaleVersionError { currentVersion }`), so a client can branch on them from the schema.
 */

/** An id argument that is not an id names nothing: the same NOT_FOUND as an id that names nothing. */
function idOf(value: string | number, entity: string, field: string): string {
  const id = String(value);
  if (!isUuid(id)) throw new NotFoundError(entity, field);
  return id;
}

/** The options of a result union: its name, its success type's name and the field that holds the result. */
function resultUnion(name: string, dataField: string) {
  return {
    types: DECISION_ERRORS,
    union: { name: `${name}Result`, description: `What ${name[0]!.toLowerCase()}${name.slice(1)} did, or why it did nothing.` },
    result: { name: `${name}Success` },
    dataField: { name: dataField },
  };
}

const resolveArgs = builder.args((t) => ({
  id: t.id({ required: true }),
  decision: t.field({ type: ReviewDecisionEnum, required: true }),
  reason: t.string({ required: true }),
}));

async function resolveReviewItem(args: InputShapeFromFields<typeof resolveArgs>, ctx: RequestContext) {
  const item = await ctx.services.steward.resolveReviewItem(idOf(args.id, 'Review item', 'id'), args.decision, actor(ctx, args.reason));
  ctx.audit.wrote = true;
  touchIdentity(ctx, item.identityA);
  ctx.audit.touch('identity', item.identityB);
  ctx.audit.touch('record', item.recordId);
  return item;
}

const mergeArgs = builder.args((t) => ({
  survivorId: t.id({ required: true }),
  mergedId: t.id({ required: true }),
  reason: t.string({ required: true }),
  survivorVersion: t.int({ required: false, description: 'Fails with STALE_VERSION if the survivor changed since read.' }),
  mergedVersion: t.int({ required: false }),
  overrideNotDuplicate: t.boolean({
    required: false,
    description:
      'Merge even though a steward marked the two identities as different people; without it such a merge fails with MARKED_NOT_DUPLICATE.',
  }),
}));

async function mergeIdentities(args: InputShapeFromFields<typeof mergeArgs>, ctx: RequestContext) {
  const survivorId = idOf(args.survivorId, 'Identity', 'survivorId');
  const mergedId = idOf(args.mergedId, 'Identity', 'mergedId');
  const survivor = await ctx.services.steward.merge(survivorId, mergedId, actor(ctx, args.reason), args);
  ctx.audit.wrote = true;
  ctx.audit.touch('identity', survivorId, mergedId);
  return survivor;
}

const unlinkArgs = builder.args((t) => ({
  recordId: t.id({ required: true }),
  toIdentityId: t.id({ required: false }),
  reason: t.string({ required: true }),
}));

async function unlinkRecord(args: InputShapeFromFields<typeof unlinkArgs>, ctx: RequestContext) {
  const recordId = idOf(args.recordId, 'Source record', 'recordId');
  const to = args.toIdentityId ? idOf(args.toIdentityId, 'Identity', 'toIdentityId') : null;
  const moved = await ctx.services.steward.unlink(recordId, to, actor(ctx, args.reason));
  ctx.audit.wrote = true;
  ctx.audit.touch('identity', moved.from, moved.to);
  ctx.audit.touch('record', recordId);
  return (await ctx.services.identity.sourceRecord(recordId))!;
}

const notDuplicateArgs = builder.args((t) => ({
  a: t.id({ required: true }),
  b: t.id({ required: true }),
  reason: t.string({ required: true }),
}));

async function markNotDuplicate(args: InputShapeFromFields<typeof notDuplicateArgs>, ctx: RequestContext) {
  const [a, b] = [idOf(args.a, 'Identity', 'a'), idOf(args.b, 'Identity', 'b')];
  await ctx.services.steward.markNotDuplicate(a, b, actor(ctx, args.reason));
  ctx.audit.wrote = true;
  ctx.audit.touch('identity', a, b);
  return [(await ctx.services.identity.getIdentity(a))!, (await ctx.services.identity.getIdentity(b))!];
}

const RESULT_OF = 'Answers expected failures as typed errors in the union (see the Error interface); same arguments as';

type DecisionArgs = Parameters<typeof builder.args>[0] extends (...a: never[]) => infer R ? R : never;
type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * Defines a decision twice: `name`, answering failures as GraphQL errors, and `<name>Result`, the same arguments
 * and work with the expected failures as typed errors in its union (`union` names it and its success field).
 */
function decision<Args extends DecisionArgs, Type extends typeof Identity | typeof ReviewItem | typeof SourceRecord | [typeof Identity]>(
  name: string,
  spec: {
    type: Type;
    description?: string;
    resultDescription: string;
    args: Args;
    union: [string, string];
    /** The work of both; what it returns is checked against `type`. */
    run: (args: InputShapeFromFields<Args>, ctx: RequestContext) => Promise<ShapeFromTypeParam<Types, Type, false>>;
  },
): void {
  const common = { type: spec.type, authScopes: { decideIdentities: true }, args: spec.args } as const;
  builder.mutationField(name, (t) =>
    t.field({
      ...common,
      ...(spec.description ? { description: spec.description } : {}),
      resolve: (_r: unknown, args: InputShapeFromFields<Args>, ctx: RequestContext) => spec.run(args, ctx),
    } as never),
  );
  builder.mutationField(`${name}Result`, (t) =>
    t.field({
      ...common,
      description: `${RESULT_OF} ${name}.${spec.resultDescription ? ` ${spec.resultDescription}` : ''}`,
      errors: resultUnion(...spec.union),
      resolve: (_r: unknown, args: InputShapeFromFields<Args>, ctx: RequestContext) => answeringErrors(ctx, () => spec.run(args, ctx)),
    } as never),
  );
}

decision('resolveReviewItem', {
  type: ReviewItem,
  resultDescription: '',
  args: resolveArgs,
  union: ['ResolveReviewItem', 'reviewItem'],
  run: resolveReviewItem,
});
decision('mergeIdentities', {
  type: Identity,
  description: 'Merges mergedId into survivorId. The merged ID redirects to the survivor from then on.',
  resultDescription: 'The success holds the survivor.',
  args: mergeArgs,
  union: ['MergeIdentities', 'identity'],
  run: mergeIdentities,
});
decision('unlinkRecord', {
  type: SourceRecord,
  description: 'Moves a record out of its identity, to toIdentityId or to a new identity; both golden records are rebuilt.',
  resultDescription: 'The success holds the moved record.',
  args: unlinkArgs,
  union: ['UnlinkRecord', 'record'],
  run: unlinkRecord,
});
decision('markNotDuplicate', {
  type: [Identity],
  description: 'Declares two identities different people; they are never linked or flagged again.',
  resultDescription: 'The success holds both identities.',
  args: notDuplicateArgs,
  union: ['MarkNotDuplicate', 'identities'],
  run: markNotDuplicate,
});

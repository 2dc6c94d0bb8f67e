import { DEAD_LETTER_CHANNELS, DEAD_LETTER_STATUSES, type DeadLetterRow } from '../../interop/index.ts';
import { discardDeadLetter, findDeadLetters, replayDeadLetter, type DeadLetterReplay } from '../dead-letters.ts';
import { builder } from '../builder.ts';
import type { RequestContext } from '../context.ts';
import { checkPageSize } from './paging.ts';

/** Dead letters hold whole messages (patient data): admins only, and every list or change is audited. */
const MAX_DEAD_LETTERS = 500;

const DeadLetterChannelEnum = builder.enumType('DeadLetterChannel', {
  values: DEAD_LETTER_CHANNELS.map((c) => c.toUpperCase()) as ['HL7', 'FHIR'],
});
const DeadLetterStatusEnum = builder.enumType('DeadLetterStatus', {
  description:
    'OPEN until a replay is accepted (REPLAYED) or an admin gives the message up (DISCARDED); REPLAYING while one replay runs it.',
  values: DEAD_LETTER_STATUSES,
});

const MessageDeadLetter = builder.objectRef<DeadLetterRow>('MessageDeadLetter').implement({
  description: 'An HL7 v2 or FHIR message the service could not process, kept as received for review and replay.',
  fields: (t) => ({
    id: t.exposeID('id'),
    channel: t.field({ type: DeadLetterChannelEnum, resolve: (d) => d.channel.toUpperCase() as 'HL7' | 'FHIR' }),
    status: t.field({ type: DeadLetterStatusEnum, resolve: (d) => d.status as (typeof DEAD_LETTER_STATUSES)[number] }),
    reason: t.exposeString('reason', {
      description: 'Why it failed (the last time it was tried): an error code and the place, no values.',
    }),
    payload: t.exposeString('payload', { description: 'The message as received. Patient data.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    claimedAt: t.expose('claimedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'While REPLAYING: when the running replay claimed it. Past MPI_DEAD_LETTER_REPLAY_TIMEOUT_MS the claim expires and the letter can be replayed or discarded again.',
    }),
  }),
});

const DeadLetterReplayRef = builder.objectRef<DeadLetterReplay>('DeadLetterReplay').implement({
  description: 'What a replay did: accepted (the dead letter is REPLAYED) or refused again (it stays OPEN with the new reason).',
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted'),
    ackCode: t.exposeString('ackCode', { description: 'The acknowledgement code the message got: AA/CA accepted, AE/AR/CE/CR not.' }),
    deadLetter: t.field({ type: MessageDeadLetter, resolve: (r) => r.deadLetter }),
  }),
});

function audited(ctx: RequestContext, ids: string[], wrote: boolean): void {
  ctx.audit.reachedPatientData = true;
  if (wrote) ctx.audit.wrote = true;
  ctx.audit.touch('dead_letter', ...ids);
}

const DeadLetterFilter = builder.inputType('DeadLetterFilter', {
  description: 'Which dead letters to list; every given criterion must hold.',
  fields: (t) => ({
    channel: t.field({ type: DeadLetterChannelEnum, required: false }),
    status: t.field({
      type: DeadLetterStatusEnum,
      required: false,
      defaultValue: 'OPEN',
      description: 'OPEN (the default); null for every status.',
    }),
  }),
});

builder.queryFields((t) => ({
  deadLetters: t.field({
    type: [MessageDeadLetter],
    description: `Messages that could not be processed, oldest first (at most ${MAX_DEAD_LETTERS}). Admins only; audited.`,
    authScopes: { manageDeadLetters: true },
    args: {
      filter: t.arg({ type: DeadLetterFilter, required: false }),
      channel: t.arg({ type: DeadLetterChannelEnum, required: false, deprecationReason: 'Use filter: { channel }.' }),
      status: t.arg({ type: DeadLetterStatusEnum, required: false, defaultValue: 'OPEN', deprecationReason: 'Use filter: { status }.' }),
      first: t.arg.int({ required: false, defaultValue: 100 }),
    },
    resolve: async (_r, args, ctx) => {
      checkPageSize({ first: args.first }, MAX_DEAD_LETTERS);
      // filter wins when given; on its own, the old arguments (status default OPEN) apply.
      const given = args.filter ?? { channel: args.channel, status: args.status };
      const channel = given.channel ? (given.channel.toLowerCase() as 'hl7' | 'fhir') : null;
      const rows = await findDeadLetters(ctx.services, { channel, status: given.status ?? null, limit: args.first ?? 100 });
      audited(
        ctx,
        rows.map((r) => r.id),
        false,
      );
      return rows;
    },
  }),
}));

builder.mutationFields((t) => ({
  replayDeadLetter: t.field({
    type: DeadLetterReplayRef,
    description:
      'Runs an open HL7 dead letter through the HL7 service again, as the calling admin; `payload` replays a corrected message instead. Audited.',
    authScopes: { manageDeadLetters: true },
    args: { id: t.arg.id({ required: true }), payload: t.arg.string({ required: false }) },
    resolve: async (_r, { id, payload }, ctx) => {
      audited(ctx, [String(id)], true);
      return replayDeadLetter(ctx.services, String(id), ctx.principal!, payload ?? undefined);
    },
  }),
  discardDeadLetter: t.field({
    type: MessageDeadLetter,
    description: 'Gives up an open dead letter: it is kept, marked DISCARDED. Audited.',
    authScopes: { manageDeadLetters: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      audited(ctx, [String(id)], true);
      return discardDeadLetter(ctx.services, String(id));
    },
  }),
}));

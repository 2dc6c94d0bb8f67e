import { DEMOGRAPHICS_ROLES, type DeadLetterRow, type EndpointStatus, type WebhookEndpointRow } from '../../events/index.ts';
import { ValidationError } from '../../platform/errors.ts';
import { builder } from '../builder.ts';
import { actorOf, type RequestContext } from '../context.ts';
import { ChangeEventTypeEnum } from './events.ts';

/** Endpoints and subscriptions are managed by admins; every change is audited (they decide where events go). */

const DemographicsRoleEnum = builder.enumType('DemographicsRole', {
  description: 'The role whose masking applies to demographics sent to an endpoint.',
  values: [...DEMOGRAPHICS_ROLES.map((r) => r.toUpperCase())] as const,
});

const WebhookStatus = builder.objectRef<EndpointStatus>('WebhookDeliveryStatus').implement({
  description: 'How far an endpoint is behind and why.',
  fields: (t) => ({
    position: t.string({ description: 'Last event position delivered or dead-lettered.', resolve: (s) => String(s.position) }),
    lagEvents: t.exposeInt('lagEvents', { description: 'Matching events published and not yet delivered.' }),
    lagSeconds: t.exposeFloat('lagSeconds', { description: 'Age of the oldest undelivered event.' }),
    headAttempts: t.exposeInt('headAttempts', { description: 'Failed tries of the next event so far.' }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.nextAttemptAt }),
    delivered: t.int({ resolve: (s) => s.delivered }),
    lastDeliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastDeliveredAt }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true, description: 'HTTP status of the last try.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
    deadLetters: t.exposeInt('deadLetters'),
  }),
});

const DeadLetter = builder.objectRef<DeadLetterRow>('WebhookDeadLetter').implement({
  fields: (t) => ({
    id: t.id({ resolve: (d) => String(d.id) }),
    eventId: t.exposeID('eventId'),
    position: t.string({ resolve: (d) => String(d.position) }),
    attempts: t.exposeInt('attempts'),
    lastStatus: t.exposeInt('lastStatus', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    status: t.exposeString('status', { description: 'DEAD, PENDING (queued for redelivery) or REDELIVERED.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WebhookEndpoint = builder.objectRef<WebhookEndpointRow>('WebhookEndpoint').implement({
  description: 'A registered receiver of change events (its secret is shown only when it is created).',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.exposeString('kind', { description: 'STANDARD (Standard Webhooks JSON) or FHIR_REST_HOOK (a FHIR Subscription).' }),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Types delivered; empty: all.' }),
    demographicsRole: t.string({ nullable: true, resolve: (e) => e.demographicsRole?.toUpperCase() ?? null }),
    active: t.boolean({ resolve: (e) => e.status === 'ACTIVE' }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    delivery: t.field({ type: WebhookStatus, resolve: (e, _a, ctx) => ctx.services.events.webhooks.status(e) }),
    deadLetters: t.field({ type: [DeadLetter], resolve: (e, _a, ctx) => ctx.services.events.webhooks.deadLetters(e.id) }),
  }),
});

const CreatedWebhook = builder.objectRef<{ endpoint: WebhookEndpointRow; secret: string }>('CreatedWebhookEndpoint').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpoint, resolve: (c) => c.endpoint }),
    secret: t.exposeString('secret', { description: 'The `whsec_` signing secret: store it now, it is never shown again.' }),
  }),
});

const CreateWebhookInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    eventTypes: t.field({ type: [ChangeEventTypeEnum], required: false, description: 'Types to deliver; empty or absent: all.' }),
    description: t.string({ required: false }),
    demographicsRole: t.field({
      type: DemographicsRoleEnum,
      required: false,
      description: 'Send golden demographics, masked as this role sees them.',
    }),
    fromPosition: t.string({ required: false, description: 'Deliver events after this position; default: only new events.' }),
  }),
});

function audited(ctx: RequestContext, id: string): void {
  ctx.audit.wrote = true;
  ctx.audit.touch('webhook', id);
}

function position(value: string | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{1,15}$/.test(value)) throw ValidationError.of(field, 'INVALID_POSITION', 'must be a decimal position, 0 or more');
  return Number(value);
}

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: [WebhookEndpoint],
    authScopes: { manageSubscriptions: true },
    resolve: async (_r, _a, ctx) => (await ctx.services.events.webhooks.list()).filter((e) => e.status !== 'DELETED'),
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreatedWebhook,
    authScopes: { manageSubscriptions: true },
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const created = await ctx.services.events.webhooks.register(
        {
          url: input.url,
          eventTypes: input.eventTypes ?? [],
          description: input.description ?? null,
          demographicsRole: input.demographicsRole?.toLowerCase() ?? null,
          fromPosition: position(input.fromPosition, 'input.fromPosition'),
        },
        actorOf(ctx),
      );
      audited(ctx, created.endpoint.id);
      return created;
    },
  }),
  deleteWebhookEndpoint: t.field({
    type: WebhookEndpoint,
    authScopes: { manageSubscriptions: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      audited(ctx, String(id));
      return ctx.services.events.webhooks.remove(String(id));
    },
  }),
  setWebhookEndpointActive: t.field({
    type: WebhookEndpoint,
    authScopes: { manageSubscriptions: true },
    args: { id: t.arg.id({ required: true }), active: t.arg.boolean({ required: true }) },
    resolve: async (_r, { id, active }, ctx) => {
      audited(ctx, String(id));
      return ctx.services.events.webhooks.setActive(String(id), active);
    },
  }),
  redeliverWebhookEvents: t.int({
    description: "Queues dead letters (all of the endpoint's, or those given) for another delivery; returns how many.",
    authScopes: { manageSubscriptions: true },
    args: { id: t.arg.id({ required: true }), deadLetterIds: t.arg.idList({ required: false }) },
    resolve: async (_r, { id, deadLetterIds }, ctx) => {
      audited(ctx, String(id));
      return ctx.services.events.webhooks.redeliver(String(id), deadLetterIds ? deadLetterIds.map(Number) : null);
    },
  }),
  replayWebhookEndpoint: t.field({
    type: WebhookEndpoint,
    description: 'Delivers again every event after `fromPosition`.',
    authScopes: { manageSubscriptions: true },
    args: { id: t.arg.id({ required: true }), fromPosition: t.arg.string({ required: true }) },
    resolve: async (_r, { id, fromPosition }, ctx) => {
      audited(ctx, String(id));
      return ctx.services.events.webhooks.replay(String(id), position(fromPosition, 'fromPosition')!);
    },
  }),
}));

export { changeRows, recordChanges } from './store.ts';
export {
  CHANGE_EVENT_TYPE_NAMES,
  CHANGE_EVENT_TYPES,
  EVENT_FAMILIES,
  orderingKey,
  subjectOf,
  type ChangeEvent,
  type ChangeEventType,
  type EventFamily,
  type EventFilter,
  type EventVersions,
  type NewChange,
} from './types.ts';
export { EventDispatcher, type DispatcherOptions, type LeaderChannel } from './dispatcher.ts';
export { headPosition, readEvents, type DeadLetterRow, type WebhookEndpointRow } from './store.ts';
export { createEventsService, standardRenderer, type DemographicsProvider, type EventsService } from './service.ts';
export {
  WebhookService,
  DEMOGRAPHICS_ROLES,
  ENDPOINT_KINDS,
  type EndpointInput,
  type EndpointKind,
  type EndpointStatus,
} from './webhooks.ts';
export { backoffDelay, newWebhookSecret, signatureHeaders, type Renderer, type RenderedBody } from './webhook-delivery.ts';
export { ensureStream, eventJson, streamOf, POSITION_HEADER, NatsPublisher } from './nats.ts';
export { checkUrlShape, checkUrlTarget, resolveTarget, type Resolver, type UrlPolicy } from './url-policy.ts';

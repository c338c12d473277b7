/** Public door of the notify module: fans incident events out to console and webhooks. */
export { notifyConfigSchema, webhookConfigSchema } from './config.ts';
export type { NotifyConfig, NotifyConfigInput, WebhookConfig, WebhookConfigInput } from './config.ts';
export { Notifier, backoffDelay } from './notifier.ts';
export type { NotifierOptions, RetryPolicy, SinkStats } from './notifier.ts';
export { PermanentDeliveryError } from './sink.ts';
export type { Sink } from './sink.ts';
export { createConsoleSink, formatIncidentLine } from './console-sink.ts';
export type { ConsoleSinkOptions } from './console-sink.ts';
export { createWebhookSink } from './webhook-sink.ts';
export type { WebhookPayload, WebhookSinkOptions } from './webhook-sink.ts';
export { createSinks } from './sinks.ts';
export type { CreateSinksOptions } from './sinks.ts';

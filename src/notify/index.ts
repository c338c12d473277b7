/** Public door of the notify module: fans incident events out to console, webhooks, Slack, PagerDuty and email. */
export { emailConfigSchema, notifyConfigSchema, pagerdutyConfigSchema, slackConfigSchema, webhookConfigSchema } from './config.ts';
export type {
  EmailConfig,
  EmailConfigInput,
  NotifyConfig,
  NotifyConfigInput,
  PagerDutyConfig,
  PagerDutyConfigInput,
  SlackConfig,
  SlackConfigInput,
  WebhookConfig,
  WebhookConfigInput,
} from './config.ts';
export { Notifier, backoffDelay } from './notifier.ts';
export type { NotifierOptions, RetryPolicy, SinkStats } from './notifier.ts';
export { outboxKey } from './outbox.ts';
export type { OutboxStore } from './outbox.ts';
export { PermanentDeliveryError } from './sink.ts';
export type { Sink } from './sink.ts';
export { SEVERITY_RANK, matchesRoute, routeFilter } from './route.ts';
export type { Route } from './route.ts';
export type { HttpSinkOptions } from './http.ts';
export { createConsoleSink, formatIncidentLine } from './console-sink.ts';
export type { ConsoleSinkOptions } from './console-sink.ts';
export { SIGNATURE_HEADER, SIGNATURE_TIMESTAMP_HEADER, createWebhookSink, signWebhookBody } from './webhook-sink.ts';
export type { WebhookPayload, WebhookSinkOptions } from './webhook-sink.ts';
export { createSlackSink, slackHeadline, slackMessage } from './slack-sink.ts';
export type { SlackBlock, SlackMessage, SlackSinkOptions, SlackText } from './slack-sink.ts';
export { PAGERDUTY_SEVERITY, createPagerDutySink, pagerdutyEvent } from './pagerduty-sink.ts';
export type { PagerDutyEvent, PagerDutySeverity, PagerDutySinkOptions } from './pagerduty-sink.ts';
export { createSinks } from './sinks.ts';
export { createEmailSink, emailMessage, emailSubject } from './email-sink.ts';
export type { EmailMessage, EmailSinkOptions } from './email-sink.ts';
export type { Acknowledgement, IncidentAckEvent, NotifyEvent, NotifyEventKind } from './events.ts';
export { clipUrlOf } from './format.ts';
export {
  Silences,
  silenceConfigSchema,
  silenceFromInput,
  silenceInputSchema,
  silenceMatches,
  silenceState,
} from './silences.ts';
export type { Silence, SilenceInput, SilenceState, SilenceStore } from './silences.ts';
export type { CreateSinksOptions } from './sinks.ts';

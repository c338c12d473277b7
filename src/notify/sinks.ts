import type { Logger } from '../shared/index.ts';
import type { NotifyConfig } from './config.ts';
import { createConsoleSink } from './console-sink.ts';
import { createEmailSink } from './email-sink.ts';
import { createPagerDutySink } from './pagerduty-sink.ts';
import type { Sink } from './sink.ts';
import { createSlackSink } from './slack-sink.ts';
import { createWebhookSink } from './webhook-sink.ts';

export interface CreateSinksOptions {
  logger: Logger;
  /** Stream for the console sink (default process.stdout). */
  consoleStream?: NodeJS.WritableStream;
  /** Where `secretEnv`, `urlEnv` and `routingKeyEnv` are looked up (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** fetch for the HTTP sinks (default global fetch). */
  fetch?: typeof fetch;
  /** Evidence for the email sink: the onset JPEG of an incident, if taken. */
  thumbnail?: (incidentId: string) => Uint8Array | undefined;
  /** config server.publicUrl: mails link to the incident there. */
  publicUrl?: string;
}

/**
 * Builds the sinks a (parsed) notify config asks for. Throws a VigilError (CONFIG_INVALID)
 * naming the sink and the variable when a secret's environment variable is unset, so a
 * misconfigured monitor fails at startup rather than at its first incident.
 */
export function createSinks(config: NotifyConfig, opts: CreateSinksOptions): Sink[] {
  const http = {
    logger: opts.logger,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };
  const sinks: Sink[] = [];
  if (config.console !== false) sinks.push(createConsoleSink({ stream: opts.consoleStream }));
  for (const webhook of config.webhooks ?? []) sinks.push(createWebhookSink(webhook, http));
  for (const slack of config.slack ?? []) sinks.push(createSlackSink(slack, http));
  for (const pd of config.pagerduty ?? []) sinks.push(createPagerDutySink(pd, http));
  for (const mail of config.email ?? []) {
    sinks.push(
      createEmailSink(mail, {
        logger: opts.logger,
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.thumbnail ? { thumbnail: opts.thumbnail } : {}),
        ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
      }),
    );
  }
  return sinks;
}

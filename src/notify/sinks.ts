import type { Logger } from '../shared/index.ts';
import type { NotifyConfig } from './config.ts';
import { createConsoleSink } from './console-sink.ts';
import type { Sink } from './sink.ts';
import { createWebhookSink } from './webhook-sink.ts';

export interface CreateSinksOptions {
  logger: Logger;
  /** Stream for the console sink (default process.stdout). */
  consoleStream?: NodeJS.WritableStream;
}

/** Builds the sinks a (parsed) notify config asks for. */
export function createSinks(config: NotifyConfig, opts: CreateSinksOptions): Sink[] {
  const sinks: Sink[] = [];
  if (config.console !== false) sinks.push(createConsoleSink({ stream: opts.consoleStream }));
  for (const webhook of config.webhooks ?? []) sinks.push(createWebhookSink(webhook, { logger: opts.logger }));
  return sinks;
}

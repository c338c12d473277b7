import { z } from 'zod';
import { INCIDENT_TYPES } from '../shared/index.ts';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
export const DEFAULT_WEBHOOK_MAX_ATTEMPTS = 12;

export const webhookConfigSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .describe('Endpoint that receives a JSON POST for every incident event.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Name used in logs and stats for this sink (default: "webhook:<host>").'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra HTTP headers sent with every request, e.g. an Authorization header.'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .default(DEFAULT_WEBHOOK_TIMEOUT_MS)
      .describe('Per-request timeout in milliseconds; a request that takes longer counts as a failed attempt.'),
    maxAttempts: z
      .number()
      .int()
      .positive()
      .default(DEFAULT_WEBHOOK_MAX_ATTEMPTS)
      .describe(
        'Delivery attempts per event (exponential backoff with full jitter between them, 0.5 s base, 30 s cap) before the event is dropped.',
      ),
    types: z
      .array(z.enum(INCIDENT_TYPES))
      .optional()
      .describe('Only send incidents of these types (default: all types).'),
  })
  .describe('A webhook that receives incident.opened / incident.closed events.');

export const notifyConfigSchema = z
  .strictObject({
    console: z.boolean().default(true).describe('Print one human-readable line per incident event on stdout.'),
    webhooks: z.array(webhookConfigSchema).optional().describe('Webhooks that receive incident events as JSON.'),
  })
  .describe('Where incident notifications go.');

/** Parsed notify config (defaults applied). */
export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
/** Notify config as written by a user (defaults not yet applied). */
export type NotifyConfigInput = z.input<typeof notifyConfigSchema>;
/** Parsed webhook config (defaults applied). */
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
/** Webhook config as written by a user. */
export type WebhookConfigInput = z.input<typeof webhookConfigSchema>;

import { z } from 'zod';
import { INCIDENT_TYPES } from '../shared/index.ts';
import { silenceConfigSchema } from './silences.ts';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
export const DEFAULT_WEBHOOK_MAX_ATTEMPTS = 12;
export const DEFAULT_PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';
export const SEVERITIES = ['minor', 'major', 'critical'] as const;

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const envName = () =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name, e.g. VIGIL_WEBHOOK_SECRET' });

/** Routing filters shared by every remote sink kind (console is never filtered). */
const routeShape = {
  types: z
    .array(z.enum(INCIDENT_TYPES))
    .optional()
    .describe('Only send incidents of these types (default: all types).'),
  tags: z
    .array(z.string().min(1))
    .optional()
    .describe("Only send incidents whose stream carries at least one of these tags (default: any stream's incidents)."),
  minSeverity: z
    .enum(SEVERITIES)
    .optional()
    .describe('Only send incidents at least this severe: minor < major < critical (default: all severities).'),
};

const deliveryShape = {
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
};

export const webhookConfigSchema = z
  .strictObject({
    url: httpUrl().describe('Endpoint that receives a JSON POST for every incident event.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Name used in logs and stats for this sink (default: "webhook:<host>").'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra HTTP headers sent with every request, e.g. an Authorization header.'),
    secretEnv: envName()
      .optional()
      .describe(
        'Environment variable holding an HMAC secret. When set, each request carries x-vigil-timestamp (unix seconds) and x-vigil-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">. Vigil refuses to start if the variable is unset.',
      ),
    ...deliveryShape,
    ...routeShape,
  })
  .describe('A webhook that receives incident.opened / incident.closed events.');

export const slackConfigSchema = z
  .strictObject({
    urlEnv: envName()
      .optional()
      .describe(
        'Environment variable holding the Slack incoming-webhook URL (preferred: the URL is a secret). Exactly one of urlEnv and url.',
      ),
    url: httpUrl().optional().describe('The Slack incoming-webhook URL itself. Exactly one of urlEnv and url.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Name used in logs and stats for this sink (default: "slack:<urlEnv>" or "slack:<host>").'),
    ...deliveryShape,
    ...routeShape,
  })
  .superRefine((v, ctx) => {
    if ((v.url === undefined) === (v.urlEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['urlEnv'], message: 'set exactly one of urlEnv and url' });
    }
  })
  .describe('A Slack incoming webhook that gets a Block Kit message per incident event.');

export const pagerdutyConfigSchema = z
  .strictObject({
    routingKeyEnv: envName().describe(
      'Environment variable holding the PagerDuty Events API v2 integration (routing) key. Vigil refuses to start if it is unset.',
    ),
    url: httpUrl().default(DEFAULT_PAGERDUTY_URL).describe('Events API v2 endpoint.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Name used in logs and stats for this sink (default: "pagerduty:<routingKeyEnv>").'),
    ...deliveryShape,
    ...routeShape,
  })
  .describe(
    'A PagerDuty service: incident.opened triggers an alert, incident.closed resolves it (dedup_key = incident id).',
  );

export const EMAIL_TLS_MODES = ['starttls', 'implicit', 'opportunistic', 'none'] as const;

export const emailConfigSchema = z
  .strictObject({
    host: z.string().min(1).describe('SMTP server host name or address.'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('SMTP port (default: 465 with tls: implicit, else 587).'),
    tls: z
      .enum(EMAIL_TLS_MODES)
      .default('starttls')
      .describe(
        'Transport security: "starttls" upgrades with STARTTLS and fails if the server does not offer it; "implicit" speaks TLS from the first byte (SMTPS, port 465); "opportunistic" upgrades when offered; "none" never upgrades (only for a relay on a trusted network).',
      ),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Verify the server certificate. Turn off only for a relay with a self-signed certificate you trust.'),
    user: z.string().min(1).optional().describe('SMTP user name (AUTH); requires passwordEnv.'),
    passwordEnv: envName()
      .optional()
      .describe('Environment variable holding the SMTP password. Vigil refuses to start if it is unset.'),
    from: z.string().min(3).describe('Sender, e.g. "Vigil <vigil@example.com>".'),
    to: z.array(z.string().min(3)).min(1).describe('Recipients.'),
    subjectPrefix: z.string().default('[Vigil]').describe('Text in front of every subject.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Name used in logs and stats for this sink (default: "email:<host>").'),
    ...deliveryShape,
    ...routeShape,
  })
  .superRefine((v, ctx) => {
    if ((v.user === undefined) !== (v.passwordEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'set both user and passwordEnv, or neither' });
    }
  })
  .describe(
    'An SMTP relay (nodemailer) that mails one message per incident open and close, with the onset thumbnail inline. Acknowledgements are not mailed.',
  );

export const notifyConfigSchema = z
  .strictObject({
    console: z.boolean().default(true).describe('Print one human-readable line per incident event on stdout.'),
    webhooks: z.array(webhookConfigSchema).optional().describe('Webhooks that receive incident events as JSON.'),
    slack: z
      .array(slackConfigSchema)
      .optional()
      .describe(
        'Slack incoming webhooks: { urlEnv | url, name?, types?, tags?, minSeverity?, timeoutMs?, maxAttempts? } each.',
      ),
    pagerduty: z
      .array(pagerdutyConfigSchema)
      .optional()
      .describe(
        'PagerDuty Events API v2 services: { routingKeyEnv, url?, name?, types?, tags?, minSeverity?, timeoutMs?, maxAttempts? } each.',
      ),
    silences: z
      .array(silenceConfigSchema)
      .optional()
      .describe(
        'Silences and maintenance windows from the config file (read-only in the API): { stream?, tag?, type?, startsAt?, endsAt | duration, comment? } each; duration counts from startsAt or from the start of Vigil. Matching incidents are recorded and shown, marked silenced, but not notified while the rule is in force.',
      ),
    email: z
      .array(emailConfigSchema)
      .optional()
      .describe(
        'SMTP relays: { host, port?, tls?, rejectUnauthorized?, user?, passwordEnv?, from, to, subjectPrefix?, name?, types?, tags?, minSeverity?, timeoutMs?, maxAttempts? } each.',
      ),
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
/** Parsed Slack sink config (defaults applied). */
export type SlackConfig = z.infer<typeof slackConfigSchema>;
/** Slack sink config as written by a user. */
export type SlackConfigInput = z.input<typeof slackConfigSchema>;
/** Parsed PagerDuty sink config (defaults applied). */
export type PagerDutyConfig = z.infer<typeof pagerdutyConfigSchema>;
/** PagerDuty sink config as written by a user. */
export type PagerDutyConfigInput = z.input<typeof pagerdutyConfigSchema>;
/** Parsed email sink config (defaults applied). */
export type EmailConfig = z.infer<typeof emailConfigSchema>;
/** Email sink config as written by a user. */
export type EmailConfigInput = z.input<typeof emailConfigSchema>;

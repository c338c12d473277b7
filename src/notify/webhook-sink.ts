import { createHmac } from 'node:crypto';
import type { Acknowledgement, NotifyEvent } from './events.ts';
import { webhookConfigSchema, type WebhookConfigInput } from './config.ts';
import { parseSinkConfig, postJson, requireEnv, type HttpSinkOptions } from './http.ts';
import { routeFilter } from './route.ts';
import type { Sink } from './sink.ts';

/** The JSON body POSTed to a webhook. */
export interface WebhookPayload {
  event: NotifyEvent['kind'];
  incident: NotifyEvent['incident'];
  /** Only on `incident.acknowledged`. */
  ack?: Acknowledgement;
  /** When this attempt was sent (ISO 8601). */
  sentAt: string;
}

export type WebhookSinkOptions = HttpSinkOptions;

/** HTTP statuses in the 4xx range that are worth retrying. */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 429]);

/** Header with the unix time (seconds) at which a signed request was sent. */
export const SIGNATURE_TIMESTAMP_HEADER = 'x-vigil-timestamp';
/** Header with `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-vigil-signature';

/**
 * The `x-vigil-signature` value for a body sent at `timestamp` (unix seconds):
 * `sha256=` + hex HMAC-SHA256, keyed with the secret, of `"<timestamp>.<raw body>"`.
 *
 * Receivers verify it like this (Node), over the raw request body, before parsing JSON:
 *
 * ```ts
 * import { createHmac, timingSafeEqual } from 'node:crypto';
 *
 * function verifyVigil(rawBody: string, headers: Record<string, string | undefined>, secret: string): boolean {
 *   const ts = headers['x-vigil-timestamp'] ?? '';
 *   const sig = headers['x-vigil-signature'] ?? '';
 *   // Reject replays: the timestamp is signed too, so it cannot be refreshed by an attacker.
 *   if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
 *   const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${rawBody}`).digest('hex')}`);
 *   const got = Buffer.from(sig);
 *   return got.length === want.length && timingSafeEqual(got, want);
 * }
 * ```
 *
 * Each retry is signed afresh (new timestamp, new `sentAt`); deduplicate on `idempotency-key`.
 */
export function signWebhookBody(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/**
 * POSTs `{ event, incident, sentAt }` as JSON with an `idempotency-key` of `<incident id>:<kind>`,
 * signed (see {@link signWebhookBody}) when `secretEnv` is set. Non-2xx and network errors
 * throw (retried by the Notifier); 4xx other than 408/429 throws PermanentDeliveryError
 * (dropped, not retried). Throws a VigilError at creation for an invalid config or an unset
 * `secretEnv` variable.
 */
export function createWebhookSink(config: WebhookConfigInput, opts: WebhookSinkOptions = {}): Sink {
  const cfg = parseSinkConfig(webhookConfigSchema, config, 'webhook');
  const doFetch = opts.fetch ?? globalThis.fetch;
  // Never put the full URL in names or logs: it may carry a token.
  const name = cfg.name ?? `webhook:${new URL(cfg.url).host}`;
  const secret = cfg.secretEnv ? requireEnv(opts.env ?? process.env, cfg.secretEnv, 'secretEnv', name) : undefined;

  return {
    name,
    maxAttempts: cfg.maxAttempts,
    accepts: routeFilter(cfg),
    deliver(event: NotifyEvent, attempt: number, signal?: AbortSignal): Promise<void> {
      const payload: WebhookPayload = {
        event: event.kind,
        incident: event.incident,
        ...(event.kind === 'incident.acknowledged' ? { ack: event.ack } : {}),
        sentAt: new Date().toISOString(),
      };
      const body = JSON.stringify(payload);
      // Headers.set is case-insensitive: configured headers cannot shadow ours.
      const headers = new Headers(cfg.headers);
      headers.set('idempotency-key', `${event.incident.id}:${event.kind}`);
      if (secret !== undefined) {
        const ts = Math.floor(Date.now() / 1000);
        headers.set(SIGNATURE_TIMESTAMP_HEADER, String(ts));
        headers.set(SIGNATURE_HEADER, signWebhookBody(secret, ts, body));
      }
      return postJson({
        name,
        url: cfg.url,
        body,
        headers,
        timeoutMs: cfg.timeoutMs,
        attempt,
        signal,
        fetch: doFetch,
        retryable4xx: RETRYABLE_4XX,
        logger: opts.logger,
        incidentId: event.incident.id,
      });
    },
  };
}

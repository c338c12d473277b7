import { ErrorCodes, VigilError, errorMessage, type IncidentEvent, type Logger } from '../shared/index.ts';
import { webhookConfigSchema, type WebhookConfigInput } from './config.ts';
import { PermanentDeliveryError, type Sink } from './sink.ts';

/** The JSON body POSTed to a webhook. */
export interface WebhookPayload {
  event: IncidentEvent['kind'];
  incident: IncidentEvent['incident'];
  /** When this attempt was sent (ISO 8601). */
  sentAt: string;
}

export interface WebhookSinkOptions {
  logger?: Logger;
  /** fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
}

/** HTTP statuses in the 4xx range that are worth retrying. */
const RETRYABLE_4XX = new Set([408, 429]);

/**
 * POSTs `{ event, incident, sentAt }` as JSON. Non-2xx and network errors throw (retried by
 * the Notifier); 4xx other than 408/429 throws PermanentDeliveryError (dropped, not retried).
 */
export function createWebhookSink(config: WebhookConfigInput, opts: WebhookSinkOptions = {}): Sink {
  const parsed = webhookConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new VigilError(
      ErrorCodes.CONFIG_INVALID,
      'invalid webhook config',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const cfg = parsed.data;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const types = cfg.types ? new Set<string>(cfg.types) : undefined;
  // Never put the full URL in names or logs: it may carry a token.
  const name = cfg.name ?? `webhook:${new URL(cfg.url).host}`;

  return {
    name,
    maxAttempts: cfg.maxAttempts,
    accepts: types ? (event) => types.has(event.incident.type) : undefined,
    async deliver(event: IncidentEvent, attempt: number, signal?: AbortSignal): Promise<void> {
      const payload: WebhookPayload = { event: event.kind, incident: event.incident, sentAt: new Date().toISOString() };
      const timeout = AbortSignal.timeout(cfg.timeoutMs);
      let res: Response;
      try {
        res = await doFetch(cfg.url, {
          method: 'POST',
          headers: {
            'user-agent': 'vigil-notify',
            ...cfg.headers,
            'content-type': 'application/json',
            'idempotency-key': `${event.incident.id}:${event.kind}`,
          },
          body: JSON.stringify(payload),
          signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        });
      } catch (err) {
        // fetch's own message is just "fetch failed": surface the cause (ECONNREFUSED, timeout, ...).
        const cause = err instanceof Error && err.cause !== undefined ? `: ${errorMessage(err.cause)}` : '';
        throw new Error(`${name}: ${errorMessage(err)}${cause} (attempt ${attempt})`, { cause: err });
      }
      // Free the connection: we do not read the response body.
      await res.body?.cancel().catch(() => {});
      if (res.ok) {
        opts.logger?.debug(
          { sink: name, status: res.status, incidentId: event.incident.id, attempt },
          'webhook delivered',
        );
        return;
      }
      const msg = `${name}: HTTP ${res.status} ${res.statusText} (attempt ${attempt})`;
      if (res.status >= 400 && res.status < 500 && !RETRYABLE_4XX.has(res.status)) {
        throw new PermanentDeliveryError(msg);
      }
      throw new Error(msg);
    },
  };
}

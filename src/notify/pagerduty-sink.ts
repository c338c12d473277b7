import type { Severity } from '../shared/index.ts';
import type { NotifyEvent } from './events.ts';
import { pagerdutyConfigSchema, type PagerDutyConfigInput } from './config.ts';
import { clipUrlOf, incidentTypeLabel, streamLabel, thumbnailUrlOf, truncate } from './format.ts';
import { parseSinkConfig, postJson, requireEnv, type HttpSinkOptions } from './http.ts';
import { routeFilter } from './route.ts';
import type { Sink } from './sink.ts';

export type PagerDutySinkOptions = HttpSinkOptions;

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** Vigil severity → PagerDuty severity. */
export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, PagerDutySeverity>> = {
  critical: 'critical',
  major: 'error',
  minor: 'warning',
};

/** An Events API v2 request body. */
export type PagerDutyEvent =
  | {
      routing_key: string;
      event_action: 'trigger';
      dedup_key: string;
      client: string;
      payload: {
        summary: string;
        source: string;
        severity: PagerDutySeverity;
        timestamp: string;
        component: string;
        group: string;
        custom_details: Record<string, unknown>;
      };
      links?: { href: string; text: string }[];
      images?: { src: string; alt: string }[];
    }
  | { routing_key: string; event_action: 'resolve' | 'acknowledge'; dedup_key: string };

/** PagerDuty retries only 429 among 4xx; other 4xx (400 invalid event, ...) are permanent. */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([429]);

/**
 * The Events API v2 body for an incident event: incident.opened triggers an alert,
 * incident.acknowledged acknowledges it and incident.closed resolves it, all with
 * `dedup_key` = the incident id.
 */
export function pagerdutyEvent(event: NotifyEvent, routingKey: string): PagerDutyEvent {
  const inc = event.incident;
  if (event.kind === 'incident.closed') {
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: inc.id };
  }
  if (event.kind === 'incident.acknowledged') {
    return { routing_key: routingKey, event_action: 'acknowledge', dedup_key: inc.id };
  }
  const out: PagerDutyEvent = {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: inc.id,
    client: 'Vigil',
    payload: {
      // PagerDuty caps the summary at 1024 characters.
      summary: truncate(`${incidentTypeLabel(inc)} on ${streamLabel(inc)} (${inc.severity})`, 1024),
      source: inc.streamId,
      severity: PAGERDUTY_SEVERITY[inc.severity],
      timestamp: inc.openedAt,
      component: inc.type,
      group: streamLabel(inc),
      custom_details: {
        ...inc.measurements,
        start: inc.start,
        streamName: inc.streamName,
        tags: [...inc.tags],
        ...(inc.channel ? { channel: inc.channel } : {}),
        ...(inc.occurrences > 1 ? { occurrences: inc.occurrences } : {}),
      },
    },
  };
  const thumb = thumbnailUrlOf(inc);
  const clip = clipUrlOf(inc);
  if (thumb) {
    out.links = [{ href: thumb, text: 'Thumbnail at onset' }];
    out.images = [{ src: thumb, alt: `${streamLabel(inc)} at ${inc.start.toFixed(2)} s` }];
  }
  if (clip) (out.links ??= []).push({ href: clip, text: 'Evidence clip (MPEG-TS, around the onset)' });
  return out;
}

/**
 * Sends incident events to the PagerDuty Events API v2 (answers 202). 429, 5xx and network
 * errors are retried; other 4xx drop the event. Throws a VigilError at creation for an
 * invalid config or an unset `routingKeyEnv` variable.
 */
export function createPagerDutySink(config: PagerDutyConfigInput, opts: PagerDutySinkOptions = {}): Sink {
  const cfg = parseSinkConfig(pagerdutyConfigSchema, config, 'pagerduty');
  const doFetch = opts.fetch ?? globalThis.fetch;
  const name = cfg.name ?? `pagerduty:${cfg.routingKeyEnv}`;
  const routingKey = requireEnv(opts.env ?? process.env, cfg.routingKeyEnv, 'routingKeyEnv', name);

  return {
    name,
    maxAttempts: cfg.maxAttempts,
    accepts: routeFilter(cfg),
    deliver(event: NotifyEvent, attempt: number, signal?: AbortSignal): Promise<void> {
      return postJson({
        name,
        url: cfg.url,
        body: JSON.stringify(pagerdutyEvent(event, routingKey)),
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

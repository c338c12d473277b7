import { ErrorCodes, VigilError, type Incident } from '../shared/index.ts';
import type { NotifyEvent } from './events.ts';
import { slackConfigSchema, type SlackConfigInput } from './config.ts';
import { clipUrlOf, formatMeasurements, incidentTypeLabel, streamLabel, thumbnailUrlOf, truncate } from './format.ts';
import { parseSinkConfig, postJson, requireEnv, type HttpSinkOptions } from './http.ts';
import { routeFilter } from './route.ts';
import type { Sink } from './sink.ts';

export type SlackSinkOptions = HttpSinkOptions;

/** A Block Kit text object. */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'image'; image_url: string; alt_text: string }
  | { type: 'context'; elements: SlackText[] };

/** The JSON body POSTed to a Slack incoming webhook. */
export interface SlackMessage {
  /** Fallback for notifications and clients that do not render blocks. */
  text: string;
  blocks: SlackBlock[];
}

const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 429]);

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A wall time Slack shows in each reader's own time zone (ISO text as fallback). */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_num} {time_secs}|${esc(iso)}>`;
}

function secs(s: number): string {
  return `${s.toFixed(2)} s`;
}

function field(label: string, value: string): SlackText {
  // Slack caps a field at 2000 characters.
  return { type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, 2000) };
}

/** "🔴 black on News HD" or "✅ resolved: black on News HD". */
export function slackHeadline(event: NotifyEvent): string {
  const inc = event.incident;
  const what = `${incidentTypeLabel(inc)} on ${streamLabel(inc)}`;
  if (event.kind === 'incident.acknowledged') return `👀 acknowledged: ${what}`;
  return event.kind === 'incident.opened' ? `🔴 ${what}` : `✅ resolved: ${what}`;
}

/** The Slack message for an incident event: a `text` fallback plus Block Kit `blocks`. */
export function slackMessage(event: NotifyEvent): SlackMessage {
  const inc: Incident = event.incident;
  const closed = event.kind === 'incident.closed';
  const headline = slackHeadline(event);
  const stream =
    inc.streamName && inc.streamName !== inc.streamId
      ? `${esc(inc.streamName)} (\`${esc(inc.streamId)}\`)`
      : `\`${esc(inc.streamId)}\``;
  const fields: SlackText[] = [
    field('Stream', stream),
    field('Type', esc(incidentTypeLabel(inc))),
    field('Severity', inc.severity),
    field('Start (media)', secs(inc.start)),
  ];
  if (closed && inc.end !== undefined) fields.push(field('Duration', secs(inc.end - inc.start)));
  fields.push(field('Opened', slackDate(inc.openedAt)));
  if (closed && inc.closedAt) fields.push(field('Closed', slackDate(inc.closedAt)));
  if (inc.occurrences > 1) fields.push(field('Occurrences', String(inc.occurrences)));
  const measurements = formatMeasurements(inc.measurements);
  if (measurements) fields.push(field('Measurements', `\`${esc(measurements)}\``));

  const blocks: SlackBlock[] = [
    // Header text is plain_text, at most 150 characters.
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: true } },
    { type: 'section', fields },
  ];
  const thumb = thumbnailUrlOf(inc);
  if (thumb) {
    blocks.push({
      type: 'image',
      image_url: thumb,
      alt_text: truncate(`${streamLabel(inc)} at ${secs(inc.start)}`, 2000),
    });
  }
  if (event.kind === 'incident.acknowledged') {
    fields.push(field('Acknowledged by', esc(event.ack.by)));
    if (event.ack.note) fields.push(field('Note', esc(event.ack.note)));
  }
  const clip = clipUrlOf(inc);
  if (clip) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${clip}|Evidence clip>` } });
  const context = [`incident \`${esc(inc.id)}\``];
  if (inc.tags.length > 0) context.push(`tags: ${inc.tags.map((t) => esc(t)).join(', ')}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(context.join('  ·  '), 2000) }] });

  const detail =
    event.kind === 'incident.acknowledged'
      ? ` by ${event.ack.by}`
      : closed
    ? inc.end !== undefined
      ? ` after ${secs(inc.end - inc.start)}`
      : ''
    : ` (${inc.severity}) at ${secs(inc.start)}`;
  return { text: esc(`${headline}${detail}`), blocks };
}

/**
 * Posts a Block Kit message per incident event to a Slack incoming webhook. Slack answers
 * 200 "ok"; 408/429/5xx and network errors are retried, other 4xx (invalid_payload,
 * channel_not_found, ...) drop the event. Throws a VigilError at creation for an invalid
 * config, an unset `urlEnv` variable, or one that does not hold an http(s) URL.
 */
export function createSlackSink(config: SlackConfigInput, opts: SlackSinkOptions = {}): Sink {
  const cfg = parseSinkConfig(slackConfigSchema, config, 'slack');
  const doFetch = opts.fetch ?? globalThis.fetch;
  let url: string;
  let name: string;
  if (cfg.urlEnv !== undefined) {
    name = cfg.name ?? `slack:${cfg.urlEnv}`;
    url = requireEnv(opts.env ?? process.env, cfg.urlEnv, 'urlEnv', name);
    let ok = false;
    try {
      ok = /^https?:$/.test(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) {
      // Never echo the value: it is a secret.
      throw new VigilError(
        ErrorCodes.CONFIG_INVALID,
        `notify sink "${name}": environment variable ${cfg.urlEnv} (named by urlEnv) does not hold an http:// or https:// URL`,
        [`urlEnv: ${cfg.urlEnv} must hold the Slack incoming-webhook URL`],
      );
    }
  } else {
    // The schema guarantees exactly one of url / urlEnv.
    url = cfg.url ?? '';
    // The path of a Slack webhook URL is the secret: name by host only.
    name = cfg.name ?? `slack:${new URL(url).host}`;
  }

  return {
    name,
    maxAttempts: cfg.maxAttempts,
    accepts: routeFilter(cfg),
    deliver(event: NotifyEvent, attempt: number, signal?: AbortSignal): Promise<void> {
      return postJson({
        name,
        url,
        body: JSON.stringify(slackMessage(event)),
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

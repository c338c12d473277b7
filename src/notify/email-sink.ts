import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Incident } from '../shared/index.ts';
import { emailConfigSchema, type EmailConfigInput } from './config.ts';
import type { NotifyEvent } from './events.ts';
import { clipUrlOf, formatNumber, incidentTypeLabel, streamLabel, thumbnailUrlOf } from './format.ts';
import { parseSinkConfig, requireEnv, type HttpSinkOptions } from './http.ts';
import { routeFilter } from './route.ts';
import { PermanentDeliveryError, type Sink } from './sink.ts';

export interface EmailSinkOptions extends Pick<HttpSinkOptions, 'logger' | 'env'> {
  /**
   * Evidence lookup: the onset JPEG of an incident, attached inline when present at delivery
   * time (it is usually taken a frame after the open edge, before the mail goes out).
   */
  thumbnail?: (incidentId: string) => Uint8Array | undefined;
  /** Base URL of the dashboard (config server.publicUrl): the mail links to the incident there. */
  publicUrl?: string;
}

/** A mail as the sink builds it (before nodemailer encodes it). */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

const escHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function secs(s: number): string {
  return `${s.toFixed(2)} s`;
}

/** `CRITICAL black on News HD: opened` — severity, type, stream, what happened. */
export function emailSubject(event: NotifyEvent, prefix = '[Vigil]'): string {
  const inc = event.incident;
  const what =
    event.kind === 'incident.opened' ? 'opened' : event.kind === 'incident.closed' ? 'closed' : 'acknowledged';
  const head = `${inc.severity.toUpperCase()} ${incidentTypeLabel(inc)} on ${streamLabel(inc)}: ${what}`;
  return prefix ? `${prefix} ${head}` : head;
}

/** Rows of the facts table, shared by the text and HTML bodies. */
function facts(inc: Incident, closed: boolean): [string, string][] {
  const rows: [string, string][] = [
    ['Stream', inc.streamName && inc.streamName !== inc.streamId ? `${inc.streamName} (${inc.streamId})` : inc.streamId],
    ['Type', incidentTypeLabel(inc)],
    ['Severity', inc.severity],
    ['Opened', inc.openedAt],
    ['Onset (media time)', secs(inc.start)],
  ];
  if (closed && inc.closedAt) rows.push(['Closed', inc.closedAt]);
  if (closed && inc.end !== undefined) rows.push(['Duration', secs(inc.end - inc.start)]);
  if (inc.occurrences > 1) rows.push(['Occurrences', String(inc.occurrences)]);
  if (inc.tags.length > 0) rows.push(['Tags', inc.tags.join(', ')]);
  rows.push(['Incident id', inc.id]);
  return rows;
}

/**
 * The subject, plain-text and HTML bodies of an incident mail: the facts, every measurement,
 * and links to the incident, its thumbnail and its evidence clip. The HTML shows the onset
 * picture inline (`cid:onset`) when `inlineImage` is set.
 */
export function emailMessage(
  event: NotifyEvent,
  opts: { prefix?: string; publicUrl?: string; inlineImage?: boolean } = {},
): EmailMessage {
  const inc = event.incident;
  const closed = event.kind === 'incident.closed';
  const rows = facts(inc, closed);
  const measurements = Object.entries(inc.measurements).map(
    ([k, v]) => [k, typeof v === 'number' ? formatNumber(v) : String(v)] as [string, string],
  );
  const base = opts.publicUrl?.replace(/\/$/, '');
  const links: [string, string][] = [];
  if (base) links.push(['Incident', `${base}/api/incidents/${encodeURIComponent(inc.id)}`]);
  if (base) links.push(['Dashboard', `${base}/#/streams/${encodeURIComponent(inc.streamId)}`]);
  const thumb = thumbnailUrlOf(inc);
  if (thumb) links.push(['Thumbnail at onset', thumb]);
  const clip = clipUrlOf(inc);
  if (clip) links.push(['Evidence clip', clip]);
  const subject = emailSubject(event, opts.prefix);
  const headline = subject.replace(/^\[[^\]]*\]\s*/, '');

  const text = [
    headline,
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    ...(measurements.length ? ['', 'Measurements:', ...measurements.map(([k, v]) => `  ${k} = ${v}`)] : []),
    ...(links.length ? ['', ...links.map(([k, v]) => `${k}: ${v}`)] : []),
    '',
    '-- Vigil',
  ].join('\n');

  const tr = (k: string, v: string): string =>
    `<tr><th align="left" style="padding:2px 12px 2px 0">${escHtml(k)}</th><td>${escHtml(v)}</td></tr>`;
  const colour = closed ? '#1a7f37' : '#b42318';
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;color:#111">',
    `<h2 style="color:${colour};margin:0 0 12px">${escHtml(headline)}</h2>`,
    `<table>${rows.map(([k, v]) => tr(k, v)).join('')}</table>`,
    measurements.length ? `<h3>Measurements</h3><table>${measurements.map(([k, v]) => tr(k, v)).join('')}</table>` : '',
    opts.inlineImage
      ? `<p><img src="cid:onset" alt="${escHtml(`${streamLabel(inc)} at ${secs(inc.start)}`)}" style="max-width:480px"></p>`
      : '',
    links.length
      ? `<ul>${links.map(([k, v]) => `<li><a href="${escHtml(v)}">${escHtml(k)}</a></li>`).join('')}</ul>`
      : '',
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

/** SMTP reply codes 5xx (mailbox unavailable, relay denied, bad auth) are permanent: retrying cannot help. */
function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * Mails one message per incident open and close through an SMTP relay (nodemailer). Network
 * errors, timeouts and 4xx replies are retried by the Notifier; 5xx replies drop the event.
 * Acknowledgements are not mailed (a mail per click would be noise). Throws a VigilError at
 * creation for an invalid config or an unset `passwordEnv` variable.
 */
export function createEmailSink(config: EmailConfigInput, opts: EmailSinkOptions = {}): Sink {
  const cfg = parseSinkConfig(emailConfigSchema, config, 'email');
  const name = cfg.name ?? `email:${cfg.host}`;
  const password =
    cfg.passwordEnv !== undefined ? requireEnv(opts.env ?? process.env, cfg.passwordEnv, 'passwordEnv', name) : undefined;
  const transportOptions: SMTPTransport.Options = {
    host: cfg.host,
    port: cfg.port ?? (cfg.tls === 'implicit' ? 465 : 587),
    secure: cfg.tls === 'implicit',
    requireTLS: cfg.tls === 'starttls',
    ignoreTLS: cfg.tls === 'none',
    tls: { rejectUnauthorized: cfg.rejectUnauthorized },
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
    ...(cfg.user !== undefined && password !== undefined ? { auth: { user: cfg.user, pass: password } } : {}),
  };
  const transport = nodemailer.createTransport(transportOptions);
  const route = routeFilter(cfg);

  return {
    name,
    maxAttempts: cfg.maxAttempts,
    accepts: (event) => event.kind !== 'incident.acknowledged' && (route?.(event) ?? true),
    async deliver(event: NotifyEvent, attempt: number): Promise<void> {
      const jpeg = event.kind === 'incident.opened' ? opts.thumbnail?.(event.incident.id) : undefined;
      const msg = emailMessage(event, {
        prefix: cfg.subjectPrefix,
        ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
        inlineImage: jpeg !== undefined,
      });
      try {
        const info = await transport.sendMail({
          from: cfg.from,
          to: cfg.to,
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          headers: {
            // Lets a mail client thread open and close of one incident.
            'X-Vigil-Incident': event.incident.id,
            'X-Vigil-Event': event.kind,
          },
          ...(jpeg
            ? {
                attachments: [
                  {
                    filename: `${event.incident.id}-onset.jpg`,
                    content: Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
                    contentType: 'image/jpeg',
                    cid: 'onset',
                  },
                ],
              }
            : {}),
        });
        opts.logger?.debug(
          { sink: name, incidentId: event.incident.id, attempt, messageId: info.messageId },
          'notification mailed',
        );
      } catch (err) {
        const reason = `${name}: ${err instanceof Error ? err.message : String(err)} (attempt ${attempt})`;
        if (isPermanent(err)) throw new PermanentDeliveryError(reason, { cause: err });
        throw new Error(reason, { cause: err });
      }
    },
  };
}

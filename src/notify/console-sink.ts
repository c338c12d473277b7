import pc from 'picocolors';
import type { Incident } from '../shared/index.ts';
import type { NotifyEvent } from './events.ts';
import { formatMeasurements } from './format.ts';
import type { Sink } from './sink.ts';

export interface ConsoleSinkOptions {
  /** Where lines go (default process.stdout). */
  stream?: NodeJS.WritableStream;
  /** ANSI colours (default: whether the stream is a TTY). */
  color?: boolean;
  /** Print wall times in UTC instead of local time (default false). */
  utc?: boolean;
  name?: string;
}

/** One human-readable line per incident event. */
export function createConsoleSink(opts: ConsoleSinkOptions = {}): Sink {
  const stream = opts.stream ?? process.stdout;
  const color = opts.color ?? (stream as { isTTY?: boolean }).isTTY === true;
  const colors = pc.createColors(color);
  const utc = opts.utc ?? false;
  return {
    name: opts.name ?? 'console',
    // Writing to a local stream cannot usefully be retried.
    maxAttempts: 1,
    deliver(event: NotifyEvent): Promise<void> {
      const { label, rest } = formatParts(event, utc);
      const paint = event.kind === 'incident.opened' ? colors.red : event.kind === 'incident.acknowledged' ? colors.yellow : colors.green;
      stream.write(`${rest.time}  ${paint(colors.bold(label))}${rest.body}\n`);
      return Promise.resolve();
    },
  };
}

/** The console line for an event, without colour and without the trailing newline. */
export function formatIncidentLine(event: NotifyEvent, opts: { utc?: boolean } = {}): string {
  const { label, rest } = formatParts(event, opts.utc ?? false);
  return `${rest.time}  ${label}${rest.body}`;
}

function formatParts(event: NotifyEvent, utc: boolean): { label: string; rest: { time: string; body: string } } {
  const inc = event.incident;
  const opened = event.kind === 'incident.opened';
  if (event.kind === 'incident.acknowledged') {
    const type = (inc.channel ? `${inc.type}/${inc.channel}` : inc.type).padEnd(12);
    const note = event.ack.note ? `: ${event.ack.note}` : '';
    return {
      label: 'ACK'.padEnd(7),
      rest: { time: formatWallTime(event.ack.at, utc), body: `${type} [${inc.streamId}]  by ${event.ack.by}${note}` },
    };
  }
  const label = (opened ? 'OPEN' : 'CLOSE').padEnd(7);
  const wall = opened ? inc.openedAt : (inc.closedAt ?? inc.openedAt);
  const type = (inc.channel ? `${inc.type}/${inc.channel}` : inc.type).padEnd(12);
  const name = inc.streamName && inc.streamName !== inc.streamId ? ` ${inc.streamName}` : '';
  let body = `${type} [${inc.streamId}]${name}  `;
  body += opened ? `at ${seconds(inc.start)}` : closeSpan(inc);
  if (inc.occurrences > 1) body += `  (${inc.occurrences}×)`;
  const m = formatMeasurements(inc.measurements);
  if (m) body += `  ${m}`;
  return { label, rest: { time: formatWallTime(wall, utc), body } };
}

function closeSpan(inc: Incident): string {
  if (inc.end === undefined) return `${seconds(inc.start)}→?`;
  return `${seconds(inc.start)}→${seconds(inc.end)} (${seconds(inc.end - inc.start)})`;
}

function seconds(s: number): string {
  return `${s.toFixed(2)}s`;
}

function formatWallTime(iso: string, utc: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return utc
    ? `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
    : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

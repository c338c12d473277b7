import pc from 'picocolors';
import type { Incident } from '../shared/index.ts';

/** The `analyze --format jsonl` contract: type, start, end (media seconds), then extras. Keep stable. */
export function incidentJsonLine(i: Incident): string {
  return JSON.stringify({
    type: i.type,
    start: round3(i.start),
    end: round3(i.end ?? i.start),
    ...(i.channel !== undefined ? { channel: i.channel } : {}),
    severity: i.severity,
    ...(i.confidence !== undefined ? { confidence: i.confidence } : {}),
    measurements: i.measurements,
  });
}

export function incidentTextLine(i: Incident, color: boolean): string {
  const c = color ? pc : { red: (s: string) => s, dim: (s: string) => s, bold: (s: string) => s };
  const end = i.end ?? i.start;
  const what = `${i.type}${i.channel ? `(${i.channel})` : ''}`.padEnd(16);
  const extras = Object.entries(i.measurements)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return `${c.red(c.bold(what))} ${fmt(i.start)} → ${fmt(end)}  ${c.dim(`(${(end - i.start).toFixed(2)} s)`)}  ${c.dim(extras)}`;
}

function fmt(t: number): string {
  const m = Math.floor(t / 60);
  const s = t - m * 60;
  return `${String(m).padStart(2, '0')}:${s.toFixed(2).padStart(5, '0')}`;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

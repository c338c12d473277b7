import type { Incident } from '../shared/index.ts';

/** Fields an incident may carry beyond the shared type (read defensively). */
export function thumbnailUrlOf(incident: Incident): string | undefined {
  const url = (incident as { thumbnailUrl?: string }).thumbnailUrl;
  return typeof url === 'string' && url !== '' ? url : undefined;
}

/** Link to the evidence clip, when the app serves one (read defensively, like thumbnailUrl). */
export function clipUrlOf(incident: Incident): string | undefined {
  const url = (incident as { clipUrl?: string }).clipUrl;
  return typeof url === 'string' && url !== '' ? url : undefined;
}

/** "black", or "silence (FL)" for a per-channel incident. */
export function incidentTypeLabel(inc: Incident): string {
  return inc.channel ? `${inc.type} (${inc.channel})` : inc.type;
}

/** The stream's human name, or its id. */
export function streamLabel(inc: Incident): string {
  return inc.streamName || inc.streamId;
}

export function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
}

/** `key=value` pairs, numbers rounded to 2 decimals. */
export function formatMeasurements(m: Incident['measurements']): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`)
    .join(' ');
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

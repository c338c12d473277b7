/** Incident type names. These are part of the `analyze --format jsonl` contract: never rename. */
export const INCIDENT_TYPES = [
  'black',
  'freeze',
  'silence',
  'signal_loss',
  'corruption',
  'av_sync',
  'loudness',
  'clipping',
  'channel_loss',
  'audio_missing',
  'video_missing',
  'stutter',
  'transport',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export type Severity = 'critical' | 'major' | 'minor';

/**
 * An edge of a defect interval, as a detector (or ingest, for signal loss) reports it.
 * Detectors mark edges only: one `open`, later one `close`, like libavfilter's blackdetect.
 */
export interface IntervalEdge {
  readonly streamId: string;
  readonly type: IncidentType;
  readonly phase: 'open' | 'close';
  /** Media time (s) where the defect began (open) or ended (close). */
  readonly mediaTime: number;
  /** Wall time (ms since epoch) of the same instant, as best known. */
  readonly wallTime: number;
  /** Distinguishes parallel intervals of one type, e.g. an audio channel 'FL'. */
  readonly channel?: string;
  /** Measurements that explain the decision, e.g. { meanLuma: 17.2 }. */
  readonly measurements?: Readonly<Record<string, number | string | boolean>>;
  readonly confidence?: number;
}

/** An incident as the incidents module publishes it. */
export interface Incident {
  readonly id: string;
  readonly streamId: string;
  readonly streamName: string;
  readonly tags: readonly string[];
  readonly type: IncidentType;
  readonly severity: Severity;
  readonly channel?: string;
  readonly state: 'open' | 'closed';
  /** Media time (s) of onset and of the end. */
  readonly start: number;
  readonly end?: number;
  /** Wall times (ISO 8601) of onset and end. */
  readonly openedAt: string;
  readonly closedAt?: string;
  /** How many times the defect came back while the incident was open (flapping count). */
  readonly occurrences: number;
  readonly measurements: Readonly<Record<string, number | string | boolean>>;
  readonly confidence?: number;
  /** Link to the JPEG taken at onset (`?at=close` for the one after recovery), when served. */
  readonly thumbnailUrl?: string;
}

export interface IncidentEvent {
  readonly kind: 'incident.opened' | 'incident.closed';
  readonly incident: Incident;
}

import { randomUUID } from 'node:crypto';
import type { Incident, IncidentEvent, IncidentType, IntervalEdge, Severity } from '../shared/index.ts';

export interface StreamInfo {
  readonly name: string;
  readonly tags: readonly string[];
}

export interface IncidentTrackerOptions {
  /** Name and tags of a stream, for incidents and routing. */
  readonly streamInfo?: (streamId: string) => StreamInfo | undefined;
  /** Called synchronously for every open and close. Must not throw (errors are swallowed). */
  readonly onEvent: (event: IncidentEvent) => void;
  readonly newId?: () => string;
  /** Evidence link for a new incident (the thumbnail endpoint), if there is one. */
  readonly thumbnailUrl?: (incidentId: string) => string;
  readonly now?: () => number;
  /**
   * Seconds a close is held back: if the same defect returns on the same stream within it,
   * the incident stays open and counts another occurrence, so a defect that comes and goes
   * every few seconds is one incident (one open, one close) with a count. 0 = close at once.
   */
  readonly flapWindow?: number;
}

const SEVERITY: Record<IncidentType, Severity> = {
  signal_loss: 'critical',
  black: 'critical',
  freeze: 'major',
  silence: 'major',
  corruption: 'major',
  av_sync: 'major',
  loudness: 'minor',
  clipping: 'minor',
  channel_loss: 'major',
  audio_missing: 'critical',
  video_missing: 'critical',
  stutter: 'minor',
  transport: 'minor',
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A defect that another open defect on the same stream already explains: a black picture
 * is also a still one, so a freeze during black is not news.
 */
const IMPLIED_BY: Partial<Record<IncidentType, readonly IncidentType[]>> = {
  freeze: ['black'],
};

/**
 * Turns interval edges into incidents that open once and close once. Keyed by stream,
 * type and channel: a second open for a key that is already open counts an occurrence
 * instead of opening a duplicate; a close with nothing open is ignored.
 */
export class IncidentTracker {
  private readonly open = new Map<string, Mutable<Incident>>();
  /** Closes held back for the flap window, by key. */
  private readonly closing = new Map<string, { timer: NodeJS.Timeout; edge: IntervalEdge }>();
  /** Interval keys whose open edge was suppressed as implied by another incident. */
  private readonly suppressed = new Set<string>();
  /** Wall time (ms) at which each open incident was last confirmed by an open edge. */
  private readonly confirmed = new Map<string, number>();

  constructor(private readonly opts: IncidentTrackerOptions) {}

  handle(edge: IntervalEdge): Incident | undefined {
    const key = `${edge.streamId}\u0000${edge.type}\u0000${edge.channel ?? ''}`;
    const current = this.open.get(key);
    if (this.suppressed.has(key)) {
      if (edge.phase === 'close') this.suppressed.delete(key);
      return undefined;
    }
    if (edge.phase === 'open') {
      const causes = IMPLIED_BY[edge.type];
      if (!current && causes?.some((t) => this.isOpen(edge.streamId, t))) {
        this.suppressed.add(key);
        return undefined;
      }
      if (current) {
        const held = this.closing.get(key);
        if (held && causes?.some((t) => this.isOpen(edge.streamId, t))) {
          // Back only as part of a defect that implies it (a black picture is still): not a return.
          this.suppressed.add(key);
          return undefined;
        }
        if (held) {
          // The defect came back within the flap window: same incident, one more occurrence.
          clearTimeout(held.timer);
          this.closing.delete(key);
          current.occurrences++;
        }
        // Otherwise a detector restarted (worker restart, reconnect) and saw the same defect again.
        this.confirmed.set(key, Date.now());
        return undefined;
      }
      const info = this.opts.streamInfo?.(edge.streamId);
      const id = this.opts.newId?.() ?? randomUUID();
      const incident: Mutable<Incident> = {
        id,
        streamId: edge.streamId,
        streamName: info?.name ?? edge.streamId,
        tags: info?.tags ?? [],
        type: edge.type,
        severity: edge.channel && edge.type === 'silence' ? 'minor' : SEVERITY[edge.type],
        ...(edge.channel !== undefined ? { channel: edge.channel } : {}),
        state: 'open',
        start: edge.mediaTime,
        openedAt: new Date(edge.wallTime).toISOString(),
        occurrences: 1,
        measurements: { ...(edge.measurements ?? {}) },
        ...(edge.confidence !== undefined ? { confidence: edge.confidence } : {}),
        ...(this.opts.thumbnailUrl ? { thumbnailUrl: this.opts.thumbnailUrl(id) } : {}),
      };
      this.open.set(key, incident);
      this.confirmed.set(key, Date.now());
      this.emit({ kind: 'incident.opened', incident: { ...incident } });
      return incident;
    }
    if (!current) return undefined;
    const window = (this.opts.flapWindow ?? 0) * 1000;
    if (window > 0) {
      const held = this.closing.get(key);
      if (held) clearTimeout(held.timer);
      const timer = setTimeout(() => this.finishClose(key), window);
      timer.unref();
      this.closing.set(key, { timer, edge });
      return undefined;
    }
    return this.closeNow(key, current, edge);
  }

  private finishClose(key: string): void {
    const held = this.closing.get(key);
    const current = this.open.get(key);
    this.closing.delete(key);
    if (held) clearTimeout(held.timer);
    if (held && current) this.closeNow(key, current, held.edge);
  }

  /** Emit every close still held in the flap window (shutdown). */
  flush(): void {
    for (const key of [...this.closing.keys()]) this.finishClose(key);
  }

  private closeNow(key: string, current: Mutable<Incident>, edge: IntervalEdge): Incident {
    this.open.delete(key);
    this.confirmed.delete(key);
    current.state = 'closed';
    current.end = Math.max(current.start, edge.mediaTime);
    current.closedAt = new Date(Math.max(Date.parse(current.openedAt), edge.wallTime)).toISOString();
    current.measurements = { ...current.measurements, ...(edge.measurements ?? {}) };
    this.emit({ kind: 'incident.closed', incident: { ...current } });
    return current;
  }

  /** Close everything open for a stream (stream removed, input ended). */
  closeStream(streamId: string, mediaTime: number, wallTime = Date.now()): void {
    for (const key of [...this.suppressed]) if (key.startsWith(`${streamId}\u0000`)) this.suppressed.delete(key);
    for (const key of [...this.closing.keys()]) if (key.startsWith(`${streamId}\u0000`)) this.finishClose(key);
    for (const [key, inc] of [...this.open]) {
      if (inc.streamId !== streamId) continue;
      const edge: IntervalEdge = {
        streamId,
        type: inc.type,
        phase: 'close',
        mediaTime: Math.max(inc.start, mediaTime),
        wallTime,
        ...(inc.channel !== undefined ? { channel: inc.channel } : {}),
      };
      // The stream is gone or ended: no flap window to wait for.
      this.closeNow(key, inc, edge);
    }
  }

  /**
   * After a stream's detectors restarted (its worker died), close the incidents that the
   * fresh detectors did not see again since `sinceWall`: the defect ended while nobody watched.
   */
  closeUnconfirmed(streamId: string, sinceWall: number, mediaTime: number): void {
    for (const [key, inc] of [...this.open]) {
      if (inc.streamId !== streamId || (this.confirmed.get(key) ?? 0) >= sinceWall) continue;
      this.handle({
        streamId,
        type: inc.type,
        phase: 'close',
        mediaTime: Math.max(inc.start, mediaTime),
        wallTime: Date.now(),
        ...(inc.channel !== undefined ? { channel: inc.channel } : {}),
        measurements: { closedBy: 'detector restart' },
      });
    }
  }

  /**
   * Whether a defect of this type is going on now on the stream: an incident whose close is held
   * in the flap window has ended (it is only held in case it returns), so it explains nothing.
   */
  private isOpen(streamId: string, type: IncidentType): boolean {
    for (const [key, inc] of this.open) if (inc.streamId === streamId && inc.type === type && !this.closing.has(key)) return true;
    return false;
  }

  openIncidents(streamId?: string): Incident[] {
    return [...this.open.values()].filter((i) => !streamId || i.streamId === streamId).map((i) => ({ ...i }));
  }

  private emit(event: IncidentEvent): void {
    try {
      this.opts.onEvent(event);
    } catch {
      // A failing listener must never break incident bookkeeping.
    }
  }
}

import type { StreamConfig } from '../../src/config/index.ts';
import type { SourceStatus } from '../../src/ingest/index.ts';
import { Silences, type SilenceInput, type SilenceState } from '../../src/notify/index.ts';
import type { IncidentQueryFilter, ServerDeps, ServerEvents, ServerStreamState } from '../../src/server/index.ts';
import { EventBus, type Incident, type IncidentType } from '../../src/shared/index.ts';

/** A real in-memory ServerDeps: streams in a map, incident history in an array, a real event bus. */
export class FakeDeps implements ServerDeps {
  readonly bus = new EventBus<ServerEvents & Record<string, unknown>>();
  /** Subscriptions not yet undone (to prove SSE clients clean up). */
  subscriptions = 0;
  readonly events: ServerDeps['events'] = {
    on: (event, listener) => {
      const off = this.bus.on(event, listener);
      this.subscriptions += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        this.subscriptions -= 1;
        off();
      };
    },
  };
  readonly configs = new Map<string, StreamConfig>();
  readonly statuses = new Map<string, { status: SourceStatus; gauges: Record<string, number> }>();
  /** Newest first, like the app. */
  history: Incident[] = [];
  isReady = true;
  readonly added: StreamConfig[] = [];
  readonly removed: string[] = [];

  streams(): ServerStreamState[] {
    return [...this.configs.values()].map((s) => ({
      id: s.id,
      name: s.name ?? s.id,
      url: s.url,
      tags: s.tags,
      status: this.statuses.get(s.id)?.status,
      gauges: this.statuses.get(s.id)?.gauges ?? {},
      openIncidents: this.history.filter((i) => i.streamId === s.id && i.state === 'open'),
    }));
  }
  incidents(): Incident[] {
    return [...this.history];
  }
  addStream(stream: StreamConfig): void {
    if (this.configs.has(stream.id)) throw new Error(`stream ${stream.id} already exists`);
    this.configs.set(stream.id, stream);
    this.added.push(stream);
  }
  removeStream(id: string): void {
    this.removed.push(id);
    this.configs.delete(id);
    this.statuses.delete(id);
  }
  /** JPEG bytes by stream id, and by `${incidentId}:${at}`. */
  readonly thumbs = new Map<string, Uint8Array>();

  streamThumbnail(id: string): Uint8Array | undefined {
    return this.thumbs.get(id);
  }

  incidentThumbnail(id: string, at: 'onset' | 'close'): Uint8Array | undefined {
    return this.thumbs.get(`${id}:${at}`);
  }

  ready(): boolean {
    return this.isReady;
  }

  incident(id: string): Incident | undefined {
    return this.history.find((i) => i.id === id);
  }

  /** The same filter rules as the SQLite store, over the in-memory history. */
  queryIncidents(f: IncidentQueryFilter): { items: Incident[]; total: number } {
    const since = f.since !== undefined ? Date.parse(f.since) : undefined;
    const matching = this.history.filter(
      (i) =>
        (f.stream === undefined || i.streamId === f.stream) &&
        (f.type === undefined || i.type === f.type) &&
        (f.state === undefined || i.state === f.state) &&
        (since === undefined ||
          i.state === 'open' ||
          Date.parse(i.openedAt) >= since ||
          (i.closedAt !== undefined && Date.parse(i.closedAt) >= since)),
    );
    return { items: matching.slice(f.offset, f.offset + f.limit), total: matching.length };
  }

  readonly clips = new Map<string, { mime: string; start: number; duration: number; data: Uint8Array }>();
  incidentClip(id: string) {
    return this.clips.get(id);
  }

  readonly acks: { id: string; by: string; note?: string | undefined }[] = [];
  acknowledge(id: string, by: string, note?: string): Incident | 'unknown' | 'already' {
    const idx = this.history.findIndex((i) => i.id === id);
    if (idx < 0) return 'unknown';
    const inc = this.history[idx]! as Incident & { acknowledged?: unknown };
    if (inc.acknowledged) return 'already';
    this.acks.push({ id, by, note });
    const next = { ...inc, acknowledged: { by, at: new Date().toISOString(), ...(note ? { note } : {}) } } as Incident;
    this.history[idx] = next;
    this.bus.emit('incidentUpdate', next);
    return next;
  }

  /** The real rule book (no store), so silence routes exercise the notify module's logic. */
  readonly silences = new Silences(undefined, [{ type: 'loudness', duration: 3600, comment: 'from config' }]);
  silenced = 0;
  listSilences(states?: readonly SilenceState[]) {
    return this.silences.list(states);
  }
  addSilence(input: SilenceInput) {
    return this.silences.add(input);
  }
  removeSilence(id: string) {
    return this.silences.remove(id);
  }
  silencedCount(): number {
    return this.silenced;
  }

  setStatus(id: string, status: Partial<SourceStatus>, gauges: Record<string, number> = {}): void {
    const full: SourceStatus = {
      state: 'live',
      fps: 25,
      bitrate: 4_000_000,
      lastFrameAt: Date.parse('2024-05-01T12:00:00Z'),
      mediaTime: 100,
      decodeLag: 0.04,
      reconnects: 0,
      decodeErrors: 0,
      width: 1920,
      height: 1080,
      ...status,
    };
    this.statuses.set(id, { status: full, gauges });
    this.bus.emit('status', { id, status: full, gauges });
  }
}

let seq = 0;
export function incident(streamId: string, type: IncidentType, openedAt: string, closedAt?: string): Incident {
  seq += 1;
  return {
    id: `inc-${seq}`,
    streamId,
    streamName: streamId,
    tags: [],
    type,
    severity: 'major',
    state: closedAt ? 'closed' : 'open',
    start: 10,
    ...(closedAt ? { end: 20, closedAt } : {}),
    openedAt,
    occurrences: 1,
    measurements: { meanLuma: 16.5 },
  };
}

export function stream(id: string, extra: Partial<StreamConfig> = {}): StreamConfig {
  return { id, url: `udp://239.0.0.1:${1000 + id.length}`, tags: [], ...extra };
}

import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { streamIngest, streamSchema, type StreamConfig, type VigilConfig } from './config/index.ts';
import type { DetectorOverrides } from './detect/index.ts';
import type { StreamAssignment } from './engine/index.ts';
import { WorkerPool } from './engine/index.ts';
import { IncidentTracker } from './incidents/index.ts';
import type { SourceStatus } from './ingest/index.ts';
import {
  Notifier,
  Silences,
  createSinks,
  type Acknowledgement,
  type Silence,
  type SilenceInput,
  type SilenceState,
} from './notify/index.ts';
import { EventBus, createLogger, type Incident, type IncidentEvent, type IntervalEdge, type Logger } from './shared/index.ts';
import type { IncidentFilter, IncidentPage, Store, StoredClip } from './store/index.ts';

export interface StreamState {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly tags: readonly string[];
  readonly status: SourceStatus | undefined;
  readonly gauges: Readonly<Record<string, number>>;
  readonly openIncidents: readonly Incident[];
}

/** What the app adds to an incident (persisted with it, shown by the API). */
export interface IncidentAnnotations {
  /** True while a silence holds back its notifications. */
  readonly silenced: boolean;
  /** Ids of the silence rules that matched when it opened. */
  readonly silencedBy?: readonly string[];
  readonly acknowledged?: Acknowledgement;
  /** Link to the evidence clip (404 until it is cut, a few seconds after onset, or when none could be). */
  readonly clipUrl?: string;
}

export interface AppEvents extends Record<string, unknown> {
  incident: IncidentEvent;
  /** An incident changed without opening or closing: acknowledged, released from a silence, clip ready. */
  incidentUpdate: Incident;
  status: { id: string; status: SourceStatus; gauges: Record<string, number> };
}

export interface BuildAppOptions {
  readonly logger?: Logger;
  /** Where the console sink prints (default stdout). */
  readonly consoleStream?: NodeJS.WritableStream;
  /** Worker count override (tests). */
  readonly workers?: number;
  /**
   * Persistence (streams added through the API, incidents, evidence). Without one, history
   * lives in memory. The caller opens and closes it; stop() leaves it open.
   */
  readonly store?: Store;
  /**
   * With a store: how long (ms) incidents that were open when the previous process died stay
   * open waiting for the restarted detectors to see the defect again (default 20 000).
   */
  readonly restartGraceMs?: number;
}

export interface VigilApp {
  readonly events: EventBus<AppEvents>;
  start(): Promise<void>;
  stop(): Promise<void>;
  addStream(stream: StreamConfig): void;
  removeStream(id: string): void;
  streams(): StreamState[];
  openIncidents(streamId?: string): Incident[];
  /**
   * Incident history, newest first, each id once in its latest state: the newest 10 000. From
   * the store when there is one (by onset time; survives restarts), else from memory (by
   * latest event).
   */
  incidents(): Incident[];
  /** Latest live thumbnail (JPEG) of a stream. */
  streamThumbnail(id: string): Uint8Array | undefined;
  /** Evidence JPEG of an incident: at onset, or after it closed. */
  incidentThumbnail(id: string, at: 'onset' | 'close'): Uint8Array | undefined;
  /** One incident in its latest state (store first, then memory). */
  incident(id: string): Incident | undefined;
  /** Filtered, paginated history, newest first; with a store the filters run in SQL. */
  queryIncidents(filter: IncidentFilter): IncidentPage;
  /** Evidence clip of an incident (MPEG-TS), once cut. */
  incidentClip(id: string): StoredClip | undefined;
  /** Acknowledges an incident: 'unknown' id, 'already' acknowledged, else the updated incident. */
  acknowledge(id: string, by: string, note?: string): Incident | 'unknown' | 'already';
  listSilences(states?: readonly SilenceState[]): Silence[];
  addSilence(input: SilenceInput): Silence;
  removeSilence(id: string): 'removed' | 'unknown' | 'read-only';
  /** Incidents whose notification a silence held back, since start. */
  silencedCount(): number;
  /** Started, with at least one worker process up. */
  ready(): boolean;
  /** Worker placement: which process runs which streams. */
  placement(): { slot: number; pid: number | undefined; streams: string[] }[];
}

/**
 * The composition root as a function, so tests build the same app main.ts does:
 * worker pool (ingest + detect per stream) → incident tracker → notifier.
 */
export function buildApp(config: VigilConfig, opts: BuildAppOptions = {}): VigilApp {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const events = new EventBus<AppEvents>((event, err) => logger.error({ event, err }, 'event listener failed'));
  const streams = new Map<string, StreamConfig>();
  const statuses = new Map<string, { status: SourceStatus; gauges: Record<string, number> }>();
  const notifier = new Notifier({
    sinks: createSinks(config.notify, {
      logger,
      ...(opts.consoleStream ? { consoleStream: opts.consoleStream } : {}),
      // The email sink attaches the onset picture inline (looked up when the mail goes out).
      thumbnail: (id) => app.incidentThumbnail(id, 'onset'),
      ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
    }),
    logger,
    // With a store, events are recorded before delivery and those left undelivered by a
    // previous run (crash, or stop before draining) are sent first.
    ...(opts.store ? { outbox: opts.store.outbox } : {}),
  });
  // Latest state of each incident, newest first by insertion; bounded so a flood cannot grow memory.
  const history = new Map<string, Incident>();
  const HISTORY_LIMIT = 10_000;
  // Thumbnails: the latest per stream, and evidence per incident (bounded like the history).
  const latestThumb = new Map<string, Uint8Array>();
  const evidence = new Map<string, { onset?: Uint8Array; close?: Uint8Array }>();
  // Evidence clips without a store: a few only (they are megabytes each).
  const clips = new Map<string, StoredClip>();
  const CLIP_MEMORY_LIMIT = 20;
  const publicBase = config.server.publicUrl?.replace(/\/$/, '') ?? '';
  const store = opts.store;
  /** Store writes never stop monitoring or notification: a failed write is logged and skipped. */
  function persist(what: string, write: (s: Store) => void): void {
    if (!store) return;
    try {
      write(store);
    } catch (err) {
      logger.error({ err }, `store: ${what} failed`);
    }
  }
  function keepEvidence(incidentId: string, at: 'onset' | 'close', jpeg: Uint8Array): void {
    if (store) {
      persist('saving a thumbnail', (st) => st.saveThumbnail(incidentId, at, jpeg)); // first one wins
      return;
    }
    const e = evidence.get(incidentId) ?? {};
    if (e[at]) return;
    e[at] = jpeg;
    evidence.set(incidentId, e);
    if (evidence.size > HISTORY_LIMIT) evidence.delete(evidence.keys().next().value as string);
  }

  function keepClip(incidentId: string, clip: StoredClip): void {
    if (store) persist('saving a clip', (st) => st.saveClip(incidentId, clip));
    else if (!clips.has(incidentId)) {
      clips.set(incidentId, clip);
      if (clips.size > CLIP_MEMORY_LIMIT) clips.delete(clips.keys().next().value as string);
    }
    const inc = findIncident(incidentId);
    if (inc) events.emit('incidentUpdate', inc);
  }

  // Restart recovery (with a store). Incidents that were open when the previous process died
  // are loaded at start into `recovered`, keyed like the tracker's intervals, and stay open.
  // The first open edge a restarted detector reports for the same stream/type/channel adopts
  // one: the tracker opens it under the persisted id (through newId), and its persisted onset
  // (openedAt, start) is restored on every later event. Those not seen again within
  // restartGraceMs are closed with measurements.closedBy = 'restart'. (The tracker has no way
  // to be seeded; this is the smallest version outside src/incidents. See adopt().)
  const intervalKey = (i: { streamId: string; type: string; channel?: string | undefined }): string =>
    `${i.streamId}\u0000${i.type}\u0000${i.channel ?? ''}`;
  const recovered = new Map<string, Incident>();
  /** Persisted incidents re-opened in the tracker, by id, as they were before the restart. */
  const adopted = new Map<string, Incident>();
  /** Adopted ids whose (re-)open event is still to come: that one is not notified again. */
  const awaitingReopen = new Set<string>();
  let adoptId: string | undefined;
  let graceTimer: NodeJS.Timeout | undefined;

  /** An adopted incident as the world knew it: persisted onset, media times on the old timeline. */
  function restoreOnset(inc: Incident): Incident {
    const before = adopted.get(inc.id);
    if (!before) return inc;
    const restored: Incident = {
      ...inc,
      start: before.start,
      openedAt: before.openedAt,
      occurrences: before.occurrences + inc.occurrences - 1,
      measurements: { ...before.measurements, ...inc.measurements },
    };
    if (inc.state !== 'closed' || inc.closedAt === undefined) return restored;
    // The restarted worker's media clock began again at 0: the end is onset + wall duration.
    const wallSecs = Math.max(0, (Date.parse(inc.closedAt) - Date.parse(before.openedAt)) / 1000);
    return { ...restored, end: before.start + wallSecs };
  }

  // Annotations: silence decision, acknowledgement, clip link. Kept per incident id (bounded like
  // the history), merged into every incident the app hands out, and saved with it in the store.
  interface Annotation {
    /** Undefined until the open is decided; false while a silence holds its notifications back. */
    notified: boolean | undefined;
    silencedBy?: string[];
    acknowledged?: Acknowledgement;
  }
  const annotations = new Map<string, Annotation>();
  const silences = new Silences(store, config.notify.silences ?? []);
  let silencedTotal = 0;
  function annotation(id: string): Annotation {
    let a = annotations.get(id);
    if (!a) {
      a = { notified: undefined };
      annotations.set(id, a);
      if (annotations.size > HISTORY_LIMIT) annotations.delete(annotations.keys().next().value as string);
    }
    return a;
  }
  /** Seeds the annotation of an incident read back from the store (restart, or an old one). */
  function adoptAnnotation(inc: Incident): void {
    if (annotations.has(inc.id)) return;
    const x = inc as Incident & Partial<IncidentAnnotations>;
    const a = annotation(inc.id);
    a.notified = x.silenced !== true;
    if (x.silencedBy) a.silencedBy = [...x.silencedBy];
    if (x.acknowledged) a.acknowledged = x.acknowledged;
  }
  function decorate(inc: Incident): Incident {
    const a = annotations.get(inc.id);
    const extra: IncidentAnnotations = {
      silenced: a?.notified === false,
      ...(a?.silencedBy ? { silencedBy: [...a.silencedBy] } : {}),
      ...(a?.acknowledged ? { acknowledged: a.acknowledged } : {}),
      clipUrl: `${publicBase}/api/incidents/${inc.id}/clip`,
    };
    return { ...inc, ...extra };
  }
  /** Saves the latest state and tells the dashboard (SSE incident.updated). */
  function update(inc: Incident): Incident {
    const decorated = decorate(inc);
    persist('saving an incident', (st) => st.saveIncident(decorated));
    if (history.has(inc.id)) history.set(inc.id, decorated);
    events.emit('incidentUpdate', decorated);
    return decorated;
  }
  /**
   * A silence that ended (expired, or deleted) while an incident it held back is still open:
   * the incident is notified now, as opened (its onset time unchanged). A serious tool must not
   * let an open defect stay unnotified because it began inside a maintenance window. Incidents
   * that closed while silenced stay unnotified (open and close both held back).
   */
  function releaseSilenced(): void {
    for (const inc of withRecovered()) {
      const a = annotations.get(inc.id);
      if (a?.notified !== false) continue;
      if (silences.matching(inc).length > 0) continue;
      a.notified = true;
      const decorated = update(inc);
      notifier.publish({ kind: 'incident.opened', incident: decorated });
      logger.info({ incident: inc.id, stream: inc.streamId, type: inc.type }, 'silence ended: open incident notified');
    }
  }
  let silenceTimer: NodeJS.Timeout | undefined;

  /** Every incident event: persisted (durably) first, then notified and published. */
  function record(raw: IncidentEvent, notify = true): void {
    const a = annotation(raw.incident.id);
    if (raw.kind === 'incident.opened' && notify && a.notified === undefined) {
      const rules = silences.matching(raw.incident);
      a.notified = rules.length === 0;
      if (rules.length > 0) {
        a.silencedBy = rules.map((r) => r.id);
        silencedTotal++;
      }
    }
    // A close of an incident recovered from an older Vigil (never decided here) counts as notified.
    a.notified ??= true;
    const e: IncidentEvent = { ...raw, incident: decorate(raw.incident) };
    persist('saving an incident', (st) => st.saveIncident(e.incident));
    // A lost signal has no frame after its onset: the last live picture is the evidence.
    if (e.kind === 'incident.opened' && e.incident.type === 'signal_loss') {
      const last = latestThumb.get(e.incident.streamId);
      if (last) keepEvidence(e.incident.id, 'onset', last);
    }
    history.delete(e.incident.id);
    history.set(e.incident.id, e.incident);
    if (history.size > HISTORY_LIMIT) history.delete(history.keys().next().value as string);
    if (!notify) return;
    // Held back by a silence: recorded and shown (marked silenced), not notified.
    if (a.notified) notifier.publish(e);
    events.emit('incident', e);
  }

  /** Closes a recovered incident that no restarted detector confirmed. */
  function closeRecovered(inc: Incident, closedBy: string): void {
    recovered.delete(intervalKey(inc));
    const now = Date.now();
    const closed: Incident = {
      ...inc,
      state: 'closed',
      end: inc.start + Math.max(0, (now - Date.parse(inc.openedAt)) / 1000),
      closedAt: new Date(Math.max(now, Date.parse(inc.openedAt))).toISOString(),
      measurements: { ...inc.measurements, closedBy },
    };
    record({ kind: 'incident.closed', incident: closed });
  }

  const tracker = new IncidentTracker({
    flapWindow: config.incidents.flapWindow,
    thumbnailUrl: (id) => `${publicBase}/api/incidents/${id}/thumbnail`,
    streamInfo: (id) => {
      const s = streams.get(id);
      return s ? { name: s.name ?? s.id, tags: s.tags } : undefined;
    },
    newId: () => adoptId ?? randomUUID(),
    onEvent: (e) => {
      const incident = restoreOnset(e.incident);
      const event = incident === e.incident ? e : { ...e, incident };
      // A restarted detector confirmed an incident that was open (and notified) before the restart.
      const reconfirmed = e.kind === 'incident.opened' && awaitingReopen.delete(incident.id);
      record(event, !reconfirmed);
    },
  });

  /** Hands an edge to the tracker; an open edge matching a recovered incident re-opens it under its id. */
  function handleEdge(edge: IntervalEdge): void {
    const key = intervalKey(edge);
    const rec = edge.phase === 'open' ? recovered.get(key) : undefined;
    if (!rec || tracker.openIncidents(edge.streamId).some((i) => intervalKey(i) === key)) {
      tracker.handle(edge);
      return;
    }
    recovered.delete(key);
    adopted.set(rec.id, rec);
    awaitingReopen.add(rec.id);
    adoptId = rec.id;
    try {
      tracker.handle(edge);
    } finally {
      adoptId = undefined;
    }
    if (awaitingReopen.has(rec.id)) {
      // The tracker did not open it (e.g. a freeze implied by an open black): keep waiting.
      awaitingReopen.delete(rec.id);
      adopted.delete(rec.id);
      recovered.set(key, rec);
    }
  }
  const size = opts.workers ?? (config.workers === 'auto' ? availableParallelism() : config.workers);
  const pool = new WorkerPool({
    size,
    logger,
    env: { VIGIL_LOG_LEVEL: config.logLevel },
    onEdge: (edge) => {
      if (streams.has(edge.streamId)) handleEdge(edge);
    },
    onThumbnail: (id, thumb) => {
      if (!streams.has(id)) return;
      latestThumb.set(id, thumb.jpeg);
      for (const reason of thumb.reasons) {
        if (reason === 'live') continue;
        const [type, channel = '', phase] = reason.split('|');
        const match = (i: Incident): boolean => i.streamId === id && i.type === type && (i.channel ?? '') === channel;
        if (phase === 'open') {
          const inc = tracker.openIncidents(id).find(match);
          if (inc) keepEvidence(inc.id, 'onset', thumb.jpeg);
        } else {
          // A close held in the flap window leaves the incident open for a while: look there first.
          const inc =
            tracker.openIncidents(id).find(match) ?? [...history.values()].reverse().find((i) => match(i) && i.state === 'closed');
          if (inc) keepEvidence(inc.id, 'close', thumb.jpeg);
        }
      }
    },
    onClip: (id, clip) => {
      if (!streams.has(id)) return;
      const [type, channel = ''] = clip.reason.split('|');
      const match = (i: Incident): boolean => i.streamId === id && i.type === type && (i.channel ?? '') === channel;
      // Cut onset + post-roll after the open: usually still open; a short one may have closed by now.
      const inc =
        tracker.openIncidents(id).find(match) ?? [...history.values()].reverse().find((i) => match(i) && i.state === 'closed');
      if (inc) keepClip(inc.id, { mime: clip.mime, start: clip.start, duration: clip.duration, data: clip.data });
    },
    onStatus: (id, status, gauges) => {
      statuses.set(id, { status, gauges });
      events.emit('status', { id, status, gauges });
    },
    onWorkerRestart: ({ streams: affected }) => {
      const since = Date.now();
      // Until the replacement reports, these streams are reconnecting, not live.
      for (const id of affected) {
        const prev = statuses.get(id);
        if (prev) statuses.set(id, { status: { ...prev.status, state: 'connecting', fps: 0, bitrate: 0 }, gauges: prev.gauges });
      }
      // Give restarted detectors time to see a defect that is still there before closing it.
      const grace = 15_000;
      setTimeout(() => {
        for (const id of affected) tracker.closeUnconfirmed(id, since, statuses.get(id)?.status.mediaTime ?? 0);
      }, grace).unref();
    },
  });

  function assignment(s: StreamConfig): StreamAssignment {
    const ingest = streamIngest(config, s);
    return {
      id: s.id,
      url: s.url,
      detectors: [config.detectors as DetectorOverrides, s.detectors as DetectorOverrides | undefined],
      signalLossAfter: ingest.signalLossAfter,
      signalRecovery: ingest.signalRecovery,
      reconnectMaxDelay: ingest.reconnectMaxDelay,
      thumbnailInterval: ingest.thumbnailInterval,
      variant: ingest.variant,
      tsAnalysis: ingest.tsAnalysis,
      ...(s.program !== undefined ? { program: s.program } : {}),
      ...(s.inputOptions ? { inputOptions: Object.fromEntries(Object.entries(s.inputOptions).map(([k, v]) => [k, String(v)])) } : {}),
    };
  }

  function monitorStream(s: StreamConfig): void {
    if (streams.has(s.id)) throw new Error(`stream ${s.id} already exists`);
    streams.set(s.id, s);
    pool.add(assignment(s));
  }

  /**
   * Streams with a store: the config file's streams are recorded as source 'config' (rows of
   * streams no longer in the file are dropped); streams added through the API are recorded as
   * 'api' and monitored again at the next start. Removing a stream through the API deletes its
   * row, so a removed API stream stays removed, while a removed config stream comes back at the
   * next start (the file is the truth for its streams). A config stream changed through the API
   * (PUT) keeps the change until the next start; then the file wins.
   */
  function startStreams(): void {
    for (const s of config.streams) monitorStream(s);
    if (!store) return;
    let saved: ReturnType<Store['listStreams']> = [];
    persist('loading streams', (st) => (saved = st.listStreams()));
    persist('recording config streams', (st) => {
      for (const row of saved) if (row.source === 'config' && !streams.has(row.id)) st.removeStream(row.id);
      for (const s of config.streams) st.upsertStream(s, 'config');
    });
    for (const row of saved) {
      if (row.source !== 'api' || streams.has(row.id)) continue;
      try {
        monitorStream(streamSchema.parse(row.config));
      } catch (err) {
        logger.error({ err, stream: row.id }, 'store: a stream added through the API is no longer valid; not monitored');
      }
    }
  }

  function recoverIncidents(): void {
    if (!store) return;
    let open: Incident[] = [];
    persist('loading open incidents', (st) => (open = st.listIncidents({ state: 'open', limit: 1_000_000 }).items));
    // Oldest first, so that of two open for one interval (should not happen) the newest is kept.
    for (const inc of open.reverse()) {
      adoptAnnotation(inc);
      const key = intervalKey(inc);
      const twin = recovered.get(key);
      if (twin) closeRecovered(twin, 'restart');
      if (!streams.has(inc.streamId)) closeRecovered(inc, 'restart');
      else recovered.set(key, inc);
    }
    if (recovered.size === 0) return;
    logger.info({ incidents: recovered.size }, 'incidents open before the restart wait for the detectors to confirm them');
    graceTimer = setTimeout(() => {
      for (const inc of [...recovered.values()]) closeRecovered(inc, 'restart');
    }, opts.restartGraceMs ?? 20_000);
    graceTimer.unref();
  }

  const withRecovered = (streamId?: string): Incident[] =>
    [
      ...tracker.openIncidents(streamId).map(restoreOnset),
      ...[...recovered.values()].filter((i) => !streamId || i.streamId === streamId),
    ].map(decorate);

  /** An incident in its latest state: open ones from the tracker, else the store, else memory. */
  function findIncident(id: string): Incident | undefined {
    const open = withRecovered().find((i) => i.id === id);
    if (open) return open;
    if (store) {
      let found: Incident | undefined;
      persist('reading an incident', (st) => (found = st.getIncident(id)));
      if (found) adoptAnnotation(found);
      return found ? decorate(found) : undefined;
    }
    const mem = history.get(id);
    return mem ? decorate(mem) : undefined;
  }

  let started = false;
  let stopped = false;
  const app: VigilApp = {
    events,
    start() {
      if (started) return Promise.resolve();
      started = true;
      pool.start();
      startStreams();
      recoverIncidents();
      // Silences and maintenance windows end on their own: check every second.
      silenceTimer = setInterval(releaseSilenced, 1000);
      silenceTimer.unref();
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      if (graceTimer) clearTimeout(graceTimer);
      if (silenceTimer) clearInterval(silenceTimer);
      await pool.stop();
      // Closes held in the flap window are real closes: emit them before anything else stops.
      tracker.flush();
      // With a store, open incidents stay open across a restart (the next start recovers them);
      // without one they would be lost, so they close now.
      if (!store) for (const id of streams.keys()) tracker.closeStream(id, statuses.get(id)?.status.mediaTime ?? 0);
      await notifier.stop({ drainMs: 2000 });
    },
    addStream(s) {
      monitorStream(s);
      persist('saving a stream', (st) => st.upsertStream(s, 'api'));
    },
    removeStream(id) {
      if (!streams.has(id)) return;
      pool.remove(id);
      tracker.closeStream(id, statuses.get(id)?.status.mediaTime ?? 0);
      for (const inc of [...recovered.values()]) if (inc.streamId === id) closeRecovered(inc, 'stream removed');
      streams.delete(id);
      statuses.delete(id);
      latestThumb.delete(id);
      persist('removing a stream', (st) => st.removeStream(id));
    },
    streams() {
      return [...streams.values()].map((s) => ({
        id: s.id,
        name: s.name ?? s.id,
        url: s.url,
        tags: s.tags,
        status: statuses.get(s.id)?.status,
        gauges: statuses.get(s.id)?.gauges ?? {},
        openIncidents: withRecovered(s.id),
      }));
    },
    openIncidents: (id) => withRecovered(id),
    incidents: () => {
      if (!store) return [...history.values()].reverse();
      let items: Incident[] = [];
      persist('listing incidents', (st) => (items = st.listIncidents({ limit: HISTORY_LIMIT }).items));
      return items;
    },
    incident: (id) => findIncident(id),
    queryIncidents: (filter) => {
      if (store) {
        let page: IncidentPage = { items: [], total: 0 };
        persist('querying incidents', (st) => (page = st.listIncidents(filter)));
        return page;
      }
      const since = filter.since !== undefined ? Date.parse(filter.since) : undefined;
      const matching = [...history.values()].reverse().filter(
        (i) =>
          (filter.stream === undefined || i.streamId === filter.stream) &&
          (filter.type === undefined || i.type === filter.type) &&
          (filter.state === undefined || i.state === filter.state) &&
          (since === undefined ||
            i.state === 'open' ||
            Date.parse(i.openedAt) >= since ||
            (i.closedAt !== undefined && Date.parse(i.closedAt) >= since)),
      );
      const offset = filter.offset ?? 0;
      return { items: matching.slice(offset, offset + (filter.limit ?? 100)), total: matching.length };
    },
    incidentClip: (id) => {
      if (!store) return clips.get(id);
      let clip: StoredClip | undefined;
      persist('reading a clip', (st) => (clip = st.getClip(id)));
      return clip;
    },
    acknowledge: (id, by, note) => {
      const inc = findIncident(id);
      if (!inc) return 'unknown';
      const a = annotation(id);
      if (a.acknowledged) return 'already';
      a.acknowledged = { by, at: new Date().toISOString(), ...(note ? { note } : {}) };
      const updated = update(inc);
      // A silenced incident was never announced: its acknowledgement is not either.
      if (a.notified !== false) notifier.publish({ kind: 'incident.acknowledged', incident: updated, ack: a.acknowledged });
      return updated;
    },
    listSilences: (states) => silences.list(states),
    addSilence: (input) => silences.add(input),
    removeSilence: (id) => {
      const result = silences.remove(id);
      if (result === 'removed') releaseSilenced();
      return result;
    },
    silencedCount: () => silencedTotal,
    placement: () => pool.placement(),
    streamThumbnail: (id) => latestThumb.get(id),
    incidentThumbnail: (id, at) => {
      if (!store) return evidence.get(id)?.[at];
      let jpeg: Uint8Array | undefined;
      persist('reading a thumbnail', (st) => (jpeg = st.getThumbnail(id, at)));
      return jpeg;
    },
    ready: () => started && !stopped && pool.placement().some((p) => p.pid !== undefined),
  };
  return app;
}

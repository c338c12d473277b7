import { availableParallelism } from 'node:os';
import type { StreamConfig, VigilConfig } from './config/index.ts';
import type { DetectorOverrides } from './detect/index.ts';
import type { StreamAssignment } from './engine/index.ts';
import { WorkerPool } from './engine/index.ts';
import { IncidentTracker } from './incidents/index.ts';
import type { SourceStatus } from './ingest/index.ts';
import { Notifier, createSinks } from './notify/index.ts';
import { EventBus, createLogger, type Incident, type IncidentEvent, type Logger } from './shared/index.ts';

export interface StreamState {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly tags: readonly string[];
  readonly status: SourceStatus | undefined;
  readonly gauges: Readonly<Record<string, number>>;
  readonly openIncidents: readonly Incident[];
}

export interface AppEvents extends Record<string, unknown> {
  incident: IncidentEvent;
  status: { id: string; status: SourceStatus; gauges: Record<string, number> };
}

export interface BuildAppOptions {
  readonly logger?: Logger;
  /** Where the console sink prints (default stdout). */
  readonly consoleStream?: NodeJS.WritableStream;
  /** Worker count override (tests). */
  readonly workers?: number;
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
   * Incident history, newest first: open ones and the most recently closed (bounded, in
   * memory until the store lands). Each id appears once, in its latest state.
   */
  incidents(): Incident[];
  /** Latest live thumbnail (JPEG) of a stream. */
  streamThumbnail(id: string): Uint8Array | undefined;
  /** Evidence JPEG of an incident: at onset, or after it closed. */
  incidentThumbnail(id: string, at: 'onset' | 'close'): Uint8Array | undefined;
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
    sinks: createSinks(config.notify, { logger, ...(opts.consoleStream ? { consoleStream: opts.consoleStream } : {}) }),
    logger,
  });
  // Latest state of each incident, newest first by insertion; bounded so a flood cannot grow memory.
  const history = new Map<string, Incident>();
  const HISTORY_LIMIT = 10_000;
  // Thumbnails: the latest per stream, and evidence per incident (bounded like the history).
  const latestThumb = new Map<string, Uint8Array>();
  const evidence = new Map<string, { onset?: Uint8Array; close?: Uint8Array }>();
  const publicBase = config.server.publicUrl?.replace(/\/$/, '') ?? '';
  function keepEvidence(incidentId: string, at: 'onset' | 'close', jpeg: Uint8Array): void {
    const e = evidence.get(incidentId) ?? {};
    if (e[at]) return;
    e[at] = jpeg;
    evidence.set(incidentId, e);
    if (evidence.size > HISTORY_LIMIT) evidence.delete(evidence.keys().next().value as string);
  }
  const tracker = new IncidentTracker({
    thumbnailUrl: (id) => `${publicBase}/api/incidents/${id}/thumbnail`,
    streamInfo: (id) => {
      const s = streams.get(id);
      return s ? { name: s.name ?? s.id, tags: s.tags } : undefined;
    },
    onEvent: (e) => {
      // A lost signal has no frame after its onset: the last live picture is the evidence.
      if (e.kind === 'incident.opened' && e.incident.type === 'signal_loss') {
        const last = latestThumb.get(e.incident.streamId);
        if (last) keepEvidence(e.incident.id, 'onset', last);
      }
      history.delete(e.incident.id);
      history.set(e.incident.id, e.incident);
      if (history.size > HISTORY_LIMIT) history.delete(history.keys().next().value as string);
      notifier.publish(e);
      events.emit('incident', e);
    },
  });
  const size = opts.workers ?? (config.workers === 'auto' ? availableParallelism() : config.workers);
  const pool = new WorkerPool({
    size,
    logger,
    env: { VIGIL_LOG_LEVEL: config.logLevel },
    onEdge: (edge) => {
      if (streams.has(edge.streamId)) tracker.handle(edge);
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
          const inc = [...history.values()].reverse().find((i) => match(i) && i.state === 'closed');
          if (inc) keepEvidence(inc.id, 'close', thumb.jpeg);
        }
      }
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
    return {
      id: s.id,
      url: s.url,
      detectors: [config.detectors as DetectorOverrides, s.detectors as DetectorOverrides | undefined],
      signalLossAfter: s.ingest?.signalLossAfter ?? config.ingest.signalLossAfter,
      signalRecovery: s.ingest?.signalRecovery ?? config.ingest.signalRecovery,
      reconnectMaxDelay: s.ingest?.reconnectMaxDelay ?? config.ingest.reconnectMaxDelay,
      thumbnailInterval: s.ingest?.thumbnailInterval ?? config.ingest.thumbnailInterval,
    };
  }

  let started = false;
  let stopped = false;
  const app: VigilApp = {
    events,
    start() {
      if (started) return Promise.resolve();
      started = true;
      pool.start();
      for (const s of config.streams) app.addStream(s);
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      await pool.stop();
      for (const id of streams.keys()) tracker.closeStream(id, statuses.get(id)?.status.mediaTime ?? 0);
      await notifier.stop({ drainMs: 2000 });
    },
    addStream(s) {
      if (streams.has(s.id)) throw new Error(`stream ${s.id} already exists`);
      streams.set(s.id, s);
      pool.add(assignment(s));
    },
    removeStream(id) {
      if (!streams.has(id)) return;
      pool.remove(id);
      tracker.closeStream(id, statuses.get(id)?.status.mediaTime ?? 0);
      streams.delete(id);
      statuses.delete(id);
      latestThumb.delete(id);
    },
    streams() {
      return [...streams.values()].map((s) => ({
        id: s.id,
        name: s.name ?? s.id,
        url: s.url,
        tags: s.tags,
        status: statuses.get(s.id)?.status,
        gauges: statuses.get(s.id)?.gauges ?? {},
        openIncidents: tracker.openIncidents(s.id),
      }));
    },
    openIncidents: (id) => tracker.openIncidents(id),
    incidents: () => [...history.values()].reverse(),
    placement: () => pool.placement(),
    streamThumbnail: (id) => latestThumb.get(id),
    incidentThumbnail: (id, at) => evidence.get(id)?.[at],
    ready: () => started && !stopped && pool.placement().some((p) => p.pid !== undefined),
  };
  return app;
}

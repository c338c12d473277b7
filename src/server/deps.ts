import type { StreamConfig } from '../config/index.ts';
import type { SourceStatus } from '../ingest/index.ts';
import type { Silence, SilenceInput, SilenceState } from '../notify/index.ts';
import type { Incident, IncidentEvent, IncidentType } from '../shared/index.ts';

/** A stream as the server reads it (structurally the app's StreamState). */
export interface ServerStreamState {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly tags: readonly string[];
  /** Undefined until the worker reports the first status. */
  readonly status: SourceStatus | undefined;
  readonly gauges: Readonly<Record<string, number>>;
  readonly openIncidents: readonly Incident[];
}

export interface ServerEvents {
  incident: IncidentEvent;
  /** Acknowledged, released from a silence, or its evidence clip is ready. */
  incidentUpdate: Incident;
  status: { id: string; status: SourceStatus; gauges: Record<string, number> };
}

export type MaybePromise<T> = T | Promise<T>;

export interface IncidentQueryFilter {
  readonly stream?: string;
  readonly type?: IncidentType;
  readonly state?: 'open' | 'closed';
  readonly since?: string;
  readonly limit: number;
  readonly offset: number;
}

/**
 * What the HTTP API needs from the running monitor, and nothing more. The composition root
 * (src/app.ts) satisfies it with the VigilApp plus a `ready()` check; the server never
 * imports the app, so the dependency points one way.
 */
export interface ServerDeps {
  /** Every configured stream with its latest status. */
  streams(): readonly ServerStreamState[];
  /**
   * Incident history, newest first, each id once in its latest state (the newest 10 000). The
   * routes no longer read it: they use incident() and queryIncidents(), which reach every row.
   */
  incidents(): readonly Incident[];
  /** Starts monitoring a stream at run time; throws if the id exists. */
  addStream(stream: StreamConfig): void;
  /** Stops monitoring a stream and closes its incidents; no-op for an unknown id. */
  removeStream(id: string): void;
  /** Latest live thumbnail (JPEG bytes) of a stream, if one was taken yet. */
  streamThumbnail(id: string): Uint8Array | undefined;
  /** Evidence JPEG of an incident: at onset, or after it closed. */
  incidentThumbnail(id: string, at: 'onset' | 'close'): Uint8Array | undefined;
  /** True once the app is started and its worker pool is up (readiness probe). */
  ready(): boolean;
  // The incident and clip reads and the acknowledgement may answer with a Promise: the routes
  // await them, so an asynchronous store (PostgreSQL) can back them without changing the API.
  /** One incident in its latest state. */
  incident(id: string): MaybePromise<Incident | undefined>;
  /** Filtered, paginated history, newest first (in SQL with a store). */
  queryIncidents(filter: IncidentQueryFilter): MaybePromise<{ items: readonly Incident[]; total: number }>;
  /** Evidence clip bytes of an incident, once cut. */
  incidentClip(
    id: string,
  ): MaybePromise<{ mime: string; start: number; duration: number; data: Uint8Array } | undefined>;
  acknowledge(id: string, by: string, note?: string): MaybePromise<Incident | 'unknown' | 'already'>;
  listSilences(states?: readonly SilenceState[]): Silence[];
  addSilence(input: SilenceInput): Silence;
  removeSilence(id: string): 'removed' | 'unknown' | 'read-only';
  /** Incidents whose notifications a silence held back, since start. */
  silencedCount(): number;
  /** Subscribe; the returned function unsubscribes. */
  readonly events: {
    on<K extends keyof ServerEvents>(event: K, listener: (payload: ServerEvents[K]) => void): () => void;
  };
}

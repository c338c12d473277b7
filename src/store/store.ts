import type { StreamConfig } from '../config/index.ts';
import type { Incident, IncidentType } from '../shared/index.ts';

/** Where a persisted stream came from. Config streams are re-read from the file at each start. */
export type StreamSource = 'config' | 'api';

export interface StoredStream {
  readonly id: string;
  readonly config: StreamConfig;
  readonly source: StreamSource;
  /** Wall time (ISO 8601) of the first add. */
  readonly addedAt: string;
}

export interface IncidentFilter {
  readonly stream?: string;
  readonly type?: IncidentType;
  readonly state?: 'open' | 'closed';
  /**
   * ISO 8601 (or anything Date.parse reads): incidents still open, or opened or closed at or
   * after this instant (the same rule as the HTTP API's `since`).
   */
  readonly since?: string;
  /** Default 100. */
  readonly limit?: number;
  readonly offset?: number;
}

export interface IncidentPage {
  /** Newest first (by openedAt, then by insertion). */
  readonly items: Incident[];
  /** How many match the filter, ignoring limit and offset. */
  readonly total: number;
}

export type ThumbnailAt = 'onset' | 'close';

/** A silence rule or maintenance window (structurally the notify module's Silence). */
export interface StoredSilence {
  readonly id: string;
  readonly stream?: string;
  readonly tag?: string;
  readonly type?: IncidentType;
  /** ISO 8601. */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly comment?: string;
  readonly createdBy?: string;
  readonly createdAt: string;
  readonly source: 'api' | 'config';
}

/** An evidence clip: original packets around an incident's onset, remuxed without re-encoding. */
export interface StoredClip {
  /** e.g. video/mp2t */
  readonly mime: string;
  /** Media time (s) of the clip's first packet, on the stream's timeline. */
  readonly start: number;
  readonly duration: number;
  readonly data: Uint8Array;
}

/** A notification outbox event (structurally the notify module's NotifyEvent). */
export interface OutboxEvent {
  readonly kind: string;
  readonly incident: Incident;
}

/**
 * The durable notification outbox (table `outbox`), one row per (sink, idempotency key).
 * Structurally the notify module's OutboxStore, so the app hands `store.outbox` to the Notifier
 * (store and notify do not import each other). Writes are durable on return.
 */
export interface OutboxTable {
  /** Inserts a pending row and returns its id (ids increase); an existing (sink, key) is left as is and its id returned. */
  enqueue(sink: string, key: string, event: OutboxEvent): number;
  delivered(id: number): void;
  dropped(id: number, reason: string): void;
  /** Pending rows of `sink`, in enqueue order, each event as it was enqueued (E: the enqueuer's event type). */
  pending<E extends OutboxEvent = OutboxEvent>(sink: string): { id: number; event: E }[];
  /** Counts a failed delivery attempt. */
  failedAttempt(id: number): void;
  /** Deletes delivered and dropped rows beyond the retention (age and row cap); returns how many. */
  prune(): number;
}

/**
 * Persistence for streams added at run time, incidents and their evidence. One interface so
 * that another backend (PostgreSQL) can follow the SQLite one.
 *
 * Synchronous on purpose: the app saves an incident before it notifies, inside the incident
 * tracker's synchronous callback, and the HTTP API reads incidents synchronously. A network
 * backend will need an async variant of this interface; the HTTP routes already await the
 * incident, page, clip and acknowledge reads (ServerDeps), so the change stays in app.ts.
 */
export interface Store {
  /** Insert or replace a stream by id. `addedAt` is kept from the first insert. */
  upsertStream(stream: StreamConfig, source: StreamSource): void;
  /** No-op for an unknown id. */
  removeStream(id: string): void;
  /** In insertion order. */
  listStreams(): StoredStream[];

  /** Insert, or update by id (an incident is saved at open, at close, and on any change). Durable on return. */
  saveIncident(incident: Incident): void;
  getIncident(id: string): Incident | undefined;
  listIncidents(filter?: IncidentFilter): IncidentPage;

  /** Evidence JPEG; the first one saved for (incident, at) wins. */
  saveThumbnail(incidentId: string, at: ThumbnailAt, jpeg: Uint8Array): void;
  getThumbnail(incidentId: string, at: ThumbnailAt): Uint8Array | undefined;

  /** Durable notification outbox. */
  readonly outbox: OutboxTable;

  /** Insert or replace a silence rule by id. */
  saveSilence(silence: StoredSilence): void;
  /** False for an unknown id. */
  deleteSilence(id: string): boolean;
  /** Silences ending after `endsAfter` (ISO 8601; default: all), by start. Expired rows older than 7 days are pruned. */
  listSilences(endsAfter?: string): StoredSilence[];

  /** Evidence clip of an incident; the first one saved wins. Kept for the same newest incidents as thumbnails. */
  saveClip(incidentId: string, clip: StoredClip): void;
  getClip(incidentId: string): StoredClip | undefined;

  close(): void;
}

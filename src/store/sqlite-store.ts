import Database from 'better-sqlite3';
import type { StreamConfig } from '../config/index.ts';
import type { Incident } from '../shared/index.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';
import type {
  IncidentFilter,
  IncidentPage,
  OutboxEvent,
  OutboxTable,
  Store,
  StoredClip,
  StoredSilence,
  StoredStream,
  StreamSource,
  ThumbnailAt,
} from './store.ts';

export interface OpenStoreOptions {
  /** Keep evidence pictures of this many newest incidents (default 10 000); older ones are deleted. */
  readonly thumbnailRetention?: number;
  /** Keep delivered and dropped outbox rows this many days (default 7). Pending rows are always kept. */
  readonly outboxRetentionDays?: number;
  /** Keep at most this many delivered and dropped outbox rows, the newest (default 10 000). */
  readonly outboxRetentionRows?: number;
  /** Keep evidence clips of this many newest incidents (default 200: a 10 s clip of a 4 Mb/s stream is ~5 MB). */
  readonly clipRetention?: number;
  /** The migrations to apply (tests open a DB at an older version). Default: all. */
  readonly migrations?: readonly Migration[];
}

interface IncidentRow {
  json: string;
}

/** Applies the pending migrations in one transaction; returns the schema version after. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const run = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    const known = migrations.at(-1)?.version ?? 0;
    if (current > known) {
      throw new Error(`database schema version ${current} is newer than this Vigil knows (${known}); upgrade Vigil`);
    }
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of migrations) {
      if (m.version <= current) continue;
      m.up(db);
      insert.run(m.version, m.name, new Date().toISOString());
    }
    return Math.max(current, known);
  });
  // IMMEDIATE: a second process opening the same file waits instead of migrating twice.
  return run.immediate();
}

/**
 * Opens (creating if needed) a SQLite store at `path`, or an in-memory one for ':memory:'.
 * WAL journal, synchronous=FULL: every committed incident write is on disk when the call
 * returns, so neither kill -9 nor a power cut right after an incident event loses it.
 */
export function openStore(path: string, opts: OpenStoreOptions = {}): Store {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    migrate(db, opts.migrations);
    const outbox = new SqliteOutbox(db, opts.outboxRetentionDays ?? 7, opts.outboxRetentionRows ?? 10_000);
    outbox.prune();
    return new SqliteStore(db, opts.thumbnailRetention ?? 10_000, outbox, opts.clipRetention ?? 200);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The `outbox` table (migration 3). */
class SqliteOutbox implements OutboxTable {
  private readonly stmts;
  private doneSincePrune = 0;

  constructor(
    db: Database.Database,
    private readonly retentionDays: number,
    private readonly retentionRows: number,
  ) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO outbox (sink, key, event, state, attempts, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (sink, key) DO NOTHING`,
      ),
      idOf: db.prepare('SELECT id FROM outbox WHERE sink = ? AND key = ?'),
      finish: db.prepare(`UPDATE outbox SET state = ?, reason = ?, updated_at = ? WHERE id = ? AND state = 'pending'`),
      attempt: db.prepare('UPDATE outbox SET attempts = attempts + 1, updated_at = ? WHERE id = ?'),
      pending: db.prepare(`SELECT id, event FROM outbox WHERE sink = ? AND state = 'pending' ORDER BY id`),
      pruneOld: db.prepare(`DELETE FROM outbox WHERE state != 'pending' AND updated_at < ?`),
      pruneCap: db.prepare(
        `DELETE FROM outbox WHERE state != 'pending' AND id NOT IN (
           SELECT id FROM outbox WHERE state != 'pending' ORDER BY id DESC LIMIT ?)`,
      ),
    };
  }

  enqueue(sink: string, key: string, event: OutboxEvent): number {
    const now = new Date().toISOString();
    const res = this.stmts.insert.run(sink, key, JSON.stringify(event), now, now);
    if (res.changes > 0) return Number(res.lastInsertRowid);
    const row = this.stmts.idOf.get(sink, key) as { id: number } | undefined;
    if (!row) throw new Error(`outbox: no row for ${sink} ${key}`);
    return row.id;
  }

  delivered(id: number): void {
    this.finish(id, 'delivered', null);
  }

  dropped(id: number, reason: string): void {
    this.finish(id, 'dropped', reason);
  }

  failedAttempt(id: number): void {
    this.stmts.attempt.run(new Date().toISOString(), id);
  }

  pending<E extends OutboxEvent = OutboxEvent>(sink: string): { id: number; event: E }[] {
    const rows = this.stmts.pending.all(sink) as { id: number; event: string }[];
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.event) as E }));
  }

  prune(): number {
    const cutoff = new Date(Date.now() - this.retentionDays * 86_400_000).toISOString();
    const old = this.stmts.pruneOld.run(cutoff).changes;
    return old + this.stmts.pruneCap.run(Math.max(0, Math.floor(this.retentionRows))).changes;
  }

  private finish(id: number, state: 'delivered' | 'dropped', reason: string | null): void {
    this.stmts.finish.run(state, reason, new Date().toISOString(), id);
    // Bounded retention, amortised like the thumbnails'.
    if (++this.doneSincePrune >= 100) {
      this.doneSincePrune = 0;
      this.prune();
    }
  }
}

function toIso(since: string): string {
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new Error(`since: expected a date, got "${since}"`);
  return new Date(t).toISOString();
}

class SqliteStore implements Store {
  private readonly stmts;
  private thumbsSincePrune = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly thumbnailRetention: number,
    readonly outbox: OutboxTable,
    private readonly clipRetention = 200,
  ) {
    this.stmts = {
      upsertStream: db.prepare(
        `INSERT INTO streams (id, config, added_at, source) VALUES (@id, @config, @addedAt, @source)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, source = excluded.source`,
      ),
      removeStream: db.prepare('DELETE FROM streams WHERE id = ?'),
      listStreams: db.prepare('SELECT id, config, added_at, source FROM streams ORDER BY rowid'),
      saveIncident: db.prepare(
        `INSERT INTO incidents (id, stream_id, type, channel, state, start, end, opened_at, closed_at, severity, occurrences, measurements, json)
         VALUES (@id, @streamId, @type, @channel, @state, @start, @end, @openedAt, @closedAt, @severity, @occurrences, @measurements, @json)
         ON CONFLICT (id) DO UPDATE SET
           stream_id = excluded.stream_id, type = excluded.type, channel = excluded.channel, state = excluded.state,
           start = excluded.start, end = excluded.end, opened_at = excluded.opened_at, closed_at = excluded.closed_at,
           severity = excluded.severity, occurrences = excluded.occurrences, measurements = excluded.measurements,
           json = excluded.json`,
      ),
      getIncident: db.prepare('SELECT json FROM incidents WHERE id = ?'),
      saveThumbnail: db.prepare('INSERT OR IGNORE INTO thumbnails (incident_id, at, jpeg) VALUES (?, ?, ?)'),
      getThumbnail: db.prepare('SELECT jpeg FROM thumbnails WHERE incident_id = ? AND at = ?'),
      pruneThumbnails: db.prepare(
        `DELETE FROM thumbnails WHERE incident_id NOT IN (
           SELECT id FROM incidents ORDER BY opened_at DESC, rowid DESC LIMIT ?)`,
      ),
      saveSilence: db.prepare(
        `INSERT INTO silences (id, starts_at, ends_at, json) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, json = excluded.json`,
      ),
      deleteSilence: db.prepare('DELETE FROM silences WHERE id = ?'),
      listSilences: db.prepare('SELECT json FROM silences WHERE ends_at > ? ORDER BY starts_at, id'),
      pruneSilences: db.prepare('DELETE FROM silences WHERE ends_at < ?'),
      saveClip: db.prepare(
        'INSERT OR IGNORE INTO clips (incident_id, mime, start, duration, data) VALUES (?, ?, ?, ?, ?)',
      ),
      getClip: db.prepare('SELECT mime, start, duration, data FROM clips WHERE incident_id = ?'),
      pruneClips: db.prepare(
        `DELETE FROM clips WHERE incident_id NOT IN (
           SELECT id FROM incidents ORDER BY opened_at DESC, rowid DESC LIMIT ?)`,
      ),
    };
  }

  upsertStream(stream: StreamConfig, source: StreamSource): void {
    this.stmts.upsertStream.run({
      id: stream.id,
      config: JSON.stringify(stream),
      addedAt: new Date().toISOString(),
      source,
    });
  }

  removeStream(id: string): void {
    this.stmts.removeStream.run(id);
  }

  listStreams(): StoredStream[] {
    const rows = this.stmts.listStreams.all() as {
      id: string;
      config: string;
      added_at: string;
      source: StreamSource;
    }[];
    return rows.map((r) => ({
      id: r.id,
      config: JSON.parse(r.config) as StreamConfig,
      source: r.source,
      addedAt: r.added_at,
    }));
  }

  saveIncident(i: Incident): void {
    this.stmts.saveIncident.run({
      id: i.id,
      streamId: i.streamId,
      type: i.type,
      channel: i.channel ?? null,
      state: i.state,
      start: i.start,
      end: i.end ?? null,
      openedAt: i.openedAt,
      closedAt: i.closedAt ?? null,
      severity: i.severity,
      occurrences: i.occurrences,
      measurements: JSON.stringify(i.measurements),
      json: JSON.stringify(i),
    });
  }

  getIncident(id: string): Incident | undefined {
    const row = this.stmts.getIncident.get(id) as IncidentRow | undefined;
    return row ? (JSON.parse(row.json) as Incident) : undefined;
  }

  listIncidents(filter: IncidentFilter = {}): IncidentPage {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.stream !== undefined) {
      where.push('stream_id = @stream');
      params.stream = filter.stream;
    }
    if (filter.type !== undefined) {
      where.push('type = @type');
      params.type = filter.type;
    }
    if (filter.state !== undefined) {
      where.push('state = @state');
      params.state = filter.state;
    }
    if (filter.since !== undefined) {
      where.push("(state = 'open' OR opened_at >= @since OR closed_at >= @since)");
      params.since = toIso(filter.since);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.max(0, Math.floor(filter.limit ?? 100));
    const offset = Math.max(0, Math.floor(filter.offset ?? 0));
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM incidents ${clause}`).get(params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT json FROM incidents ${clause} ORDER BY opened_at DESC, rowid DESC LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit, offset }) as IncidentRow[];
    return { items: rows.map((r) => JSON.parse(r.json) as Incident), total };
  }

  saveThumbnail(incidentId: string, at: ThumbnailAt, jpeg: Uint8Array): void {
    this.stmts.saveThumbnail.run(incidentId, at, Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
    // Bounded retention: amortised, so a flood of incidents does not make each save a scan.
    if (++this.thumbsSincePrune >= Math.min(100, Math.max(1, Math.floor(this.thumbnailRetention / 10)))) {
      this.thumbsSincePrune = 0;
      this.stmts.pruneThumbnails.run(this.thumbnailRetention);
    }
  }

  getThumbnail(incidentId: string, at: ThumbnailAt): Uint8Array | undefined {
    const row = this.stmts.getThumbnail.get(incidentId, at) as { jpeg: Buffer } | undefined;
    return row ? new Uint8Array(row.jpeg.buffer, row.jpeg.byteOffset, row.jpeg.byteLength) : undefined;
  }

  saveSilence(s: StoredSilence): void {
    this.stmts.saveSilence.run(s.id, toIso(s.startsAt), toIso(s.endsAt), JSON.stringify(s));
  }

  deleteSilence(id: string): boolean {
    return this.stmts.deleteSilence.run(id).changes > 0;
  }

  listSilences(endsAfter?: string): StoredSilence[] {
    this.stmts.pruneSilences.run(new Date(Date.now() - 7 * 86_400_000).toISOString());
    const after = endsAfter !== undefined ? toIso(endsAfter) : '';
    return (this.stmts.listSilences.all(after) as { json: string }[]).map((r) => JSON.parse(r.json) as StoredSilence);
  }

  saveClip(incidentId: string, clip: StoredClip): void {
    const d = clip.data;
    this.stmts.saveClip.run(incidentId, clip.mime, clip.start, clip.duration, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    // Clips are larger than thumbnails: prune on every save (one indexed delete).
    this.stmts.pruneClips.run(this.clipRetention);
  }

  getClip(incidentId: string): StoredClip | undefined {
    const row = this.stmts.getClip.get(incidentId) as
      | { mime: string; start: number; duration: number; data: Buffer }
      | undefined;
    if (!row) return undefined;
    return {
      mime: row.mime,
      start: row.start,
      duration: row.duration,
      data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

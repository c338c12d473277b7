import type { Database } from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, … in order; never renumber, never edit one that shipped: add the next. */
  readonly version: number;
  readonly name: string;
  readonly up: (db: Database) => void;
}

/** The SQLite schema, as an ordered list of migrations. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'streams and incidents',
    up: (db) =>
      db.exec(`
        CREATE TABLE streams (
          id       TEXT PRIMARY KEY,
          config   TEXT NOT NULL,              -- StreamConfig as JSON
          added_at TEXT NOT NULL,              -- ISO 8601
          source   TEXT NOT NULL CHECK (source IN ('config', 'api'))
        );
        CREATE TABLE incidents (
          id           TEXT PRIMARY KEY,
          stream_id    TEXT NOT NULL,
          type         TEXT NOT NULL,
          channel      TEXT,
          state        TEXT NOT NULL CHECK (state IN ('open', 'closed')),
          start        REAL NOT NULL,          -- media time (s)
          end          REAL,
          opened_at    TEXT NOT NULL,          -- ISO 8601, UTC (sorts as text)
          closed_at    TEXT,
          severity     TEXT NOT NULL,
          occurrences  INTEGER NOT NULL,
          measurements TEXT NOT NULL,          -- JSON object
          json         TEXT NOT NULL           -- the whole Incident as JSON
        );
        CREATE INDEX incidents_opened_at ON incidents (opened_at DESC);
      `),
  },
  {
    version: 2,
    name: 'thumbnails; incident indexes for the API filters',
    up: (db) =>
      db.exec(`
        CREATE TABLE thumbnails (
          incident_id TEXT NOT NULL,
          at          TEXT NOT NULL CHECK (at IN ('onset', 'close')),
          jpeg        BLOB NOT NULL,
          PRIMARY KEY (incident_id, at)
        ) WITHOUT ROWID;
        CREATE INDEX incidents_stream ON incidents (stream_id, opened_at DESC);
        CREATE INDEX incidents_state ON incidents (state);
      `),
  },
  {
    version: 3,
    name: 'durable notification outbox',
    up: (db) =>
      db.exec(`
        CREATE TABLE outbox (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          sink       TEXT NOT NULL,
          key        TEXT NOT NULL,              -- idempotency key: <incident id>:<kind>
          event      TEXT NOT NULL,              -- IncidentEvent as JSON
          state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dropped')),
          attempts   INTEGER NOT NULL DEFAULT 0, -- failed delivery attempts
          reason     TEXT,                       -- why it was dropped
          created_at TEXT NOT NULL,              -- ISO 8601, UTC
          updated_at TEXT NOT NULL,
          UNIQUE (sink, key)
        );
        CREATE INDEX outbox_pending ON outbox (sink, state, id);
        CREATE INDEX outbox_done ON outbox (state, updated_at);
      `),
  },
  {
    version: 4,
    name: 'silences and maintenance windows; evidence clips; indexes for the incident filters',
    up: (db) =>
      db.exec(`
        CREATE TABLE silences (
          id         TEXT PRIMARY KEY,
          starts_at  TEXT NOT NULL,              -- ISO 8601, UTC
          ends_at    TEXT NOT NULL,
          json       TEXT NOT NULL               -- the whole Silence as JSON
        );
        CREATE INDEX silences_ends_at ON silences (ends_at);
        CREATE TABLE clips (
          incident_id TEXT PRIMARY KEY,
          mime        TEXT NOT NULL,
          start       REAL NOT NULL,             -- media time (s) of the clip's first packet
          duration    REAL NOT NULL,             -- seconds
          data        BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX incidents_type ON incidents (type, opened_at DESC);
        CREATE INDEX incidents_state_opened ON incidents (state, opened_at DESC);
        CREATE INDEX incidents_closed_at ON incidents (closed_at);
      `),
  },
];

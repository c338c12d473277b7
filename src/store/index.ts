/**
 * Store: persistence of streams added at run time, incidents and their evidence pictures.
 * One interface (Store), one implementation today (SQLite through better-sqlite3).
 */
export type {
  Store,
  OutboxTable,
  StoredStream,
  StreamSource,
  IncidentFilter,
  IncidentPage,
  ThumbnailAt,
  StoredSilence,
  StoredClip,
  OutboxEvent,
} from './store.ts';
export { openStore, migrate } from './sqlite-store.ts';
export type { OpenStoreOptions } from './sqlite-store.ts';
export { MIGRATIONS } from './migrations.ts';
export type { Migration } from './migrations.ts';

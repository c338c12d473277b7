import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { MIGRATIONS, migrate, openStore } from '../../src/store/index.ts';
import { storeFixture } from '../helpers/store.ts';

const stream = (id: string, url = `udp://127.0.0.1:${5000}`) => parseConfig({ streams: [{ id, url, tags: ['t'] }] }).streams[0]!;

function incident(id: string, over: Partial<Incident> = {}): Incident {
  return {
    id,
    streamId: 's1',
    streamName: 'S1',
    tags: ['news'],
    type: 'black',
    severity: 'critical',
    state: 'open',
    start: 12.5,
    openedAt: '2026-11-01T10:00:00.000Z',
    occurrences: 1,
    measurements: { meanLuma: 16.1 },
    thumbnailUrl: `/api/incidents/${id}/thumbnail`,
    ...over,
  };
}

const { tmpDb, open } = storeFixture('vigil-store-');

describe('SQLite store', () => {
  it('streams: upsert keeps addedAt and order, remove, list', () => {
    const s = open();
    s.upsertStream(stream('a'), 'api');
    s.upsertStream(stream('b'), 'config');
    const first = s.listStreams();
    expect(first.map((x) => [x.id, x.source])).toEqual([
      ['a', 'api'],
      ['b', 'config'],
    ]);
    s.upsertStream(stream('a', 'udp://127.0.0.1:6000'), 'api');
    const again = s.listStreams();
    expect(again[0]!.config.url).toBe('udp://127.0.0.1:6000');
    expect(again[0]!.addedAt).toBe(first[0]!.addedAt);
    expect(again[0]!.config).toEqual({ ...stream('a'), url: 'udp://127.0.0.1:6000' });
    s.removeStream('a');
    s.removeStream('nope');
    expect(s.listStreams().map((x) => x.id)).toEqual(['b']);
  });

  it('incidents: insert, update by id, get round-trips the whole incident', () => {
    const s = open();
    const inc = incident('i1', { channel: 'FL', confidence: 0.9 });
    s.saveIncident(inc);
    expect(s.getIncident('i1')).toEqual(inc);
    const closed: Incident = { ...inc, state: 'closed', end: 20, closedAt: '2026-11-01T10:00:08.000Z', measurements: { meanLuma: 16, closedBy: 'x' } };
    s.saveIncident(closed);
    expect(s.getIncident('i1')).toEqual(closed);
    expect(s.listIncidents().total).toBe(1);
    expect(s.getIncident('nope')).toBeUndefined();
  });

  it('incidents: filters (stream, type, state, since) and pagination, newest first', () => {
    const s = open();
    for (let n = 0; n < 25; n++) {
      const openedAt = new Date(Date.UTC(2026, 10, 1, 10, 0, n)).toISOString();
      s.saveIncident(
        incident(`i${n}`, {
          streamId: n % 2 ? 's1' : 's2',
          type: n % 3 ? 'black' : 'silence',
          openedAt,
          ...(n < 20 ? { state: 'closed', end: 13, closedAt: new Date(Date.parse(openedAt) + 5000).toISOString() } : {}),
        }),
      );
    }
    const all = s.listIncidents({ limit: 100 });
    expect(all.total).toBe(25);
    expect(all.items[0]!.id).toBe('i24');
    expect(all.items.at(-1)!.id).toBe('i0');
    const page = s.listIncidents({ limit: 10, offset: 10 });
    expect(page.items.map((i) => i.id)).toEqual(['i14', 'i13', 'i12', 'i11', 'i10', 'i9', 'i8', 'i7', 'i6', 'i5']);
    expect(page.total).toBe(25);
    expect(s.listIncidents({ offset: 24 }).items.map((i) => i.id)).toEqual(['i0']);
    expect(s.listIncidents({ stream: 's1' }).total).toBe(12);
    expect(s.listIncidents({ type: 'silence' }).items.every((i) => i.type === 'silence')).toBe(true);
    expect(s.listIncidents({ type: 'silence' }).total).toBe(9);
    expect(s.listIncidents({ state: 'open' }).items.map((i) => i.id)).toEqual(['i24', 'i23', 'i22', 'i21', 'i20']);
    expect(s.listIncidents({ stream: 's1', state: 'open', type: 'black' }).items.map((i) => i.id)).toEqual(['i23']);
    // since: open ones, and those opened or closed at or after it. i13 closed at :18.
    const since = s.listIncidents({ since: '2026-11-01T10:00:18.000Z' });
    expect(since.items.map((i) => i.id)).toEqual(['i24', 'i23', 'i22', 'i21', 'i20', 'i19', 'i18', 'i17', 'i16', 'i15', 'i14', 'i13']);
    expect(() => s.listIncidents({ since: 'yesterday-ish' })).toThrow(/since/);
  });

  it('thumbnails: first one wins, bounded retention keeps the newest incidents', () => {
    const s = open(':memory:', { thumbnailRetention: 3 });
    const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n]);
    for (let n = 0; n < 6; n++) {
      s.saveIncident(incident(`i${n}`, { openedAt: new Date(Date.UTC(2026, 10, 1, 10, 0, n)).toISOString() }));
      s.saveThumbnail(`i${n}`, 'onset', jpeg(n));
    }
    s.saveThumbnail('i5', 'onset', jpeg(99));
    s.saveThumbnail('i5', 'close', jpeg(100));
    expect([...s.getThumbnail('i5', 'onset')!]).toEqual([0xff, 0xd8, 5]);
    expect([...s.getThumbnail('i5', 'close')!]).toEqual([0xff, 0xd8, 100]);
    expect(s.getThumbnail('i0', 'onset')).toBeUndefined();
    expect(s.getThumbnail('i1', 'onset')).toBeUndefined();
    expect(s.getThumbnail('i3', 'onset')).toBeDefined();
    expect(s.getThumbnail('nope', 'close')).toBeUndefined();
  });

  it('persists to a file in WAL mode with synchronous=FULL, and reopens', () => {
    const path = tmpDb();
    const s = openStore(path);
    s.saveIncident(incident('i1'));
    s.upsertStream(stream('a'), 'api');
    // Read it from a second connection while the first is still open (nothing buffered in process).
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((raw.prepare('SELECT id, state FROM incidents').get() as { id: string; state: string })).toEqual({ id: 'i1', state: 'open' });
    raw.close();
    s.close();
    const again = open(path);
    expect(again.getIncident('i1')).toEqual(incident('i1'));
    expect(again.listStreams().map((x) => x.id)).toEqual(['a']);
  });

  it('migrates a version-1 database to the latest, keeping its data', () => {
    const path = tmpDb();
    const v1 = new Database(path);
    expect(migrate(v1, MIGRATIONS.slice(0, 1))).toBe(1);
    v1.prepare(
      `INSERT INTO incidents (id, stream_id, type, channel, state, start, end, opened_at, closed_at, severity, occurrences, measurements, json)
       VALUES ('old', 's1', 'black', NULL, 'open', 1, NULL, '2026-11-01T10:00:00.000Z', NULL, 'critical', 1, '{}', ?)`,
    ).run(JSON.stringify(incident('old')));
    expect(v1.prepare("SELECT name FROM sqlite_master WHERE name = 'thumbnails'").get()).toBeUndefined();
    v1.close();

    const s = open(path);
    expect(s.getIncident('old')).toEqual(incident('old'));
    s.saveThumbnail('old', 'onset', new Uint8Array([1, 2, 3]));
    expect([...s.getThumbnail('old', 'onset')!]).toEqual([1, 2, 3]);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    raw.close();
  });

  it('refuses a database from a newer Vigil, and a re-open applies nothing twice', () => {
    const path = tmpDb();
    open(path).close();
    open(path).close();
    const raw = new Database(path);
    expect((raw.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    raw.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00.000Z')").run();
    raw.close();
    expect(() => openStore(path)).toThrow(/newer/);
  });

  it('a failed migration rolls back as a whole', () => {
    const path = tmpDb();
    const bad = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', up: (db: Database.Database) => db.exec('CREATE TABLE x (a); SELECT nonsense FROM nowhere') }];
    expect(() => openStore(path, { migrations: bad })).toThrow();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name IN ('streams', 'x')").all()).toEqual([]);
    raw.close();
  });
});

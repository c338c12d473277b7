import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { createServer } from '../../src/server/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function incident(i: number, over: Partial<Incident> = {}): Incident {
  return {
    id: `inc-${i}`,
    streamId: i % 2 === 0 ? 'a' : 'b',
    streamName: 'S',
    tags: [],
    type: i % 3 === 0 ? 'freeze' : 'black',
    severity: 'major',
    state: 'closed',
    start: i,
    end: i + 1,
    openedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    closedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000 + 5000).toISOString(),
    occurrences: 1,
    measurements: {},
    ...over,
  };
}

describe('incident filters run in the store', () => {
  it('finds an old incident behind more than 10 000 newer ones, through the HTTP API', async () => {
    const store = openStore(':memory:');
    stores.push(store);
    // The oldest: the only silence incident, on stream c.
    store.saveIncident(incident(0, { id: 'the-old-one', streamId: 'c', type: 'silence' }));
    for (let i = 1; i <= 12_000; i++) store.saveIncident(incident(i));
    const app = buildApp(parseConfig({ notify: { console: false } }), { store, workers: 1 });
    const server = createServer({ ...app, ready: () => true });
    try {
      const byStream = (await server.inject({ method: 'GET', url: '/api/incidents?stream=c' })).json<{ items: Incident[]; total: number }>();
      expect(byStream.total).toBe(1);
      expect(byStream.items[0]!.id).toBe('the-old-one');
      const byType = (await server.inject({ method: 'GET', url: '/api/incidents?type=silence' })).json<{ items: Incident[] }>();
      expect(byType.items.map((i) => i.id)).toEqual(['the-old-one']);
      // Pagination reaches the end of the whole table, not of the newest 10 000.
      const last = (await server.inject({ method: 'GET', url: '/api/incidents?limit=1&offset=12000' })).json<{ items: Incident[]; total: number }>();
      expect(last.total).toBe(12_001);
      expect(last.items[0]!.id).toBe('the-old-one');
      const one = await server.inject({ method: 'GET', url: '/api/incidents/the-old-one' });
      expect(one.statusCode).toBe(200);
      const since = (await server.inject({ method: 'GET', url: `/api/incidents?stream=a&since=${encodeURIComponent(incident(11_990).openedAt)}` })).json<{ total: number }>();
      expect(since.total).toBe(6); // a: even i in 11 990..12 000
    } finally {
      await server.close();
    }
  });

  it('uses an index for each filter', () => {
    const store = openStore(':memory:');
    stores.push(store);
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    expect(plan("SELECT json FROM incidents WHERE stream_id = 'a' ORDER BY opened_at DESC")).toMatch(/USING INDEX incidents_stream/);
    expect(plan("SELECT json FROM incidents WHERE type = 'black' ORDER BY opened_at DESC")).toMatch(/USING INDEX incidents_type/);
    expect(plan("SELECT json FROM incidents WHERE state = 'open' ORDER BY opened_at DESC")).toMatch(/USING INDEX incidents_state/);
  });
});

describe('silences and clips in the store', () => {
  it('persists silences, lists those ending after a time, deletes by id', () => {
    const store = openStore(':memory:');
    stores.push(store);
    const base = { createdAt: '2026-01-01T00:00:00.000Z', source: 'api' as const };
    store.saveSilence({ id: 's1', stream: 'a', startsAt: '2026-01-01T00:00:00Z', endsAt: '2099-01-01T00:00:00Z', ...base });
    store.saveSilence({ id: 's2', type: 'black', startsAt: '2026-01-01T00:00:00Z', endsAt: new Date(Date.now() - 3_600_000).toISOString(), ...base });
    expect(store.listSilences().map((s) => s.id).sort()).toEqual(['s1', 's2']);
    expect(store.listSilences(new Date().toISOString()).map((s) => s.id)).toEqual(['s1']);
    expect(store.deleteSilence('s1')).toBe(true);
    expect(store.deleteSilence('s1')).toBe(false);
  });

  it('keeps the first clip per incident and prunes beyond the retention', () => {
    const store = openStore(':memory:', { clipRetention: 2 });
    stores.push(store);
    for (let i = 0; i < 3; i++) store.saveIncident(incident(i));
    const clip = (b: number) => ({ mime: 'video/mp2t', start: 1, duration: 10, data: new Uint8Array([b]) });
    store.saveClip('inc-0', clip(1));
    store.saveClip('inc-1', clip(2));
    store.saveClip('inc-1', clip(3));
    expect([...store.getClip('inc-1')!.data]).toEqual([2]);
    store.saveClip('inc-2', clip(4));
    // inc-0 is the oldest: beyond 2 newest incidents.
    expect(store.getClip('inc-0')).toBeUndefined();
    expect(store.getClip('inc-2')).toMatchObject({ mime: 'video/mp2t', start: 1, duration: 10 });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { FakeDeps, incident, stream } from './fake-deps.ts';

let deps: FakeDeps;
let server: ReturnType<typeof createServer>;
beforeEach(async () => {
  deps = new FakeDeps();
  deps.addStream(stream('cam1', { tags: ['studio'] }));
  server = createServer(deps, { token: 'tok' });
  await server.ready();
});
afterEach(() => server.close());

const auth = { authorization: 'Bearer tok' };
const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  server.inject({ method: 'POST', url, payload: payload as object, headers });
const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string; details: string[] } }).error;

describe('silences API', () => {
  it('creates, lists (by state) and deletes a silence; a future start is a pending maintenance window', async () => {
    const created = await post('/api/silences', { stream: 'cam1', type: 'black', duration: 600, comment: 'swap encoder', createdBy: 'ann' });
    expect(created.statusCode).toBe(201);
    const s = created.json<{ id: string; state: string; startsAt: string; endsAt: string; source: string }>();
    expect(s).toMatchObject({ stream: 'cam1', type: 'black', state: 'active', source: 'api', comment: 'swap encoder', createdBy: 'ann' });
    expect(Date.parse(s.endsAt) - Date.parse(s.startsAt)).toBe(600_000);
    expect(created.headers.location).toBe(`/api/silences/${s.id}`);

    const start = new Date(Date.now() + 3_600_000).toISOString();
    const end = new Date(Date.now() + 7_200_000).toISOString();
    const window = (await post('/api/silences', { tag: 'studio', startsAt: start, endsAt: end })).json<{ id: string; state: string }>();
    expect(window.state).toBe('pending');

    const list = (await server.inject({ method: 'GET', url: '/api/silences' })).json<{ id: string; state: string }[]>();
    // Default: pending and active (the config rule included), newest start first.
    expect(list.map((x) => x.id)).toEqual([window.id, s.id, 'config-1'].filter((id) => list.some((x) => x.id === id)));
    expect(list.map((x) => x.id)).toContain('config-1');
    const pending = (await server.inject({ method: 'GET', url: '/api/silences?state=pending' })).json<{ id: string }[]>();
    expect(pending.map((x) => x.id)).toEqual([window.id]);

    const del = await server.inject({ method: 'DELETE', url: `/api/silences/${s.id}`, headers: auth });
    expect(del.statusCode).toBe(204);
    const again = await server.inject({ method: 'DELETE', url: `/api/silences/${s.id}`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(errorOf(again).code).toBe('VIGIL_ERR_NOT_FOUND');
    // Config-file rules are read-only here.
    const cfg = await server.inject({ method: 'DELETE', url: '/api/silences/config-1', headers: auth });
    expect(cfg.statusCode).toBe(409);
    expect(errorOf(cfg).code).toBe('VIGIL_ERR_CONFLICT');
  });

  it('400 names each bad field', async () => {
    const res = await post('/api/silences', { type: 'blak', duration: -1, endsAt: 'tomorrow', extra: 1 });
    expect(res.statusCode).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('VIGIL_ERR_BAD_REQUEST');
    const joined = err.details.join('\n');
    expect(joined).toMatch(/body\.type: expected one of black/);
    expect(joined).toMatch(/body\.duration: expected seconds > 0/);
    expect(joined).toMatch(/body\.endsAt: expected an ISO 8601 date-time/);
    expect(joined).toMatch(/body\.extra: unknown field/);

    const none = await post('/api/silences', { duration: 60 });
    expect(errorOf(none).details).toEqual(['body.stream: set at least one of stream, tag and type']);
    const both = await post('/api/silences', { stream: 'cam1', duration: 60, endsAt: new Date(Date.now() + 1000).toISOString() });
    expect(errorOf(both).details).toEqual(['body.endsAt: set exactly one of endsAt and duration']);
    const past = await post('/api/silences', { stream: 'cam1', endsAt: '2020-01-01T00:00:00Z' });
    expect(errorOf(past).details).toEqual(['body.endsAt: the silence would end in the past']);
    const backwards = await post('/api/silences', {
      stream: 'cam1',
      startsAt: new Date(Date.now() + 7_200_000).toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(errorOf(backwards).details).toEqual(['body.endsAt: must be after startsAt']);
  });

  it('mutations need the bearer token; listing does not', async () => {
    expect((await post('/api/silences', { stream: 'cam1', duration: 60 }, {})).statusCode).toBe(401);
    expect((await server.inject({ method: 'DELETE', url: '/api/silences/x' })).statusCode).toBe(401);
    expect((await post('/api/incidents/x/ack', { by: 'a' }, {})).statusCode).toBe(401);
    expect((await server.inject({ method: 'GET', url: '/api/silences' })).statusCode).toBe(200);
  });

  it('/metrics exposes the silenced count and active silences', async () => {
    deps.silenced = 4;
    await post('/api/silences', { stream: 'cam1', duration: 60 });
    const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/^vigil_incidents_silenced_total 4$/m);
    // The config rule plus the new one.
    expect(text).toMatch(/^vigil_silences_active 2$/m);
  });
});

describe('acknowledge and clip', () => {
  it('acknowledges once (409 after), 404 for an unknown id, 400 naming body.by', async () => {
    const inc = incident('cam1', 'black', '2024-05-01T12:00:00.000Z');
    deps.history = [inc];
    const ok = await post(`/api/incidents/${inc.id}/ack`, { by: 'ann', note: 'looking' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: inc.id, acknowledged: { by: 'ann', note: 'looking' }, silenced: false });
    expect((await server.inject({ method: 'GET', url: `/api/incidents/${inc.id}` })).json()).toMatchObject({
      acknowledged: { by: 'ann' },
    });
    const twice = await post(`/api/incidents/${inc.id}/ack`, { by: 'bob' });
    expect(twice.statusCode).toBe(409);
    expect(errorOf(twice).details).toEqual(['id: acknowledged by ann already']);
    expect((await post('/api/incidents/nope/ack', { by: 'ann' })).statusCode).toBe(404);
    const bad = await post(`/api/incidents/${inc.id}/ack`, { by: '' });
    expect(errorOf(bad).details).toEqual(['body.by: must not be empty']);
  });

  it('serves a clip as video/mp2t with its span; 404 with a code when none yet', async () => {
    const inc = incident('cam1', 'freeze', '2024-05-01T12:00:00.000Z');
    deps.history = [inc];
    const none = await server.inject({ method: 'GET', url: `/api/incidents/${inc.id}/clip` });
    expect(none.statusCode).toBe(404);
    expect(errorOf(none).code).toBe('VIGIL_ERR_NOT_FOUND');
    deps.clips.set(inc.id, { mime: 'video/mp2t', start: 5.5, duration: 9.9, data: new Uint8Array([0x47, 1, 2, 3]) });
    const res = await server.inject({ method: 'GET', url: `/api/incidents/${inc.id}/clip` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp2t');
    expect(res.headers['x-vigil-clip-start']).toBe('5.5');
    expect(res.headers['x-vigil-clip-duration']).toBe('9.9');
    expect([...res.rawPayload]).toEqual([0x47, 1, 2, 3]);
    expect((await server.inject({ method: 'GET', url: '/api/incidents/nope/clip' })).statusCode).toBe(404);
  });
});

describe('async-capable reads', () => {
  it('serves incidents, pages, clips and acks from Promise-returning deps (an async store)', async () => {
    const inc = incident('cam1', 'black', '2024-05-01T12:00:00.000Z');
    deps.history = [inc];
    deps.clips.set(inc.id, { mime: 'video/mp2t', start: 1, duration: 2, data: new Uint8Array([0x47]) });
    const later = <T>(v: T): Promise<T> => new Promise((r) => setTimeout(() => r(v), 5));
    const asyncDeps = Object.assign(Object.create(deps) as FakeDeps, {
      incident: (id: string) => later(deps.incident(id)),
      queryIncidents: (f: Parameters<FakeDeps['queryIncidents']>[0]) => later(deps.queryIncidents(f)),
      incidentClip: (id: string) => later(deps.incidentClip(id)),
      acknowledge: (id: string, by: string, note?: string) => later(deps.acknowledge(id, by, note)),
    });
    const s = createServer(asyncDeps, { token: 'tok' });
    try {
      expect((await s.inject({ method: 'GET', url: `/api/incidents/${inc.id}` })).json()).toMatchObject({ id: inc.id });
      expect((await s.inject({ method: 'GET', url: '/api/incidents?stream=cam1' })).json()).toMatchObject({ total: 1 });
      expect((await s.inject({ method: 'GET', url: `/api/incidents/${inc.id}/clip` })).statusCode).toBe(200);
      expect((await s.inject({ method: 'GET', url: '/api/incidents/nope' })).statusCode).toBe(404);
      const ack = await s.inject({ method: 'POST', url: `/api/incidents/${inc.id}/ack`, payload: { by: 'ann' }, headers: auth });
      expect(ack.json()).toMatchObject({ acknowledged: { by: 'ann' } });
    } finally {
      await s.close();
    }
  });
});

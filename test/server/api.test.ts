import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import type { VigilApp } from '../../src/app.ts';
import { createServer, type ServerDeps } from '../../src/server/index.ts';
import { FakeDeps, incident, stream } from './fake-deps.ts';

// Compile-time: the real app (plus a ready() check) satisfies ServerDeps, so app.ts can wire it.
const _wires: (app: VigilApp) => ServerDeps = (app) => ({ ...app, ready: () => true });
void _wires;

const errorShape = z.strictObject({
  error: z.strictObject({
    code: z.string().regex(/^VIGIL_ERR_[A-Z_]+$/),
    message: z.string(),
    details: z.array(z.string()),
  }),
});

let deps: FakeDeps;
let server: ReturnType<typeof createServer>;
beforeEach(async () => {
  deps = new FakeDeps();
  deps.addStream(stream('cam1', { name: 'Camera 1', tags: ['studio'], url: 'rtsp://op:s3cret@10.0.0.5/live' }));
  deps.addStream(stream('cam2'));
  deps.added.length = 0;
  deps.setStatus('cam1', { fps: 29.97, reconnects: 3, decodeErrors: 7 }, { meanLuma: 92.5, tr101290_cc: 4, tr101290_pat: 0 });
  server = createServer(deps);
  await server.ready();
});
afterEach(() => server.close());

describe('streams', () => {
  it('lists every stream with status, gauges and open incidents', async () => {
    deps.history = [incident('cam1', 'black', '2024-05-01T12:00:00.000Z')];
    const res = await server.inject({ method: 'GET', url: '/api/streams' });
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>[]>();
    expect(body.map((s) => s.id)).toEqual(['cam1', 'cam2']);
    expect(body[0]).toMatchObject({
      id: 'cam1',
      name: 'Camera 1',
      url: 'rtsp://op:***@10.0.0.5/live',
      tags: ['studio'],
      state: 'live',
      fps: 29.97,
      bitrate: 4_000_000,
      lastFrameAt: '2024-05-01T12:00:00.000Z',
      mediaTime: 100,
      decodeErrors: 7,
      reconnects: 3,
      gauges: { meanLuma: 92.5 },
    });
    expect((body[0]?.openIncidents as unknown[]).length).toBe(1);
    // No status yet: connecting, nulls, zero counts.
    expect(body[1]).toMatchObject({
      id: 'cam2',
      state: 'connecting',
      fps: null,
      lastFrameAt: null,
      reconnects: 0,
      openIncidents: [],
    });
  });

  it('gets one stream, 404 with a code for an unknown id', async () => {
    const ok = await server.inject({ method: 'GET', url: '/api/streams/cam2' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: 'cam2', name: 'cam2' });
    const missing = await server.inject({ method: 'GET', url: '/api/streams/nope' });
    expect(missing.statusCode).toBe(404);
    expect(errorShape.parse(missing.json()).error.code).toBe('VIGIL_ERR_NOT_FOUND');
  });

  it('POST adds a stream at run time with the parsed config (defaults applied)', async () => {
    const res = await server.inject({
      method: 'POST',
      url: '/api/streams',
      payload: { id: 'cam3', url: 'srt://10.0.0.9:9000', detectors: { black: { minDuration: 2 } } },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe('/api/streams/cam3');
    expect(res.json()).toMatchObject({ id: 'cam3', state: 'connecting' });
    expect(deps.added).toHaveLength(1);
    expect(deps.added[0]).toMatchObject({
      id: 'cam3',
      url: 'srt://10.0.0.9:9000',
      tags: [],
      detectors: { black: { minDuration: 2 } },
    });
    expect(deps.configs.has('cam3')).toBe(true);
  });

  it('POST invalid → 400 naming each bad field path', async () => {
    const res = await server.inject({
      method: 'POST',
      url: '/api/streams',
      payload: { id: 'bad id!', url: 42, detectors: { black: { minDuration: 'long' } }, colour: 'red' },
    });
    expect(res.statusCode).toBe(400);
    const { error } = errorShape.parse(res.json());
    expect(error.code).toBe('VIGIL_ERR_BAD_REQUEST');
    const fields = error.details.map((d) => d.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining(['body.id', 'body.url', 'body.detectors.black.minDuration', 'body.colour']),
    );
    expect(deps.added).toHaveLength(0);
  });

  it('POST malformed JSON or no body → 400 with a code', async () => {
    const bad = await server.inject({
      method: 'POST',
      url: '/api/streams',
      headers: { 'content-type': 'application/json' },
      payload: '{"id":',
    });
    expect(bad.statusCode).toBe(400);
    expect(errorShape.parse(bad.json()).error.code).toBe('VIGIL_ERR_BAD_REQUEST');
    const none = await server.inject({ method: 'POST', url: '/api/streams' });
    expect(none.statusCode).toBe(400);
    expect(errorShape.parse(none.json()).error.details[0]).toMatch(/^body: /);
  });

  it('POST duplicate id → 409', async () => {
    const res = await server.inject({ method: 'POST', url: '/api/streams', payload: { id: 'cam1', url: 'udp://x' } });
    expect(res.statusCode).toBe(409);
    expect(errorShape.parse(res.json()).error.code).toBe('VIGIL_ERR_CONFLICT');
  });

  it('PUT replaces (remove + add), checks the id, 404 for unknown', async () => {
    const res = await server.inject({
      method: 'PUT',
      url: '/api/streams/cam2',
      payload: { url: 'udp://239.1.1.1:5000', name: 'Two' },
    });
    expect(res.statusCode).toBe(200);
    expect(deps.removed).toEqual(['cam2']);
    expect(deps.added[0]).toMatchObject({ id: 'cam2', url: 'udp://239.1.1.1:5000', name: 'Two' });
    expect(res.json()).toMatchObject({ id: 'cam2', name: 'Two' });

    const mismatch = await server.inject({
      method: 'PUT',
      url: '/api/streams/cam2',
      payload: { id: 'cam9', url: 'udp://x' },
    });
    expect(mismatch.statusCode).toBe(400);
    expect(errorShape.parse(mismatch.json()).error.details[0]).toMatch(/^body\.id: /);

    const unknown = await server.inject({ method: 'PUT', url: '/api/streams/nope', payload: { url: 'udp://x' } });
    expect(unknown.statusCode).toBe(404);
  });

  it('DELETE removes at run time, 404 for unknown', async () => {
    const res = await server.inject({ method: 'DELETE', url: '/api/streams/cam1' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(deps.removed).toEqual(['cam1']);
    expect((await server.inject({ method: 'DELETE', url: '/api/streams/cam1' })).statusCode).toBe(404);
  });
});

describe('auth', () => {
  it('mutations need the bearer token when one is configured; reads do not', async () => {
    const secured = createServer(deps, { token: 'tok-123' });
    try {
      const payload = { id: 'cam3', url: 'udp://x' };
      const none = await secured.inject({ method: 'POST', url: '/api/streams', payload });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(errorShape.parse(none.json()).error.code).toBe('VIGIL_ERR_UNAUTHORIZED');
      const wrong = await secured.inject({
        method: 'POST',
        url: '/api/streams',
        payload,
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.statusCode).toBe(401);
      // 401 comes before validation: an invalid body from a stranger is still 401.
      const strangerBad = await secured.inject({ method: 'POST', url: '/api/streams', payload: { id: 1 } });
      expect(strangerBad.statusCode).toBe(401);
      for (const [method, url] of [
        ['PUT', '/api/streams/cam2'],
        ['DELETE', '/api/streams/cam2'],
      ] as const) {
        expect(
          (await secured.inject({ method, url, payload: method === 'PUT' ? payload : undefined })).statusCode,
        ).toBe(401);
      }
      expect(deps.added).toHaveLength(0);
      expect(deps.removed).toHaveLength(0);

      const auth = { authorization: 'Bearer tok-123' };
      expect((await secured.inject({ method: 'POST', url: '/api/streams', payload, headers: auth })).statusCode).toBe(
        201,
      );
      expect(
        (await secured.inject({ method: 'PUT', url: '/api/streams/cam3', payload: { url: 'udp://y' }, headers: auth }))
          .statusCode,
      ).toBe(200);
      expect((await secured.inject({ method: 'DELETE', url: '/api/streams/cam3', headers: auth })).statusCode).toBe(
        204,
      );
      expect((await secured.inject({ method: 'GET', url: '/api/streams' })).statusCode).toBe(200);
    } finally {
      await secured.close();
    }
  });
});

describe('incidents', () => {
  beforeEach(() => {
    // Newest first, as the app keeps them.
    deps.history = [
      incident('cam1', 'freeze', '2024-05-01T12:30:00.000Z'),
      incident('cam2', 'black', '2024-05-01T12:20:00.000Z', '2024-05-01T12:25:00.000Z'),
      incident('cam1', 'black', '2024-05-01T11:00:00.000Z', '2024-05-01T12:05:00.000Z'),
      incident('cam1', 'silence', '2024-05-01T10:00:00.000Z', '2024-05-01T10:01:00.000Z'),
    ];
  });
  const ids = (res: { json(): unknown }) => (res.json() as { items: { id: string }[] }).items.map((i) => i.id);
  const get = (qs: string) => server.inject({ method: 'GET', url: `/api/incidents${qs}` });

  it('lists newest first with default pagination', async () => {
    const res = await get('');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 4, limit: 50, offset: 0 });
    expect(ids(res)).toEqual(deps.history.map((i) => i.id));
  });

  it('filters by stream, type, state and since', async () => {
    const h = deps.history.map((i) => i.id);
    expect(ids(await get('?stream=cam1'))).toEqual([h[0], h[2], h[3]]);
    expect(ids(await get('?type=black'))).toEqual([h[1], h[2]]);
    expect(ids(await get('?state=open'))).toEqual([h[0]]);
    expect(ids(await get('?state=closed&stream=cam1&type=black'))).toEqual([h[2]]);
    // Active since 12:00: the open one, the one opened 12:20, the one that closed 12:05.
    expect(ids(await get('?since=2024-05-01T12:00:00Z'))).toEqual([h[0], h[1], h[2]]);
    expect(ids(await get('?since=2024-05-01T14:10:00%2B02:00'))).toEqual([h[0], h[1]]);
  });

  it('paginates with limit and offset; total counts every match', async () => {
    const h = deps.history.map((i) => i.id);
    const page = await get('?limit=2&offset=1');
    expect(page.json()).toMatchObject({ total: 4, limit: 2, offset: 1 });
    expect(ids(page)).toEqual([h[1], h[2]]);
    expect(ids(await get('?limit=2&offset=4'))).toEqual([]);
    expect((await get('?limit=500')).statusCode).toBe(200);
  });

  it('rejects bad query values, naming each', async () => {
    const res = await get('?limit=501&offset=-1&state=shut&type=purple&since=yesterday&colour=red');
    expect(res.statusCode).toBe(400);
    const { error } = errorShape.parse(res.json());
    expect(error.code).toBe('VIGIL_ERR_BAD_REQUEST');
    expect(error.details.map((d) => d.split(':')[0]).sort()).toEqual(
      ['query.colour', 'query.limit', 'query.offset', 'query.since', 'query.state', 'query.type'].sort(),
    );
    expect(error.details).toContain('query.limit: expected a whole number 1-500');
    expect((await get('?limit=abc')).statusCode).toBe(400);
    expect((await get('?limit=0')).statusCode).toBe(400);
  });

  it('gets one incident, 404 for unknown', async () => {
    const first = deps.history[0]!;
    const res = await server.inject({ method: 'GET', url: `/api/incidents/${first.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...JSON.parse(JSON.stringify(first)), silenced: false });
    const missing = await server.inject({ method: 'GET', url: '/api/incidents/nope' });
    expect(missing.statusCode).toBe(404);
    expect(errorShape.parse(missing.json()).error.code).toBe('VIGIL_ERR_NOT_FOUND');
  });
});

describe('ops', () => {
  it('healthz is always 200; readyz follows deps.ready()', async () => {
    deps.isReady = false;
    expect((await server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const notReady = await server.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(errorShape.parse(notReady.json()).error.code).toBe('VIGIL_ERR_NOT_READY');
    deps.isReady = true;
    const ready = await server.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('unknown routes are 404 with a code', async () => {
    const res = await server.inject({ method: 'GET', url: '/api/nothing?x=1' });
    expect(res.statusCode).toBe(404);
    expect(errorShape.parse(res.json()).error).toMatchObject({
      code: 'VIGIL_ERR_NOT_FOUND',
      message: 'no route GET /api/nothing',
    });
  });

  it('/metrics exposes per-stream series with labels, read at scrape time', async () => {
    deps.history = [
      incident('cam1', 'black', '2024-05-01T12:00:00.000Z'),
      incident('cam1', 'black', '2024-05-01T12:01:00.000Z'),
    ];
    const res = await server.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    for (const line of [
      'vigil_stream_fps{stream="cam1"} 29.97',
      'vigil_stream_bitrate_bits{stream="cam1"} 4000000',
      'vigil_stream_decode_lag_seconds{stream="cam1"} 0.04',
      'vigil_stream_up{stream="cam1"} 1',
      'vigil_stream_up{stream="cam2"} 0',
      'vigil_stream_reconnects_total{stream="cam1"} 3',
      'vigil_stream_decode_errors_total{stream="cam1"} 7',
      'vigil_detector_value{stream="cam1",name="meanLuma"} 92.5',
      'vigil_open_incidents{stream="cam1",type="black"} 2',
      'vigil_open_incidents{stream="cam2",type="black"} 0',
      '# TYPE vigil_stream_reconnects_total counter',
      'vigil_tr101290_errors_total{stream="cam1",check="cc"} 4',
      'vigil_tr101290_errors_total{stream="cam1",check="pat"} 0',
      '# TYPE vigil_tr101290_errors_total counter',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_total_bytes /m);

    // Scrape-time: a status change and a removed stream show on the next scrape.
    deps.setStatus('cam1', { state: 'lost' });
    deps.removeStream('cam2');
    const next = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(next).toContain('vigil_stream_up{stream="cam1"} 0');
    expect(next).not.toContain('stream="cam2"');
  });

  it('two servers in one process keep separate registries', async () => {
    const other = createServer(new FakeDeps());
    try {
      expect((await other.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('cam1');
    } finally {
      await other.close();
    }
  });
});

describe('failures', () => {
  it('an unexpected error is a 500 with a code, logged, without internals in the body', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    const broken = new FakeDeps();
    broken.addStream = () => {
      throw new Error('pool exploded at /secret/path');
    };
    const s = createServer(broken, { logger });
    try {
      const res = await s.inject({ method: 'POST', url: '/api/streams', payload: { id: 'x', url: 'udp://x' } });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'VIGIL_ERR_INTERNAL', message: 'internal error', details: [] } });
      expect(lines.join('')).toContain('pool exploded');
    } finally {
      await s.close();
    }
  });
});

describe('thumbnails', () => {
  const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

  it('serves the latest stream thumbnail as image/jpeg; 404 with a code before the first one', async () => {
    const none = await server.inject({ method: 'GET', url: '/api/streams/cam1/thumbnail' });
    expect(none.statusCode).toBe(404);
    expect(none.json<{ error: { code: string } }>().error.code).toBe('VIGIL_ERR_NOT_FOUND');
    deps.thumbs.set('cam1', JPEG);
    const res = await server.inject({ method: 'GET', url: '/api/streams/cam1/thumbnail' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect([...res.rawPayload]).toEqual([...JPEG]);
    expect((await server.inject({ method: 'GET', url: '/api/streams/nope/thumbnail' })).statusCode).toBe(404);
  });

  it('serves incident evidence at onset by default and after close with ?at=close', async () => {
    deps.history = [incident('cam1', 'black', '2024-05-01T12:00:00.000Z')];
    const id = deps.history[0]!.id;
    deps.thumbs.set(`${id}:onset`, JPEG);
    const onset = await server.inject({ method: 'GET', url: `/api/incidents/${id}/thumbnail` });
    expect(onset.statusCode).toBe(200);
    expect(onset.headers['content-type']).toBe('image/jpeg');
    expect((await server.inject({ method: 'GET', url: `/api/incidents/${id}/thumbnail?at=close` })).statusCode).toBe(404);
    const bad = await server.inject({ method: 'GET', url: `/api/incidents/${id}/thumbnail?at=middle` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { details: string[] } }>().error.details[0]).toMatch(/^query\.at: /);
    expect((await server.inject({ method: 'GET', url: '/api/incidents/nope/thumbnail' })).statusCode).toBe(404);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DASHBOARD_ROUTES } from '../../src/server/dashboard.ts';
import { createServer } from '../../src/server/index.ts';
import { incidentPageSchema, incidentSchema, silenceSchema, streamViewSchema } from '../../src/server/schemas.ts';
import { FakeDeps, incident, stream } from './fake-deps.ts';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, unknown>; security?: unknown }>
  >;
  components: { schemas: Record<string, unknown> };
};

/** Every METHOD path fastify registered, read from printRoutes' tree (fastify 5 has no route-list API). */
function registeredRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of m[3]!.split(', ')) out.push(`${method} ${path}`);
  }
  return out.sort();
}

const deps = new FakeDeps();
const server = createServer(deps, { token: 't' });
let doc: Doc;
beforeAll(async () => {
  deps.addStream(stream('cam1', { url: 'udp://239.0.0.1:5000' }));
  deps.setStatus('cam1', { lastError: 'timeout' }, { meanLuma: 3 });
  deps.history = [
    incident('cam1', 'black', '2024-05-01T12:00:00.000Z'),
    incident('cam1', 'freeze', '2024-05-01T11:00:00.000Z', '2024-05-01T11:01:00.000Z'),
  ];
  await server.ready();
  const res = await server.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = JSON.parse(res.body) as Doc;
});
afterAll(() => server.close());

describe('the API matches the OpenAPI document', () => {
  it('is an OpenAPI 3.1 document with every route', () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    for (const r of [
      'GET /api/streams',
      'GET /api/streams/:id',
      'POST /api/streams',
      'PUT /api/streams/:id',
      'DELETE /api/streams/:id',
      'GET /api/incidents',
      'GET /api/incidents/:id',
      'GET /api/events',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
    ]) {
      expect(documented).toContain(r);
    }
    // Exactly the routes fastify serves: nothing undocumented, nothing documented that 404s. The
    // dashboard's page and static assets are the one exception: they are served, not API.
    const registered = registeredRoutes(server.printRoutes({ commonPrefix: false }));
    expect(registered.filter((r) => !DASHBOARD_ROUTES.includes(r))).toEqual(documented);
    expect(registered).toEqual(expect.arrayContaining([...DASHBOARD_ROUTES]));
    for (const r of DASHBOARD_ROUTES) expect(r).toMatch(/^GET \/(dashboard\/|assets\/|$)/);
  });

  it('documents auth, parameters and named schemas', () => {
    expect(doc.paths['/api/streams']?.post?.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/streams']?.get?.security).toBeUndefined();
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      'Error',
      'Incident',
      'IncidentPage',
      'Silence',
      'SilenceInput',
      'Stream',
      'StreamInput',
    ]);
    for (const [path, method] of [
      ['/api/silences', 'post'],
      ['/api/silences/{id}', 'delete'],
      ['/api/incidents/{id}/ack', 'post'],
    ] as const) {
      expect((doc.paths[path] as Record<string, { security?: unknown }> | undefined)?.[method]?.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
    }
    expect(doc.paths['/api/incidents/{id}/clip']?.get).toBeDefined();
    const input = doc.components.schemas.StreamInput as { properties: Record<string, unknown>; required: string[] };
    expect(input.required).toEqual(['id', 'url']);
    expect(input.properties).toHaveProperty('detectors');
    const list = doc.paths['/api/incidents']?.get as unknown as { parameters: { name: string }[] };
    expect(list.parameters.map((p) => p.name)).toEqual(['stream', 'type', 'state', 'since', 'limit', 'offset']);
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it('responses have exactly the documented shape', async () => {
    const get = async (url: string) => (await server.inject({ method: 'GET', url })).json<unknown>();
    z.array(streamViewSchema).parse(await get('/api/streams'));
    streamViewSchema.parse(await get('/api/streams/cam1'));
    incidentPageSchema.parse(await get('/api/incidents'));
    incidentSchema.parse(await get(`/api/incidents/${deps.history[1]!.id}`));
    z.array(silenceSchema).parse(await get('/api/silences?state=all'));
  });
});

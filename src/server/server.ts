import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { streamSchema } from '../config/index.ts';
import { silenceInputSchema, silenceState, type Silence } from '../notify/index.ts';
import type { Logger } from '../shared/index.ts';
import type { ServerDeps } from './deps.ts';
import { ApiError, ServerErrorCodes, codeForStatus, errorBody, issueDetails } from './errors.ts';
import { registerDashboard } from './dashboard.ts';
import { createMetricsRegistry } from './metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { defineRoute, type AnyRoute } from './route.ts';
import {
  ackBodySchema,
  errorSchema,
  silenceIdParams,
  silenceQuerySchema,
  silenceSchema,
  healthSchema,
  incidentIdParams,
  incidentPageSchema,
  incidentQuerySchema,
  incidentSchema,
  incidentView,
  streamIdParams,
  thumbnailQuerySchema,
  streamView,
  streamViewSchema,
  type IncidentQuery,
} from './schemas.ts';
import { createSseHub } from './sse.ts';

export interface ServerOptions {
  /** When set, POST/PUT/DELETE need `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Request and error logs (pino); none when omitted. */
  readonly logger?: Logger;
  /** SSE heartbeat comment interval (default 15 000 ms). */
  readonly heartbeatMs?: number;
  /** `info.version` of the OpenAPI document (default "0.1.0"). */
  readonly version?: string;
  /** Serve the operator dashboard at `/` (default true); its routes are not part of the API document. */
  readonly dashboard?: boolean;
}

export interface StartServerOptions extends ServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 127.0.0.1: the API is local unless asked otherwise. */
  readonly host?: string;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

const err = (status: number, description: string) => ({ [status]: { description, schema: errorSchema } });
const BAD_REQUEST = err(400, 'Invalid request; `details` names each bad field.');
const UNAUTHORIZED = err(401, 'Missing or wrong bearer token.');

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function findStream(deps: ServerDeps, id: string) {
  const s = deps.streams().find((x) => x.id === id);
  if (!s) throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no stream "${id}"`);
  return s;
}

/** The filters go to the app's query (SQL with a store): no scan of the history here. */
export async function filterIncidents(deps: Pick<ServerDeps, 'queryIncidents'>, q: IncidentQuery) {
  const page = await deps.queryIncidents({
    ...(q.stream !== undefined ? { stream: q.stream } : {}),
    ...(q.type !== undefined ? { type: q.type } : {}),
    ...(q.state !== undefined ? { state: q.state } : {}),
    ...(q.since !== undefined ? { since: q.since } : {}),
    limit: q.limit,
    offset: q.offset,
  });
  return { items: page.items.map(incidentView), total: page.total, limit: q.limit, offset: q.offset };
}

async function findIncident(deps: ServerDeps, id: string) {
  const found = await deps.incident(id);
  if (!found) throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no incident "${id}"`);
  return found;
}

function silenceView(s: Silence) {
  return { ...s, state: silenceState(s) };
}

function routes(
  deps: ServerDeps,
  opts: { heartbeatMs: number; openapi: () => unknown },
): { table: AnyRoute[]; closeStreams: () => void } {
  const metrics = createMetricsRegistry(deps);
  const sse = createSseHub(deps, opts.heartbeatMs);
  const table: AnyRoute[] = [
    defineRoute({
      method: 'GET',
      url: '/api/streams',
      operationId: 'listStreams',
      summary: 'Every monitored stream with its latest status',
      tag: 'streams',
      responses: { 200: { description: 'The streams.', schema: z.array(streamViewSchema) } },
      handler: () => deps.streams().map(streamView),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/streams/:id',
      operationId: 'getStream',
      summary: 'One stream',
      tag: 'streams',
      params: streamIdParams,
      responses: { 200: { description: 'The stream.', schema: streamViewSchema }, ...err(404, 'No such stream.') },
      handler: ({ params }) => streamView(findStream(deps, params.id)),
    }),
    // Run-time stream changes go through deps.addStream/removeStream only. Persistence is out of
    // scope for now: a stream added or changed here is lost on restart unless it is in the config file.
    defineRoute({
      method: 'POST',
      url: '/api/streams',
      operationId: 'addStream',
      summary: 'Start monitoring a stream',
      description:
        'Takes effect at once and is persisted in the store: the stream is monitored again after a restart.',
      tag: 'streams',
      auth: true,
      body: streamSchema,
      responses: {
        201: { description: 'Added.', schema: streamViewSchema },
        ...BAD_REQUEST,
        ...UNAUTHORIZED,
        ...err(409, 'A stream with this id exists.'),
      },
      handler: ({ body, reply }) => {
        if (deps.streams().some((s) => s.id === body.id)) {
          throw new ApiError(409, ServerErrorCodes.CONFLICT, `stream "${body.id}" already exists`, [
            `body.id: "${body.id}" is taken`,
          ]);
        }
        deps.addStream(body);
        reply.code(201).header('location', `/api/streams/${encodeURIComponent(body.id)}`);
        return streamView(findStream(deps, body.id));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/streams/:id',
      operationId: 'replaceStream',
      summary: 'Replace a stream (remove, then add with the new settings)',
      description:
        'The body may omit `id`; if given it must equal the path id. Open incidents of the old stream close. Persisted for streams added through the API; a stream from the config file takes its file definition again at the next start.',
      tag: 'streams',
      auth: true,
      params: streamIdParams,
      body: streamSchema.partial({ id: true }),
      responses: {
        200: { description: 'Replaced.', schema: streamViewSchema },
        ...BAD_REQUEST,
        ...UNAUTHORIZED,
        ...err(404, 'No such stream.'),
      },
      handler: ({ params, body }) => {
        if (body.id !== undefined && body.id !== params.id) {
          throw new ApiError(400, ServerErrorCodes.BAD_REQUEST, 'body.id differs from the path id', [
            `body.id: expected "${params.id}" (the id in the path) or no id`,
          ]);
        }
        findStream(deps, params.id);
        const next = { ...body, id: params.id };
        deps.removeStream(params.id);
        deps.addStream(next);
        return streamView(findStream(deps, params.id));
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/streams/:id',
      operationId: 'removeStream',
      summary: 'Stop monitoring a stream',
      description: 'Its open incidents close. A stream added through the API stays removed; one from the config file comes back at the next start.',
      tag: 'streams',
      auth: true,
      params: streamIdParams,
      responses: { 204: { description: 'Removed.' }, ...UNAUTHORIZED, ...err(404, 'No such stream.') },
      handler: ({ params, reply }) => {
        findStream(deps, params.id);
        deps.removeStream(params.id);
        return reply.code(204).send();
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/streams/:id/thumbnail',
      operationId: 'getStreamThumbnail',
      summary: 'Latest live thumbnail of a stream (JPEG, taken every few seconds)',
      tag: 'streams',
      params: streamIdParams,
      responses: {
        200: { description: 'The JPEG.', contentType: 'image/jpeg' },
        ...err(404, 'No such stream, or no thumbnail yet.'),
      },
      handler: ({ params, reply }) => {
        findStream(deps, params.id);
        const jpeg = deps.streamThumbnail(params.id);
        if (!jpeg) throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no thumbnail yet for stream "${params.id}"`);
        return reply.header('content-type', 'image/jpeg').header('cache-control', 'no-store').send(Buffer.from(jpeg));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/incidents/:id/thumbnail',
      operationId: 'getIncidentThumbnail',
      summary: 'Evidence: the picture at incident onset (default) or after it closed (?at=close)',
      tag: 'incidents',
      params: incidentIdParams,
      query: thumbnailQuerySchema,
      responses: {
        200: { description: 'The JPEG.', contentType: 'image/jpeg' },
        ...BAD_REQUEST,
        ...err(404, 'No such incident, or no picture for it.'),
      },
      handler: async ({ params, query, reply }) => {
        await findIncident(deps, params.id);
        const jpeg = deps.incidentThumbnail(params.id, query.at);
        if (!jpeg) throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no ${query.at} picture for incident "${params.id}"`);
        return reply.header('content-type', 'image/jpeg').header('cache-control', 'public, max-age=86400, immutable').send(Buffer.from(jpeg));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/incidents',
      operationId: 'listIncidents',
      summary: 'Incident history, newest first, filtered and paginated',
      tag: 'incidents',
      query: incidentQuerySchema,
      responses: { 200: { description: 'One page of incidents.', schema: incidentPageSchema }, ...BAD_REQUEST },
      handler: ({ query }) => filterIncidents(deps, query),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/incidents/:id',
      operationId: 'getIncident',
      summary: 'One incident, in its latest state',
      tag: 'incidents',
      params: incidentIdParams,
      responses: { 200: { description: 'The incident.', schema: incidentSchema }, ...err(404, 'No such incident.') },
      handler: async ({ params }) => incidentView(await findIncident(deps, params.id)),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/incidents/:id/clip',
      operationId: 'getIncidentClip',
      summary: 'Evidence clip: the original packets from a few seconds before to a few seconds after onset (MPEG-TS, not re-encoded)',
      description:
        'Cut in the worker a few seconds after onset (it waits for the post-roll), starting at a keyframe. ' +
        'Headers `x-vigil-clip-start` (media time of the first packet, s) and `x-vigil-clip-duration` (s).',
      tag: 'incidents',
      params: incidentIdParams,
      responses: {
        200: { description: 'The clip.', contentType: 'video/mp2t' },
        ...err(404, 'No such incident, or no clip for it (yet).'),
      },
      handler: async ({ params, reply }) => {
        await findIncident(deps, params.id);
        const clip = await deps.incidentClip(params.id);
        if (!clip) {
          throw new ApiError(
            404,
            ServerErrorCodes.NOT_FOUND,
            `no clip for incident "${params.id}" (it is cut a few seconds after onset; none when the stream had no keyframe in time)`,
          );
        }
        return reply
          .header('content-type', clip.mime)
          .header('content-disposition', `attachment; filename="${params.id}.ts"`)
          .header('x-vigil-clip-start', String(clip.start))
          .header('x-vigil-clip-duration', String(clip.duration))
          .header('cache-control', 'public, max-age=86400, immutable')
          .send(Buffer.from(clip.data.buffer, clip.data.byteOffset, clip.data.byteLength));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/incidents/:id/ack',
      operationId: 'acknowledgeIncident',
      summary: 'Acknowledge an incident',
      description:
        'Persisted and shown with the incident. Sent to the sinks that support it: PagerDuty (event_action acknowledge), ' +
        'webhooks and Slack (event incident.acknowledged); email skips it. Not sent for a silenced incident.',
      tag: 'incidents',
      auth: true,
      params: incidentIdParams,
      body: ackBodySchema,
      responses: {
        200: { description: 'The acknowledged incident.', schema: incidentSchema },
        ...BAD_REQUEST,
        ...UNAUTHORIZED,
        ...err(404, 'No such incident.'),
        ...err(409, 'Already acknowledged.'),
      },
      handler: async ({ params, body }) => {
        const out = await deps.acknowledge(params.id, body.by, body.note);
        if (out === 'unknown') throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no incident "${params.id}"`);
        if (out === 'already') {
          const by = (await deps.incident(params.id)) as { acknowledged?: { by: string } } | undefined;
          throw new ApiError(409, ServerErrorCodes.CONFLICT, `incident "${params.id}" is already acknowledged`, [
            `id: acknowledged by ${by?.acknowledged?.by ?? 'someone'} already`,
          ]);
        }
        return incidentView(out);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/silences',
      operationId: 'listSilences',
      summary: 'Silences and maintenance windows, newest start first',
      tag: 'silences',
      query: silenceQuerySchema,
      responses: { 200: { description: 'The silences.', schema: z.array(silenceSchema) }, ...BAD_REQUEST },
      handler: ({ query }) => {
        const states =
          query.state === undefined ? (['pending', 'active'] as const) : query.state === 'all' ? undefined : [query.state];
        return deps.listSilences(states).map(silenceView);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/silences',
      operationId: 'addSilence',
      summary: 'Silence incidents by stream, tag and/or type, now or later (maintenance window)',
      description:
        'While a silence is active, matching incidents that open are recorded and shown, marked `silenced`, but not ' +
        'notified (nor their close). When it ends (expiry or DELETE) while such an incident is still open, that ' +
        'incident is notified then, as opened.',
      tag: 'silences',
      auth: true,
      body: silenceInputSchema,
      responses: {
        201: { description: 'Created.', schema: silenceSchema },
        ...BAD_REQUEST,
        ...UNAUTHORIZED,
      },
      handler: ({ body, reply }) => {
        const s = deps.addSilence(body);
        reply.code(201).header('location', `/api/silences/${encodeURIComponent(s.id)}`);
        return silenceView(s);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/silences/:id',
      operationId: 'removeSilence',
      summary: 'End a silence now (open incidents it held back are notified)',
      tag: 'silences',
      auth: true,
      params: silenceIdParams,
      responses: {
        204: { description: 'Removed.' },
        ...UNAUTHORIZED,
        ...err(404, 'No such silence.'),
        ...err(409, 'A silence from the config file: remove it there.'),
      },
      handler: ({ params, reply }) => {
        const result = deps.removeSilence(params.id);
        if (result === 'unknown') throw new ApiError(404, ServerErrorCodes.NOT_FOUND, `no silence "${params.id}"`);
        if (result === 'read-only') {
          throw new ApiError(409, ServerErrorCodes.CONFLICT, `silence "${params.id}" comes from the config file`, [
            `id: "${params.id}" is defined in the config file (notify.silences); remove it there`,
          ]);
        }
        return reply.code(204).send();
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/events',
      operationId: 'events',
      summary: 'Server-Sent Events: incidents and stream status as they happen',
      description:
        'Events `incident.opened`, `incident.closed` and `incident.updated` (acknowledged, released from a silence, clip ready; data: an Incident), `status` (data: the stream id, its status ' +
        'fields and gauges). A `: heartbeat` comment every 15 s keeps proxies from closing the connection.',
      tag: 'events',
      responses: { 200: { description: 'An endless event stream.', contentType: 'text/event-stream' } },
      handler: ({ request, reply }) => sse.attach(request, reply),
    }),
    defineRoute({
      method: 'GET',
      url: '/healthz',
      operationId: 'health',
      summary: 'Liveness: 200 while the process runs',
      tag: 'ops',
      responses: { 200: { description: 'Alive.', schema: healthSchema } },
      handler: () => ({ status: 'ok' }),
    }),
    defineRoute({
      method: 'GET',
      url: '/readyz',
      operationId: 'ready',
      summary: 'Readiness: 200 once the app is started and its worker pool is up',
      tag: 'ops',
      responses: { 200: { description: 'Ready.', schema: healthSchema }, ...err(503, 'Not ready yet.') },
      handler: () => {
        if (!deps.ready())
          throw new ApiError(503, ServerErrorCodes.NOT_READY, 'not ready: the app or its worker pool is not up');
        return { status: 'ready' };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics, read from the app at scrape time',
      tag: 'ops',
      responses: { 200: { description: 'Prometheus text exposition format.', contentType: metrics.contentType } },
      handler: async ({ reply }) => {
        const text = await metrics.metrics();
        return reply.type(metrics.contentType).send(text);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openapi',
      summary: 'This document',
      tag: 'ops',
      responses: { 200: { description: 'OpenAPI 3.1 document.', schema: z.record(z.string(), z.unknown()) } },
      handler: () => opts.openapi(),
    }),
  ];
  return { table, closeStreams: () => sse.closeAll() };
}

/**
 * The operator's HTTP API as a fastify instance (not listening: call `listen`, or use
 * `startServer`). Register nothing else on it, so /openapi.json stays the whole API (the
 * dashboard's page and asset routes, DASHBOARD_ROUTES, are the one exception).
 */
export function createServer(deps: ServerDeps, opts: ServerOptions = {}): FastifyInstance {
  const server = (
    opts.logger
      ? Fastify({ loggerInstance: opts.logger, exposeHeadRoutes: false })
      : Fastify({ logger: false, exposeHeadRoutes: false })
  ) as FastifyInstance;
  const { table, closeStreams } = routes(deps, { heartbeatMs: opts.heartbeatMs ?? 15_000, openapi: () => doc });
  const doc = buildOpenApiDocument(table, { version: opts.version ?? '0.1.0', authRequired: opts.token !== undefined });

  const expected = opts.token !== undefined ? digest(opts.token) : undefined;
  // onRequest runs before the body is read: an unauthenticated caller learns nothing about validation.
  const authenticate = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (!expected) return done();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match?.[1] && timingSafeEqual(digest(match[1].trim()), expected)) return done();
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="vigil"')
      .send(
        errorBody(
          ServerErrorCodes.UNAUTHORIZED,
          match ? 'wrong bearer token' : 'missing Authorization: Bearer <token>',
        ),
      );
  };

  for (const r of table) {
    server.route({
      method: r.method,
      url: r.url,
      ...(r.auth ? { onRequest: authenticate } : {}),
      handler: async (request, reply) => {
        const details: string[] = [];
        const part = (name: 'params' | 'query' | 'body', schema: z.ZodType | undefined, value: unknown): unknown => {
          if (!schema) return value;
          const result = schema.safeParse(value);
          if (result.success) return result.data;
          details.push(...issueDetails(name, result.error));
          return undefined;
        };
        const params = part('params', r.params, request.params);
        const query = part('query', r.query, request.query);
        const body = part('body', r.body, request.body);
        if (details.length)
          throw new ApiError(400, ServerErrorCodes.BAD_REQUEST, `invalid request: ${details.join('; ')}`, details);
        const out: unknown = await r.handler({ params, query, body, request, reply });
        return reply.sent ? reply : out;
      },
    });
  }

  if (opts.dashboard !== false) registerDashboard(server);

  server.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(errorBody(ServerErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  server.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = error instanceof Error ? error.message : String(error);
      return reply
        .code(status)
        .send(errorBody(codeForStatus(status), message, status === 400 ? [`body: ${message}`] : []));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send(errorBody(ServerErrorCodes.INTERNAL, 'internal error'));
  });
  // SSE replies are hijacked, so fastify does not see them: end them or close() would wait forever.
  server.addHook('preClose', (done) => {
    closeStreams();
    done();
  });
  return server;
}

/** Creates the server and listens; `close()` ends SSE clients and stops listening. */
export async function startServer(deps: ServerDeps, opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer(deps, opts);
  const isLoopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  if (!isLoopback && opts.token === undefined) {
    opts.logger?.warn(
      { host },
      'HTTP API listens beyond loopback without a token: anyone who reaches it can change streams',
    );
  }
  const url = await server.listen({ port: opts.port, host });
  return { url, close: () => server.close() };
}

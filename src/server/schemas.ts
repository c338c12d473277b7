import { z } from 'zod';
import type { SourceState } from '../ingest/index.ts';
import { INCIDENT_TYPES } from '../shared/index.ts';
import type { Incident } from '../shared/index.ts';
import type { ServerStreamState } from './deps.ts';
import { ServerErrorCodes } from './errors.ts';

/**
 * Zod schemas of the API's requests and responses. Handlers validate with them and the
 * OpenAPI document is generated from them, so the two cannot drift apart.
 */

const SOURCE_STATES = ['connecting', 'live', 'lost', 'ended', 'stopped'] as const satisfies readonly SourceState[];
// Compile-time: fails if ingest grows a state the API does not document.
const _allStates: readonly (typeof SOURCE_STATES)[number][] = [] as SourceState[];
void _allStates;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export const incidentSchema = z
  .strictObject({
    id: z.string(),
    streamId: z.string(),
    streamName: z.string(),
    tags: z.array(z.string()),
    type: z.enum(INCIDENT_TYPES),
    severity: z.enum(['critical', 'major', 'minor']),
    channel: z.string().optional().describe('Distinguishes parallel incidents of one type, e.g. an audio channel.'),
    state: z.enum(['open', 'closed']),
    start: z.number().describe('Media time (s) of onset.'),
    end: z.number().optional().describe('Media time (s) of the end (closed incidents).'),
    openedAt: z.string().describe('Wall time (ISO 8601) of onset.'),
    closedAt: z.string().optional().describe('Wall time (ISO 8601) of the end.'),
    occurrences: z.number().int().describe('How many times the defect came back while open.'),
    measurements: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    confidence: z.number().optional(),
    thumbnailUrl: z.string().optional().describe('The picture at onset (`?at=close`: after it closed).'),
    clipUrl: z
      .string()
      .optional()
      .describe('Evidence clip (MPEG-TS, original packets around the onset); 404 until it is cut, a few seconds after onset.'),
    silenced: z
      .boolean()
      .describe('True while a silence or maintenance window holds back its notifications (it is still recorded and shown).'),
    silencedBy: z.array(z.string()).optional().describe('Ids of the silences that matched when it opened.'),
    acknowledged: z
      .strictObject({ by: z.string(), at: z.string(), note: z.string().optional() })
      .optional()
      .describe('Who acknowledged it, when (ISO 8601), and why.'),
  })
  .describe('An incident: one defect interval on one stream.');

const statusFields = {
  state: z.enum(SOURCE_STATES).describe('"connecting" until the first status arrives.'),
  fps: z.number().nullable().describe('Decoded frames per second; null before the first status.'),
  bitrate: z.number().nullable().describe('Input bitrate over the last second (bits/s).'),
  lastFrameAt: z.string().nullable().describe('Wall time (ISO 8601) of the last fresh frame; null when none yet.'),
  mediaTime: z.number().nullable().describe('Media time (s) of the latest frame.'),
  decodeLag: z.number().nullable().describe('Seconds the latest frame lags where pacing says it should be.'),
  decodeErrors: z.number().int(),
  reconnects: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  lastError: z.string().optional(),
};

export const streamViewSchema = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    url: z.string().describe('Input URL; a password in the URL is shown as "***".'),
    tags: z.array(z.string()),
    ...statusFields,
    gauges: z.record(z.string(), z.number()).describe('Latest detector measurements, by name.'),
    openIncidents: z.array(incidentSchema),
  })
  .describe('A monitored stream with its latest status.');
export type StreamView = z.infer<typeof streamViewSchema>;

export const statusEventSchema = z
  .strictObject({ id: z.string(), ...statusFields, gauges: z.record(z.string(), z.number()) })
  .describe('Payload of an SSE `status` event.');

export const incidentPageSchema = z.strictObject({
  items: z.array(incidentSchema),
  total: z.number().int().describe('Incidents matching the filters, before pagination.'),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const errorSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.values(ServerErrorCodes) as [string, ...string[]]),
      message: z.string(),
      details: z.array(z.string()).describe('One line per problem, each naming the field, e.g. "query.limit: ...".'),
    }),
  })
  .describe('Every error response.');

export const healthSchema = z.strictObject({ status: z.enum(['ok', 'ready']) });

export const streamIdParams = z.strictObject({ id: z.string().describe('Stream id.') });
export const incidentIdParams = z.strictObject({ id: z.string().describe('Incident id.') });
export const thumbnailQuerySchema = z.strictObject({
  at: z
    .enum(['onset', 'close'], { error: 'expected onset or close' })
    .default('onset')
    .describe('Which picture: at onset, or after the incident closed.'),
});

export const incidentQuerySchema = z.strictObject({
  stream: z.string({ error: 'expected a stream id' }).optional().describe('Only incidents of this stream id.'),
  type: z
    .enum(INCIDENT_TYPES, { error: `expected one of ${INCIDENT_TYPES.join(', ')}` })
    .optional()
    .describe('Only incidents of this type.'),
  state: z.enum(['open', 'closed'], { error: 'expected "open" or "closed"' }).optional(),
  since: z.iso
    .datetime({ offset: true, error: 'expected an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z' })
    .optional()
    .describe('Only incidents active at or after this time: still open, or opened or closed since.'),
  limit: z.coerce
    .number({ error: `expected a whole number 1-${MAX_LIMIT}` })
    .int({ error: `expected a whole number 1-${MAX_LIMIT}` })
    .min(1, { error: `expected a whole number 1-${MAX_LIMIT}` })
    .max(MAX_LIMIT, { error: `expected a whole number 1-${MAX_LIMIT}` })
    .default(DEFAULT_LIMIT),
  offset: z.coerce
    .number({ error: 'expected a whole number >= 0' })
    .int({ error: 'expected a whole number >= 0' })
    .min(0, { error: 'expected a whole number >= 0' })
    .default(0),
});
export type IncidentQuery = z.infer<typeof incidentQuerySchema>;

/** Hides the password of `scheme://user:password@host` URLs; other inputs pass through. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

export function statusView(status: ServerStreamState['status']): z.infer<z.ZodObject<typeof statusFields>> {
  if (!status) {
    return {
      state: 'connecting',
      fps: null,
      bitrate: null,
      lastFrameAt: null,
      mediaTime: null,
      decodeLag: null,
      decodeErrors: 0,
      reconnects: 0,
      width: null,
      height: null,
    };
  }
  return {
    state: status.state,
    fps: status.fps,
    bitrate: status.bitrate,
    lastFrameAt: status.lastFrameAt > 0 ? new Date(status.lastFrameAt).toISOString() : null,
    mediaTime: Number.isFinite(status.mediaTime) ? status.mediaTime : null,
    decodeLag: Number.isFinite(status.decodeLag) ? status.decodeLag : null,
    decodeErrors: status.decodeErrors,
    reconnects: status.reconnects,
    width: status.width || null,
    height: status.height || null,
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
  };
}

export function streamView(s: ServerStreamState): StreamView {
  return {
    id: s.id,
    name: s.name,
    url: redactUrl(s.url),
    tags: [...s.tags],
    ...statusView(s.status),
    gauges: { ...s.gauges },
    openIncidents: s.openIncidents.map(incidentView),
  };
}

export function incidentView(i: Incident): z.infer<typeof incidentSchema> {
  const x = i as Incident & { silenced?: boolean; silencedBy?: readonly string[]; acknowledged?: { by: string; at: string; note?: string } };
  return {
    ...i,
    tags: [...i.tags],
    measurements: { ...i.measurements },
    silenced: x.silenced === true,
    ...(x.silencedBy ? { silencedBy: [...x.silencedBy] } : {}),
    ...(x.acknowledged ? { acknowledged: { ...x.acknowledged } } : {}),
  };
}

export const ackBodySchema = z
  .strictObject({
    by: z.string({ error: 'expected who acknowledges, e.g. "ann"' }).min(1, { error: 'must not be empty' }).max(200),
    note: z.string().max(1000).optional(),
  })
  .describe('Who acknowledges the incident, and an optional note.');

export const silenceSchema = z
  .strictObject({
    id: z.string(),
    stream: z.string().optional(),
    tag: z.string().optional(),
    type: z.enum(INCIDENT_TYPES).optional(),
    startsAt: z.string().describe('ISO 8601.'),
    endsAt: z.string().describe('ISO 8601.'),
    comment: z.string().optional(),
    createdBy: z.string().optional(),
    createdAt: z.string(),
    source: z.enum(['api', 'config']).describe('"config" rules come from the config file and cannot be deleted here.'),
    state: z.enum(['pending', 'active', 'expired']).describe('"pending": a maintenance window that has not begun.'),
  })
  .describe('A silence rule or maintenance window.');

export const silenceIdParams = z.strictObject({ id: z.string().describe('Silence id.') });
export const silenceQuerySchema = z.strictObject({
  state: z
    .enum(['pending', 'active', 'expired', 'all'], { error: 'expected pending, active, expired or all' })
    .optional()
    .describe('Only silences in this state (default: pending and active).'),
});

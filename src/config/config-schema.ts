import { z } from 'zod';
import { detectorsSchema } from '../detect/index.ts';
import { notifyConfigSchema } from '../notify/index.ts';

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Signal-loss settings (ingest's own health check of each source). */
const ingestSchema = z.strictObject({
  signalLossAfter: z
    .number()
    .min(0.5, { error: 'expected at least 0.5 s' })
    .max(600, { error: 'expected at most 600 s' })
    .default(3)
    .describe('Seconds without fresh media (s) before a signal_loss incident opens.'),
  signalRecovery: z
    .number()
    .min(0, { error: 'expected at least 0 s' })
    .max(600, { error: 'expected at most 600 s' })
    .default(2)
    .describe('Seconds (s) media must flow again before signal_loss closes; bridges reconnect storms.'),
  thumbnailInterval: z
    .number()
    .min(0)
    .max(600)
    .default(5)
    .describe('Seconds (s) between live thumbnails of each stream (0 = none). Incident evidence is taken regardless.'),
  reconnectMaxDelay: z
    .number()
    .min(0.5)
    .max(300)
    .default(10)
    .describe('Longest wait (s) between reconnect attempts; waits double from 0.5 s with jitter.'),
});

export const streamSchema = z.strictObject({
  id: z
    .string({ error: 'expected a string id' })
    .regex(idPattern, { error: 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' })
    .describe('Unique stream id, used in incidents, metrics and the API.'),
  url: z
    .string({ error: 'expected a URL or file path FFmpeg can open' })
    .min(1, { error: 'expected a URL or file path FFmpeg can open' })
    .describe('Any input FFmpeg opens: file path, http(s) HLS, udp://, srt://, rtmp://, rtsp://.'),
  name: z.string().optional().describe('Human-readable name (defaults to the id).'),
  tags: z.array(z.string()).default([]).describe('Free-form tags for filtering and alert routing.'),
  detectors: detectorsSchema().optional().describe('Per-stream detector overrides, same shape as the top-level detectors.'),
  ingest: ingestSchema.partial().optional().describe('Per-stream ingest overrides.'),
});

const serverSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Serve the HTTP API, /metrics and health checks.'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('TCP port of the HTTP API (the PORT environment variable overrides it; 0 picks a free port).'),
  host: z
    .string()
    .default('127.0.0.1')
    .describe('Address to listen on. Use 0.0.0.0 in containers; set a token when listening beyond loopback.'),
  publicUrl: z
    .url({ error: 'expected an absolute http(s) URL' })
    .optional()
    .describe('URL under which operators reach this server (e.g. https://vigil.example.com); makes thumbnail links in notifications absolute.'),
  tokenEnv: z
    .string()
    .default('VIGIL_API_TOKEN')
    .describe('Environment variable holding the bearer token that mutating API calls must carry (unset: no token required).'),
});

const incidentsSchema = z.strictObject({
  flapWindow: z
    .number()
    .min(0)
    .max(3600)
    .default(10)
    .describe(
      'Seconds (s) a close is held back: if the same defect returns on the same stream within it, the incident stays open and counts another occurrence, so a flapping defect gives one open and one close; 0 = close at once.',
    ),
});

const storeSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .optional()
    .describe('SQLite database file for streams added at run time, incidents and the notification outbox. Default: vigil.db next to the config file; in-memory for the demo.'),
});

export const configSchema = z.strictObject({
  workers: z
    .union([z.literal('auto'), z.number().int().min(1).max(256)], { error: 'expected "auto" or a whole number 1-256' })
    .default('auto')
    .describe('Worker processes that decode and detect; "auto" uses one per CPU core.'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('warn').describe('Log level for structured logs on stderr.'),
  ingest: ingestSchema.default({ signalLossAfter: 3, signalRecovery: 2, thumbnailInterval: 5, reconnectMaxDelay: 10 }).describe("How sources are watched and reconnected."),
  detectors: detectorsSchema().default({}).describe('Detector options for every stream (see the detector reference).'),
  incidents: incidentsSchema.default({ flapWindow: 10 }).describe('How detector intervals become incidents.'),
  store: storeSchema.default({}).describe('Persistence.'),
  notify: notifyConfigSchema.default({ console: true }),
  server: serverSchema.default({ enabled: true, port: 8080, host: '127.0.0.1', tokenEnv: 'VIGIL_API_TOKEN' }).describe('The HTTP API.'),
  streams: z.array(streamSchema).default([]).describe('The streams to monitor.'),
});

export type VigilConfig = z.infer<typeof configSchema>;
export type VigilConfigInput = z.input<typeof configSchema>;
export type StreamConfig = z.infer<typeof streamSchema>;

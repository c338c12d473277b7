import { z } from 'zod';
import { detectorsSchema } from '../detect/index.ts';
import { notifyConfigSchema } from '../notify/index.ts';

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Ingest settings: signal-loss watch, thumbnails, reconnects, rendition (each field once, with its default). */
const ingestFields = {
  signalLossAfter: [
    z.number().min(0.5, { error: 'expected at least 0.5 s' }).max(600, { error: 'expected at most 600 s' }),
    3,
    'Seconds without fresh media (s) before a signal_loss incident opens.',
  ],
  signalRecovery: [
    z.number().min(0, { error: 'expected at least 0 s' }).max(600, { error: 'expected at most 600 s' }),
    2,
    'Seconds (s) media must flow again before signal_loss closes; bridges reconnect storms.',
  ],
  thumbnailInterval: [
    z.number().min(0).max(600),
    5,
    'Seconds (s) between live thumbnails of each stream (0 = none). Incident evidence is taken regardless.',
  ],
  reconnectMaxDelay: [
    z.number().min(0.5).max(300),
    10,
    'Longest wait (s) between reconnect attempts; waits double from 0.5 s with jitter.',
  ],
  variant: [
    z.union([z.enum(['highest', 'lowest']), z.number().int().min(1)], {
      error: 'expected "highest", "lowest" or a bandwidth in bits/s',
    }),
    'highest',
    'For an HLS master playlist (a bitrate ladder): the rendition to monitor: "highest" or "lowest" BANDWIDTH, or a number of bits/s (the highest rendition at or under it, as a player capped there would take; the lowest if none is). The other renditions are not downloaded. To watch several renditions, add the URL once per rendition. Inputs with one rendition ignore it.',
  ],
  tsAnalysis: [
    z.boolean({ error: 'expected true or false' }),
    true,
    'Read MPEG-TS files (.ts, .m2t, .trp, .tp), udp:// and srt:// (caller mode) inputs byte by byte through the TR 101 290 analyzer on their way to the demuxer (sync, PAT/PMT, continuity on every PID, CRC, PCR: docs/transport.md). false opens them with the demuxer alone (continuity and TEI as the demuxer flags them, no table or PCR checks).',
  ],
} as const;

/** The top-level `ingest` block: every field has its default. */
const ingestSchema = z.strictObject({
  signalLossAfter: ingestFields.signalLossAfter[0].default(ingestFields.signalLossAfter[1]).describe(ingestFields.signalLossAfter[2]),
  signalRecovery: ingestFields.signalRecovery[0].default(ingestFields.signalRecovery[1]).describe(ingestFields.signalRecovery[2]),
  thumbnailInterval: ingestFields.thumbnailInterval[0].default(ingestFields.thumbnailInterval[1]).describe(ingestFields.thumbnailInterval[2]),
  reconnectMaxDelay: ingestFields.reconnectMaxDelay[0].default(ingestFields.reconnectMaxDelay[1]).describe(ingestFields.reconnectMaxDelay[2]),
  variant: ingestFields.variant[0].default(ingestFields.variant[1]).describe(ingestFields.variant[2]),
  tsAnalysis: ingestFields.tsAnalysis[0].default(ingestFields.tsAnalysis[1]).describe(ingestFields.tsAnalysis[2]),
});

/**
 * A stream's `ingest` overrides: no defaults, so a field the stream leaves out comes from the
 * top-level block. (A `.partial()` of the block above kept its defaults: a stream that set one
 * field got the built-in defaults for the others, not the top-level values.)
 */
const ingestOverridesSchema = z.strictObject({
  signalLossAfter: ingestFields.signalLossAfter[0].optional().describe(ingestFields.signalLossAfter[2]),
  signalRecovery: ingestFields.signalRecovery[0].optional().describe(ingestFields.signalRecovery[2]),
  thumbnailInterval: ingestFields.thumbnailInterval[0].optional().describe(ingestFields.thumbnailInterval[2]),
  reconnectMaxDelay: ingestFields.reconnectMaxDelay[0].optional().describe(ingestFields.reconnectMaxDelay[2]),
  variant: ingestFields.variant[0].optional().describe(ingestFields.variant[2]),
  tsAnalysis: ingestFields.tsAnalysis[0].optional().describe(ingestFields.tsAnalysis[2]),
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
  ingest: ingestOverridesSchema.optional().describe('Per-stream ingest overrides; fields left out come from the top-level ingest block.'),
  program: z
    .number({ error: 'expected a programme number (program_number / service id)' })
    .int({ error: 'expected a whole programme number' })
    .min(1, { error: 'expected a programme number from 1 to 65535' })
    .max(65535, { error: 'expected a programme number from 1 to 65535' })
    .optional()
    .describe(
      'In a multi-programme MPEG-TS (MPTS) input, the programme to monitor (program_number, the service id): its first video and audio. Needs an input read byte by byte (MPEG-TS file, udp://, srt:// as caller; ingest.tsAnalysis on). Default: the first programme the PAT lists (on other inputs, the first video and audio FFmpeg finds). TR 101 290 findings on PIDs only other programmes list are theirs, not counted here; multiplex-wide ones (sync, PAT, CAT, SI) count for every programme.',
    ),
  inputOptions: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, { error: 'expected an FFmpeg option name (letters, digits, _)' }),
      z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }),
    )
    .optional()
    .describe(
      "FFmpeg options for opening this input, as ffmpeg's -option value before -i (protocol and demuxer options): listen: 1 to receive an RTMP push (url rtmp://0.0.0.0:1935/live/key), rtsp_transport: udp, user_agent, headers, ... They override Vigil's defaults for the input's scheme (read timeouts). An option FFmpeg does not know is ignored.",
    ),
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
  ingest: ingestSchema.default({ signalLossAfter: 3, signalRecovery: 2, thumbnailInterval: 5, reconnectMaxDelay: 10, variant: 'highest', tsAnalysis: true }).describe("How sources are watched and reconnected."),
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

/** The ingest settings that apply to one stream: its own overrides over the top-level block. */
export type IngestSettings = VigilConfig['ingest'];
export function streamIngest(config: Pick<VigilConfig, 'ingest'>, stream: Pick<StreamConfig, 'ingest'>): IngestSettings {
  const own = stream.ingest ?? {};
  const out: Record<string, unknown> = { ...config.ingest };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return out as IngestSettings;
}

/**
 * Scenario format for the simulator: which live test streams to produce, what they
 * show, and which defects to script into them. Validated with zod; unknown keys are errors.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes, VigilError, type IncidentType } from '../shared/index.ts';

const num = (what: string) => z.number({ error: `expected ${what}` });

const defectBase = {
  /** Onset, seconds of media time inside the cycle. */
  at: num('a number of seconds').min(0),
  /** Length in seconds. */
  duration: num('a number of seconds').positive(),
};

const blackSchema = z.strictObject({ type: z.literal('black'), ...defectBase });
const freezeSchema = z.strictObject({
  type: z.literal('freeze'),
  ...defectBase,
  /** Per-frame luma noise amplitude (0..64) added to the frozen picture. */
  grain: num('a grain amplitude 0..64').min(0).max(64).optional(),
});
const channelRef = z.union([z.number().int().min(0), z.string().min(1)], {
  error: 'expected a channel index or name',
});
const silenceSchema = z.strictObject({
  type: z.literal('silence'),
  ...defectBase,
  /**
   * One dead channel: 0-based index into the layout, or its name (FL, FR, FC, ...). All channels
   * when absent. With a channel this is an alias of `channel_loss` (ground truth type channel_loss).
   */
  channel: channelRef.optional(),
});
const signalLossSchema = z.strictObject({ type: z.literal('signal_loss'), ...defectBase });
const cleanSchema = z.strictObject({
  type: z.literal('clean'),
  ...defectBase,
  variant: z.enum(['normal', 'dark', 'static']).default('normal'),
  /** For variant dark: luma scale relative to the source (default 0.15). */
  level: num('a luma scale 0.01..1').min(0.01).max(1).optional(),
});
const damageMode = z.enum(['drop', 'bitflip', 'burst']);
const corruptionSchema = z.strictObject({
  type: z.literal('corruption'),
  ...defectBase,
  /**
   * decoder: the encoded video packets inside the window are damaged (the monitor's decoder
   * sees errors until the next keyframe); reencoded: upstream damage baked into the pictures
   * (damaged frames encoded cleanly).
   */
  variant: z.enum(['decoder', 'reencoded']).default('decoder'),
  mode: damageMode.default('bitflip'),
  /** Damage rate for damage.ts (fraction of packets / bytes hit, 0..1). */
  rate: num('a rate 0..1').gt(0).max(1).default(0.05),
  /** reencoded only: the upstream codec whose damage is baked in (default h264). */
  upstreamCodec: z.enum(['h264', 'hevc', 'mpeg2video']).default('h264'),
});
const avOffsetSchema = z.strictObject({
  type: z.literal('av_offset'),
  ...defectBase,
  /** Audio content shifted against the pictures: positive = audio late (ms, |x| <= 5000). */
  offsetMs: num('an offset in ms')
    .min(-5000)
    .max(5000)
    .refine((v) => v !== 0, 'expected a non-zero offset'),
});
const driftSchema = z
  .strictObject({
    type: z.literal('timestamp_drift'),
    ...defectBase,
    /** Audio PTS run fast (+) or slow (-) against video PTS by this many parts per million. */
    ppm: num('a drift in ppm').min(-200000).max(200000).optional(),
    /** Or: the audio PTS offset reached at the end of the window (ms, linear ramp from 0). */
    driftMs: num('a drift in ms').min(-5000).max(5000).optional(),
  })
  .refine((d) => (d.ppm === undefined) !== (d.driftMs === undefined), {
    message: 'expected exactly one of ppm|driftMs',
    path: ['ppm'],
  });
const loudnessSchema = z.strictObject({
  type: z.literal('loudness'),
  ...defectBase,
  /** Gain applied to every channel (dB): +12 too loud, -20 too quiet. */
  gainDb: num('a gain in dB')
    .min(-60)
    .max(40)
    .refine((v) => v !== 0, 'expected a non-zero gain'),
});
const clippingSchema = z.strictObject({
  type: z.literal('clipping'),
  ...defectBase,
  /**
   * Overdrive gain before the hard clip at full scale (dB). Headroom: the tone peaks at -21 dBFS
   * (clips only above +21 dB); the programme signal peaks near -10 dBFS: samples clipped over
   * 14 s measured 0.006% at +12 dB, 0.9% at +16, 6.7% at +20, 20% at +24, 48% at +30.
   */
  gainDb: num('a gain in dB').gt(0).max(60).default(30),
});
const channelLossSchema = z.strictObject({
  type: z.literal('channel_loss'),
  ...defectBase,
  /** The affected channel: 0-based index or name (FL, FR, FC). */
  channel: channelRef,
  /** dead: digital zero; phase_invert: the channel multiplied by -1. */
  variant: z.enum(['dead', 'phase_invert']).default('dead'),
});
const audioMissingSchema = z.strictObject({ type: z.literal('audio_missing'), ...defectBase });
const videoMissingSchema = z.strictObject({ type: z.literal('video_missing'), ...defectBase });
const stutterSchema = z.strictObject({
  type: z.literal('stutter'),
  ...defectBase,
  /** drop: frames not sent (timestamp gaps); duplicate: the previous picture repeated with a new timestamp. */
  mode: z.enum(['drop', 'duplicate']).default('drop'),
  /** Fraction of frames dropped/duplicated, spread evenly (0.2 = 1 of every 5). */
  rate: num('a rate 0..1').gt(0).lt(1).default(0.2),
});
const transportSchema = z.strictObject({
  type: z.literal('transport'),
  ...defectBase,
  /**
   * drop: TS packets removed (continuity errors); corrupt: payload garbled, transport_error_indicator
   * set; tables: the multiplexer stops sending PAT and PMT (their counters stay continuous); pcr:
   * PCRs moved 1-20 us off their byte position (TR 101 290 2.4, seen on a constant-bitrate
   * multiplex only: set the output's muxrateKbps).
   */
  mode: z.enum(['drop', 'corrupt', 'tables', 'pcr']).default('drop'),
  /** Fraction of the audio/video TS packets hit inside the window (tables: of the PAT/PMT packets; pcr: of the PCRs). */
  rate: num('a rate 0..1').min(0).max(1).default(0.02),
  /** Optional forward jump of every PTS/DTS/PCR at `at` (ms); later timestamps stay shifted. */
  discontinuityMs: num('a jump in ms').positive().max(600000).optional(),
});

const SCHEDULE_TYPES = [
  'black',
  'freeze',
  'silence',
  'signal_loss',
  'clean',
  'corruption',
  'av_offset',
  'timestamp_drift',
  'loudness',
  'clipping',
  'channel_loss',
  'audio_missing',
  'video_missing',
  'stutter',
  'transport',
] as const;

const scheduleItemSchema = z.discriminatedUnion(
  'type',
  [
    blackSchema,
    freezeSchema,
    silenceSchema,
    signalLossSchema,
    cleanSchema,
    corruptionSchema,
    avOffsetSchema,
    driftSchema,
    loudnessSchema,
    clippingSchema,
    channelLossSchema,
    audioMissingSchema,
    videoMissingSchema,
    stutterSchema,
    transportSchema,
  ],
  {
    error: (iss) => (iss.code === 'invalid_union' ? `expected one of ${SCHEDULE_TYPES.join('|')}` : undefined),
  },
);

/**
 * Overlap groups: items of one group must not overlap each other. Items of different groups may
 * (e.g. a loudness step during a freeze).
 */
const GROUPS: Record<ScheduleItem['type'], string> = {
  black: 'video',
  freeze: 'video',
  clean: 'video',
  signal_loss: 'video',
  stutter: 'video',
  corruption: 'video',
  video_missing: 'video',
  silence: 'audio',
  loudness: 'audio',
  clipping: 'audio',
  channel_loss: 'audio',
  audio_missing: 'audio',
  av_offset: 'sync',
  timestamp_drift: 'sync',
  transport: 'transport',
};
const AUDIO_TYPES = new Set([
  'silence',
  'loudness',
  'clipping',
  'channel_loss',
  'audio_missing',
  'av_offset',
  'timestamp_drift',
]);

/**
 * MPEG-TS only: a constant multiplex rate (kbit/s), padded with null packets and each PCR stamped
 * from its byte position, as a broadcast multiplexer sends; above the stream's own bitrate (with
 * room for its peaks). Without it the multiplex is VBR, as software encoders and OTT send.
 */
const muxrate = () => z.number().int().min(100).max(200000).optional();

const udpOutput = z.strictObject({
  type: z.literal('udp'),
  /** Destination port on 127.0.0.1; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Destination host (loopback by default). */
  host: z.string().default('127.0.0.1'),
  muxrateKbps: muxrate(),
});
/**
 * MPEG-TS over SRT (live mode): the simulator listens on 127.0.0.1:port and sends to the caller
 * that connects (the monitor, with srt://127.0.0.1:port); before a caller connects, and between
 * callers, the stream plays on unsent, as a live encoder's does.
 */
const srtOutput = z.strictObject({
  type: z.literal('srt'),
  /** Listening port on 127.0.0.1; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** SRT latency (ms): how long the receiver may wait for a retransmission. */
  latency: z.number().int().min(20).max(8000).default(120),
});
/**
 * FLV over RTMP, as an encoder pushes to an ingest point: the simulator publishes to `url` (a
 * monitor listening there with the input option listen: 1, or an RTMP server), joining on a
 * keyframe and retrying every second while nobody accepts. H.264 and AAC only (classic FLV).
 */
const rtmpOutput = z.strictObject({
  type: z.literal('rtmp'),
  url: z.string().regex(/^rtmps?:\/\/[^/]+\/.+/, { error: 'expected rtmp://host[:port]/app/stream' }),
});
/**
 * RTP over RTSP, as a camera or encoder publishes to a server (ANNOUNCE, RECORD; interleaved over
 * TCP): to a monitor listening there (input option rtsp_flags: listen) or an RTSP server. Retried
 * every second while nobody accepts.
 */
const rtspOutput = z.strictObject({
  type: z.literal('rtsp'),
  url: z.string().regex(/^rtsps?:\/\/[^/]+\/.+/, { error: 'expected rtsp://host[:port]/path' }),
});
const hlsOutput = z.strictObject({
  type: z.literal('hls'),
  /** Target segment length in seconds (cut at the next 1 s keyframe). */
  segmentSeconds: z.number().min(1).max(10).default(1),
  /** Segments listed in the sliding-window playlist. */
  windowSize: z.number().int().min(2).max(30).default(6),
});
/** Containers a stream can be rendered into (the file's extension). */
export const CONTAINERS = ['ts', 'mp4', 'mkv', 'mov', 'webm'] as const;
export type Container = (typeof CONTAINERS)[number];
/** Not live: the stream is only rendered to a file (`vigil render`, renderToFile), in any container, vp9 included. */
const fileOutput = z.strictObject({
  type: z.literal('file'),
  /** Container `vigil render` writes; default ts, or webm for vp9 (mkv when its audio is not opus). */
  container: z.enum(CONTAINERS).optional(),
  muxrateKbps: muxrate(),
});
const outputSchema = z.discriminatedUnion('type', [udpOutput, srtOutput, rtmpOutput, rtspOutput, hlsOutput, fileOutput], {
  error: (iss) => (iss.code === 'invalid_union' ? 'expected one of udp|srt|rtmp|rtsp|hls|file' : undefined),
});

const lavfiContent = z.strictObject({
  /** Any lavfi video source name: testsrc2, smptebars, mandelbrot, ... */
  source: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'expected a lavfi source name')
    .refine((s) => s !== 'clip', 'clip needs a path')
    .refine((s) => s !== 'syncpattern', 'syncpattern takes no options'),
  /** Extra source options, appended as `:key=value` (e.g. { decimals: 2 }). */
  options: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
const clipContent = z.strictObject({
  source: z.literal('clip'),
  /** Path to a media file; relative paths resolve against the scenario file (or the cwd). */
  path: z.string().min(1),
});
const syncContent = z.strictObject({
  /**
   * Flash-and-beep A/V sync pattern: once per second (on each whole second of media time) one
   * white frame on a dark background and a 1 kHz beep starting at the same instant.
   */
  source: z.literal('syncpattern'),
  /** Beep length in ms (default: one frame). */
  beepMs: num('a beep length in ms').min(5).max(500).optional(),
});
const contentSchema = z.union([syncContent, clipContent, lavfiContent], {
  error: 'expected { source: <lavfi name> }, { source: syncpattern } or { source: clip, path }',
});

const videoSchema = z.strictObject({
  width: z.number().int().min(64).max(3840).multipleOf(2).default(640),
  height: z.number().int().min(64).max(2160).multipleOf(2).default(360),
  fps: z.number().int().min(1).max(60).default(25),
  bitrateKbps: z.number().int().min(50).max(50000).default(800),
  /** h264 (libx264), hevc (libx265), mpeg2 (mpeg2video), vp9 (libvpx-vp9: files .mkv/.webm only). */
  codec: z.enum(['h264', 'hevc', 'mpeg2', 'vp9']).default('h264'),
  preset: z.enum(['ultrafast', 'superfast', 'veryfast']).default('ultrafast'),
  /** The track is declared (PMT / container header) but no video packet is ever sent. */
  missing: z.boolean().default(false),
  /**
   * Interlaced, top field first (as 576i / 1080i broadcast): each picture is woven from two
   * fields captured 1 / (2 fps) apart and encoded as interlaced (h264, mpeg2). `fps` is the
   * picture rate (25 for 50 fields a second).
   */
  interlaced: z.boolean().default(false),
});
const audioSchema = z.strictObject({
  sampleRate: z
    .union([z.literal(44100), z.literal(48000), z.literal(32000)], { error: 'expected 32000|44100|48000' })
    .default(48000),
  channels: z.number().int().min(1).max(2).default(2),
  /** aac (default), mp2 (MPEG-1 Layer II), opus (libopus, 48 kHz only). */
  codec: z.enum(['aac', 'mp2', 'opus']).default('aac'),
  /**
   * Generated sound when the content has none of its own: tone (a sine at toneHz, peak -21 dBFS,
   * about -22 LUFS in stereo) or programme (pink noise with a slow level variation, calibrated
   * to about -23 LUFS).
   */
  signal: z.enum(['tone', 'programme']).default('tone'),
  toneHz: z.number().min(20).max(20000).default(440),
  bitrateKbps: z.number().int().min(32).max(512).default(128),
  /** The track is declared (PMT / container header) but no audio packet is ever sent. */
  missing: z.boolean().default(false),
});

/** Why `stream` cannot be written to `container`, or undefined when it can. */
export function containerProblem(
  stream: { video: { codec: string }; audio: false | { codec: string }; schedule: readonly { type: string }[] },
  container: Container,
): string | undefined {
  const v = stream.video.codec;
  const a = stream.audio === false ? undefined : stream.audio.codec;
  if (container === 'ts' && v === 'vp9') return 'MPEG-TS cannot carry vp9 (use mkv or webm)';
  if (container === 'webm' && v !== 'vp9') return `webm carries vp9 video only (video.codec is ${v})`;
  if (container === 'webm' && a !== undefined && a !== 'opus') return `webm carries opus audio only (audio.codec is ${a})`;
  if (container !== 'ts' && stream.schedule.some((it) => it.type === 'transport')) {
    return 'transport damage needs MPEG-TS (container ts)';
  }
  return undefined;
}

/**
 * The container a stream is rendered into: its file output's `container`, else MPEG-TS (what the
 * live outputs send, and the only one that carries transport damage), or for vp9 webm (mkv when
 * its audio is not opus).
 */
export function containerFor(stream: {
  output: { type: string; container?: Container };
  video: { codec: string };
  audio: false | { codec: string };
}): Container {
  if (stream.output.container) return stream.output.container;
  if (stream.video.codec !== 'vp9') return 'ts';
  return stream.audio === false || stream.audio.codec === 'opus' ? 'webm' : 'mkv';
}

export const streamSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected an id of letters, digits, - and _'),
    name: z.string().optional(),
    output: outputSchema,
    content: contentSchema.default({ source: 'testsrc2' }),
    clock: z.boolean().default(true),
    video: videoSchema.default(videoSchema.parse({})),
    audio: z.union([z.literal(false), audioSchema]).default(audioSchema.parse({})),
    /** Seed for this stream's randomness (damage, grain); default: the scenario seed mixed with the id. */
    seed: z.number().int().optional(),
    /** The schedule covers [0, cycle) s of media time and repeats while looping. */
    cycle: z.number().int().min(2).max(600).default(60),
    schedule: z.array(scheduleItemSchema).default([]),
  })
  .superRefine((s, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (s.video.codec === 'vp9' && s.output.type !== 'file') {
      issue(
        ['video', 'codec'],
        `vp9 cannot be carried in MPEG-TS (output ${s.output.type} sends MPEG-TS): use h264|hevc|mpeg2, or vp9 with output { type: file } rendered to .mkv/.webm`,
      );
    }
    if (s.output.type === 'rtmp') {
      if (s.video.codec !== 'h264') issue(['video', 'codec'], `rtmp output carries h264 video (FLV), not ${s.video.codec}`);
      if (s.audio !== false && s.audio.codec !== 'aac') issue(['audio', 'codec'], `rtmp output carries aac audio (FLV), not ${s.audio.codec}`);
    }
    if (s.output.type === 'rtmp' || s.output.type === 'rtsp') {
      s.schedule.forEach((item, i) => {
        if (item.type === 'transport') issue(['schedule', i, 'type'], 'transport damage needs MPEG-TS (udp, srt or hls output)');
      });
    }
    if (s.output.type === 'file') {
      const problem = containerProblem(s, containerFor(s));
      if (problem) issue(s.output.container ? ['output', 'container'] : ['output'], problem);
    }
    if (s.video.interlaced && s.video.codec !== 'h264' && s.video.codec !== 'mpeg2') {
      issue(['video', 'interlaced'], `interlaced video is encoded as h264 or mpeg2, not ${s.video.codec}`);
    }
    if (s.video.codec === 'mpeg2' && ![24, 25, 30, 50, 60].includes(s.video.fps)) {
      issue(['video', 'fps'], 'mpeg2 needs a standard frame rate: 24|25|30|50|60');
    }
    if (s.audio !== false && s.audio.codec === 'opus' && s.audio.sampleRate !== 48000) {
      issue(['audio', 'sampleRate'], 'opus needs sampleRate 48000');
    }
    if (s.audio !== false && s.video.missing && s.audio.missing) {
      issue(['audio', 'missing'], 'expected at most one missing track');
    }
    s.schedule.forEach((item, i) => {
      if (item.at + item.duration > s.cycle + 1e-9) {
        issue(['schedule', i, 'duration'], `expected at + duration <= cycle (${s.cycle})`);
      }
      if (AUDIO_TYPES.has(item.type) && s.audio === false) {
        issue(['schedule', i, 'type'], `${item.type} needs audio (audio is false)`);
      }
      if (
        (item.type === 'silence' || item.type === 'channel_loss') &&
        item.channel !== undefined &&
        s.audio !== false
      ) {
        const names = channelNames(s.audio.channels);
        if (typeof item.channel === 'number' && item.channel >= s.audio.channels) {
          issue(['schedule', i, 'channel'], `expected a channel index < ${s.audio.channels}`);
        }
        if (typeof item.channel === 'string' && !names.includes(item.channel)) {
          issue(['schedule', i, 'channel'], `expected one of ${names.join('|')}`);
        }
      }
      if (
        item.type === 'timestamp_drift' &&
        item.driftMs !== undefined &&
        Math.abs(item.driftMs) > 200 * item.duration
      ) {
        // Faster than 20%: audio timestamps would stop increasing (muxers refuse that).
        issue(['schedule', i, 'driftMs'], `expected |driftMs| <= ${200 * item.duration} (20% of the window)`);
      }
      if (item.type === 'av_offset' && Math.abs(item.offsetMs) / 1000 >= s.cycle) {
        issue(['schedule', i, 'offsetMs'], `expected |offsetMs| < cycle (${s.cycle} s)`);
      }
    });
    // Items of one overlap group must not overlap each other.
    const items = s.schedule.map((it, i) => ({ it, i }));
    for (let a = 0; a < items.length; a++) {
      for (let b = a + 1; b < items.length; b++) {
        const x = items[a]!.it;
        const y = items[b]!.it;
        if (GROUPS[x.type] !== GROUPS[y.type]) continue;
        if (x.at < y.at + y.duration && y.at < x.at + x.duration) {
          issue(['schedule', items[b]!.i, 'at'], `expected no overlap with schedule[${items[a]!.i}] (${x.type})`);
        }
      }
    }
  });

export const scenarioSchema = z
  .strictObject({
    /** Seed for the grain/pointer pseudo-random generators. */
    seed: z.number().int().default(1),
    /** Port of the one HTTP server that serves every HLS stream (0 = ephemeral). */
    hlsPort: z.number().int().min(0).max(65535).default(0),
    /**
     * Seconds between startSimulation() resolving and the first frame being sent, so that a
     * monitor started right after can connect before frame 0 (then its media time lines up
     * with the ground truth exactly). HLS playlists appear one segment after this.
     */
    startDelay: z.number().min(0).max(60).default(1),
    streams: z.array(streamSchema).min(1, 'expected at least one stream'),
  })
  .superRefine((sc, ctx) => {
    const seen = new Map<string, number>();
    sc.streams.forEach((s, i) => {
      if (seen.has(s.id))
        ctx.addIssue({
          code: 'custom',
          path: ['streams', i, 'id'],
          message: `expected a unique id (also streams[${seen.get(s.id)}])`,
        });
      seen.set(s.id, i);
    });
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioStream = Scenario['streams'][number];
export type ScheduleItem = ScenarioStream['schedule'][number];
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** Ground-truth type: an incident type name, or `clean` for a labelled defect-free stretch. */
export type GroundTruthType = IncidentType | 'clean';

/** Ground truth for one scripted interval, as played. */
export interface GroundTruthEntry {
  streamId: string;
  type: GroundTruthType;
  /** Media seconds since the first frame the stream emitted. */
  start: number;
  /** Media seconds; for live entries absent (undefined) until playback reaches it. */
  end?: number;
  /** Audio channel name (FL, FR, FC) for channel_loss. */
  channel?: string;
  /** ISO 8601 wall times when the replay crossed start/end (live only). */
  wallStart?: string;
  wallEnd?: string;
  /**
   * clean: normal | dark | static; corruption: decoder | reencoded;
   * channel_loss: dead | phase_invert.
   */
  variant?: string;
  /** corruption: drop | bitflip | burst; stutter: drop | duplicate; transport: drop | corrupt. */
  mode?: string;
  /** corruption/stutter/transport: the damage rate asked for. */
  rate?: number;
  /** av_sync: `content` (audio samples shifted) or `timestamps` (PTS drift, content in sync). */
  kind?: 'content' | 'timestamps';
  /** av_sync kind content: audio offset against the pictures in ms (positive = audio late). */
  offsetMs?: number;
  /** av_sync kind timestamps: audio PTS minus video PTS at the end of the window (ms) and the rate (ppm). */
  driftMs?: number;
  ppm?: number;
  /** loudness / clipping: the gain applied (dB). */
  gainDb?: number;
  /** transport: forward timestamp jump at the start (ms). */
  discontinuityMs?: number;
  /** audio_missing / video_missing: the whole stream (a track declared but never sent). */
  whole?: boolean;
  /** Loop index (0-based) of the cycle this entry belongs to (live only). */
  loop?: number;
}

/** Channel names in FFmpeg's native order for the default layout of `n` channels. */
export function channelNames(n: number): string[] {
  return n === 1 ? ['FC'] : ['FL', 'FR'].slice(0, n);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

function issueLines(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const iss of error.issues) {
    const path = formatPath(iss.path);
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) lines.push(`${path === '(root)' ? k : `${path}.${k}`}: unknown key`);
      continue;
    }
    let msg = iss.message;
    // zod 4 phrases type errors as "Invalid input: expected number, received string".
    msg = msg.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
    lines.push(`${path}: ${msg}`);
  }
  return lines;
}

/** Validate a scenario object; throws VigilError(SCENARIO_INVALID) naming every bad field. */
export function parseScenario(input: unknown): Scenario {
  const r = scenarioSchema.safeParse(input);
  if (!r.success) {
    const details = issueLines(r.error);
    throw new VigilError(
      ErrorCodes.SCENARIO_INVALID,
      `invalid scenario: ${details[0] ?? 'unknown error'}${details.length > 1 ? ` (+${details.length - 1} more)` : ''}`,
      details,
    );
  }
  return r.data;
}

/** Read a YAML or JSON scenario file. Relative clip paths resolve against the file's folder. */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new VigilError(
      ErrorCodes.SCENARIO_INVALID,
      `cannot read scenario file ${path}`,
      [`${path}: ${(e as Error).message}`],
      { cause: e },
    );
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new VigilError(
      ErrorCodes.SCENARIO_INVALID,
      `cannot parse scenario file ${path}`,
      [`(root): ${(e as Error).message}`],
      { cause: e },
    );
  }
  const sc = parseScenario(raw);
  for (const s of sc.streams) {
    const c = s.content;
    if ('path' in c) {
      const clip: string = c.path;
      if (!isAbsolute(clip)) c.path = resolve(dirname(path), clip);
    }
  }
  return sc;
}

/**
 * The embedded demo: three live streams on loopback (MPEG-TS over UDP, MPEG-TS over SRT, HLS).
 * Within ~60 s each shows black, freeze and silence intervals opening and closing,
 * and together they show a signal loss, a one-channel silence and labelled clean stretches.
 */
export function demoScenario(): Scenario {
  return parseScenario({
    seed: 1,
    streams: [
      {
        id: 'udp-bars',
        name: 'UDP test pattern',
        output: { type: 'udp', port: 0 },
        content: { source: 'testsrc2' },
        clock: true,
        video: { width: 640, height: 360, fps: 25, bitrateKbps: 800 },
        audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
        cycle: 60,
        schedule: [
          { at: 8, type: 'black', duration: 4 },
          { at: 14, type: 'clean', duration: 5, variant: 'dark' },
          // No grain: under a burnt-in clock at 800 kbit/s 640x360, a grain freeze is missed at every
          // amplitude tried (10-30; README, limitations), and the demo shows what Vigil catches.
          { at: 22, type: 'freeze', duration: 5 },
          { at: 30, type: 'silence', duration: 4 },
          { at: 36, type: 'silence', duration: 4, channel: 1 },
          { at: 44, type: 'signal_loss', duration: 5 },
          { at: 52, type: 'clean', duration: 6, variant: 'normal' },
        ],
      },
      {
        id: 'srt-testsrc',
        name: 'SRT moving test card',
        output: { type: 'srt', port: 0 },
        // testsrc (v1) is a still card with a small scrolling band: a freeze detector rightly
        // treats it like a frozen picture under a ticker, so the demo uses testsrc2's motion.
        content: { source: 'testsrc2', options: { alpha: 255 } },
        clock: true,
        video: { width: 640, height: 360, fps: 25, bitrateKbps: 700 },
        audio: { sampleRate: 48000, channels: 2, toneHz: 660 },
        cycle: 60,
        schedule: [
          { at: 5, type: 'clean', duration: 6, variant: 'static' },
          { at: 15, type: 'freeze', duration: 4 },
          { at: 25, type: 'black', duration: 3 },
          { at: 33, type: 'silence', duration: 5 },
          { at: 45, type: 'clean', duration: 8, variant: 'normal' },
        ],
      },
      {
        id: 'hls-pattern',
        name: 'HLS test pattern',
        output: { type: 'hls', segmentSeconds: 1 },
        content: { source: 'testsrc2', options: { alpha: 255 } },
        clock: true,
        video: { width: 640, height: 360, fps: 25, bitrateKbps: 600 },
        audio: { sampleRate: 48000, channels: 2, toneHz: 1000 },
        cycle: 60,
        schedule: [
          { at: 10, type: 'black', duration: 4 },
          { at: 20, type: 'freeze', duration: 4 },
          { at: 30, type: 'silence', duration: 4 },
          { at: 38, type: 'clean', duration: 6, variant: 'dark' },
          { at: 48, type: 'clean', duration: 6, variant: 'static' },
        ],
      },
    ],
  });
}

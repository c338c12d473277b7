/**
 * Scenario format for the simulator: which live test streams to produce, what they
 * show, and which defects to script into them. Validated with zod; unknown keys are errors.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes, VigilError } from '../shared/index.ts';

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
const silenceSchema = z.strictObject({
  type: z.literal('silence'),
  ...defectBase,
  /** One dead channel: 0-based index into the layout, or its name (FL, FR, FC, ...). All channels when absent. */
  channel: z
    .union([z.number().int().min(0), z.string().min(1)], { error: 'expected a channel index or name' })
    .optional(),
});
const signalLossSchema = z.strictObject({ type: z.literal('signal_loss'), ...defectBase });
const cleanSchema = z.strictObject({
  type: z.literal('clean'),
  ...defectBase,
  variant: z.enum(['normal', 'dark', 'static']).default('normal'),
  /** For variant dark: luma scale relative to the source (default 0.15). */
  level: num('a luma scale 0.01..1').min(0.01).max(1).optional(),
});

const SCHEDULE_TYPES = ['black', 'freeze', 'silence', 'signal_loss', 'clean'] as const;

const scheduleItemSchema = z.discriminatedUnion(
  'type',
  [blackSchema, freezeSchema, silenceSchema, signalLossSchema, cleanSchema],
  {
    error: (iss) => (iss.code === 'invalid_union' ? `expected one of ${SCHEDULE_TYPES.join('|')}` : undefined),
  },
);

const udpOutput = z.strictObject({
  type: z.literal('udp'),
  /** Destination port on 127.0.0.1; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Destination host (loopback by default). */
  host: z.string().default('127.0.0.1'),
});
const hlsOutput = z.strictObject({
  type: z.literal('hls'),
  /** Target segment length in seconds (cut at the next 1 s keyframe). */
  segmentSeconds: z.number().min(1).max(10).default(1),
  /** Segments listed in the sliding-window playlist. */
  windowSize: z.number().int().min(2).max(30).default(6),
});
const outputSchema = z.discriminatedUnion('type', [udpOutput, hlsOutput], {
  error: (iss) => (iss.code === 'invalid_union' ? 'expected one of udp|hls' : undefined),
});

const lavfiContent = z.strictObject({
  /** Any lavfi video source name: testsrc2, smptebars, mandelbrot, ... */
  source: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'expected a lavfi source name')
    .refine((s) => s !== 'clip', 'clip needs a path'),
  /** Extra source options, appended as `:key=value` (e.g. { decimals: 2 }). */
  options: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
const clipContent = z.strictObject({
  source: z.literal('clip'),
  /** Path to a media file; relative paths resolve against the scenario file (or the cwd). */
  path: z.string().min(1),
});
const contentSchema = z.union([clipContent, lavfiContent], {
  error: 'expected { source: <lavfi name> } or { source: clip, path }',
});

const videoSchema = z.strictObject({
  width: z.number().int().min(64).max(3840).multipleOf(2).default(640),
  height: z.number().int().min(64).max(2160).multipleOf(2).default(360),
  fps: z.number().int().min(1).max(60).default(25),
  bitrateKbps: z.number().int().min(50).max(50000).default(800),
  codec: z.literal('h264').default('h264'),
  preset: z.enum(['ultrafast', 'superfast', 'veryfast']).default('ultrafast'),
});
const audioSchema = z.strictObject({
  sampleRate: z
    .union([z.literal(44100), z.literal(48000), z.literal(32000)], { error: 'expected 32000|44100|48000' })
    .default(48000),
  channels: z.number().int().min(1).max(2).default(2),
  toneHz: z.number().min(20).max(20000).default(440),
  bitrateKbps: z.number().int().min(32).max(512).default(128),
});

export const streamSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected an id of letters, digits, - and _'),
    name: z.string().optional(),
    output: outputSchema,
    content: contentSchema.default({ source: 'testsrc2' }),
    clock: z.boolean().default(true),
    video: videoSchema.default(videoSchema.parse({})),
    audio: z.union([z.literal(false), audioSchema]).default(audioSchema.parse({})),
    /** The schedule covers [0, cycle) s of media time and repeats while looping. */
    cycle: z.number().int().min(2).max(600).default(60),
    schedule: z.array(scheduleItemSchema).default([]),
  })
  .superRefine((s, ctx) => {
    s.schedule.forEach((item, i) => {
      if (item.at + item.duration > s.cycle + 1e-9) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', i, 'duration'],
          message: `expected at + duration <= cycle (${s.cycle})`,
        });
      }
      if (item.type === 'silence' && s.audio === false) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', i, 'type'],
          message: 'silence needs audio (audio is false)',
        });
      }
      if (
        item.type === 'silence' &&
        typeof item.channel === 'number' &&
        s.audio !== false &&
        item.channel >= s.audio.channels
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule', i, 'channel'],
          message: `expected a channel index < ${s.audio.channels}`,
        });
      }
      if (item.type === 'silence' && typeof item.channel === 'string' && s.audio !== false) {
        const names = channelNames(s.audio.channels);
        if (!names.includes(item.channel)) {
          ctx.addIssue({
            code: 'custom',
            path: ['schedule', i, 'channel'],
            message: `expected one of ${names.join('|')}`,
          });
        }
      }
    });
    // Video defects (black, freeze, clean variants) and signal loss must not overlap each other.
    const exclusive = s.schedule.map((it, i) => ({ it, i })).filter(({ it }) => it.type !== 'silence');
    for (let a = 0; a < exclusive.length; a++) {
      for (let b = a + 1; b < exclusive.length; b++) {
        const x = exclusive[a]!.it;
        const y = exclusive[b]!.it;
        if (x.at < y.at + y.duration && y.at < x.at + x.duration) {
          ctx.addIssue({
            code: 'custom',
            path: ['schedule', exclusive[b]!.i, 'at'],
            message: `expected no overlap with schedule[${exclusive[a]!.i}] (${x.type})`,
          });
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

/** Ground truth for one scripted interval, as played. */
export interface GroundTruthEntry {
  streamId: string;
  type: 'black' | 'freeze' | 'silence' | 'signal_loss' | 'clean';
  /** Media seconds since the first frame the stream emitted. */
  start: number;
  /** Media seconds; for live entries absent (undefined) until playback reaches it. */
  end?: number;
  /** Audio channel name (FL, FR, ...) for a one-channel silence. */
  channel?: string;
  /** ISO 8601 wall times when the replay crossed start/end (live only). */
  wallStart?: string;
  wallEnd?: string;
  /** For type clean: normal | dark | static. */
  variant?: 'normal' | 'dark' | 'static';
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
 * The embedded demo: three live streams on loopback (two MPEG-TS over UDP, one HLS).
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
          { at: 22, type: 'freeze', duration: 5, grain: 10 },
          { at: 30, type: 'silence', duration: 4 },
          { at: 36, type: 'silence', duration: 4, channel: 1 },
          { at: 44, type: 'signal_loss', duration: 5 },
          { at: 52, type: 'clean', duration: 6, variant: 'normal' },
        ],
      },
      {
        id: 'udp-testsrc',
        name: 'UDP moving test card',
        output: { type: 'udp', port: 0 },
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

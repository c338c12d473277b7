/**
 * Synthetic media for detector tests: VideoFrameView objects with the same preview plane
 * ingest computes, and float32 planar AudioChunk objects. Noise comes from a seeded PRNG so
 * every run sees the same pixels.
 */
import { defaultOptions, type DetectorContext } from '../../src/detect/index.ts';
import type { DetectorSpec, OptionTable, OptionValues } from '../../src/detect/spec.ts';
import { computePreview } from '../../src/ingest/index.ts';
import type { AudioChunk, IntervalEdge, PreviewPlane, VideoFrameView } from '../../src/shared/index.ts';
import { prng } from '../../src/shared/index.ts';


/** Uniform integer noise in [-amp, amp]. */
export function noise(rand: () => number, amp: number): number {
  return Math.floor(rand() * (2 * amp + 1)) - amp;
}

export const clampLuma = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Preview geometry exactly as ingest's VideoViewBuilder sizes it. */
export function previewGeometry(width: number, height: number): { step: number; width: number; height: number } {
  const step = Math.max(2, Math.floor(width / 192));
  return {
    step,
    width: Math.max(1, Math.floor((width - 1) / step)),
    height: Math.max(1, Math.floor((height - 1) / step)),
  };
}

export interface FrameOptions {
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly fullRange?: boolean;
  readonly wallStart?: number;
}

/** Luma of pixel (x, y) in frame `i`; the result is clamped to 0..255 and rounded. */
export type LumaFn = (x: number, y: number, i: number) => number;

/** Builds one VideoFrameView from a full luma plane (stride = width) with a real preview. */
export function frameFromLuma(
  luma: Uint8Array,
  width: number,
  height: number,
  mediaTime: number,
  frameDuration: number,
  opts: { fullRange?: boolean; wallTime?: number } = {},
): VideoFrameView {
  const g = previewGeometry(width, height);
  const preview: PreviewPlane = { data: new Uint8Array(g.width * g.height), width: g.width, height: g.height };
  computePreview(luma, width, g.step, preview);
  return {
    kind: 'video',
    mediaTime,
    wallTime: opts.wallTime ?? 1_700_000_000_000 + mediaTime * 1000,
    width,
    height,
    luma,
    lumaStride: width,
    frameDuration,
    preview,
    fullRange: opts.fullRange ?? false,
    decodeError: false,
    keyFrame: false,
    interlaced: false,
  };
}

/** Frame `i` of a synthetic sequence, pixels from `fill`. */
export function videoFrame(fill: LumaFn, i: number, opts: FrameOptions = {}): VideoFrameView {
  const width = opts.width ?? 320;
  const height = opts.height ?? 180;
  const fps = opts.fps ?? 25;
  const luma = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) luma[row + x] = clampLuma(fill(x, y, i));
  }
  const t = i / fps;
  return frameFromLuma(luma, width, height, t, 1 / fps, {
    fullRange: opts.fullRange ?? false,
    wallTime: (opts.wallStart ?? 1_700_000_000_000) + t * 1000,
  });
}

/** `count` frames starting at frame index `first` (media time first / fps). */
export function videoFrames(fill: LumaFn, first: number, count: number, opts: FrameOptions = {}): VideoFrameView[] {
  const out: VideoFrameView[] = [];
  for (let i = first; i < first + count; i++) out.push(videoFrame(fill, i, opts));
  return out;
}

/** A deterministic detailed texture (sum of sines plus fixed hash noise), values ~40..200. */
export function texture(seed = 1): (x: number, y: number) => number {
  const s = seed * 0.37;
  return (x, y) => {
    const h = Math.sin(x * 12.9898 + y * 78.233 + s) * 43758.5453;
    const hash = (h - Math.floor(h)) * 30;
    return 110 + 35 * Math.sin(x / 7 + s) + 25 * Math.cos(y / 5 - s) + 15 * Math.sin((x + y) / 11) + hash;
  };
}

export interface AudioOptions {
  readonly sampleRate?: number;
  /** Samples per chunk. */
  readonly chunkSize?: number;
  readonly channelNames?: readonly string[];
  readonly wallStart?: number;
}

/** Sample value of channel `c` at absolute sample index `n`. */
export type SampleFn = (c: number, n: number, sampleRate: number) => number;

/** Chunks covering [start, start + seconds) with samples from `fn`. */
export function audioChunks(fn: SampleFn, start: number, seconds: number, opts: AudioOptions = {}): AudioChunk[] {
  const sampleRate = opts.sampleRate ?? 48000;
  const chunkSize = opts.chunkSize ?? 1024;
  const names = opts.channelNames ?? ['FL', 'FR'];
  const first = Math.round(start * sampleRate);
  const total = Math.round(seconds * sampleRate);
  const out: AudioChunk[] = [];
  for (let off = 0; off < total; off += chunkSize) {
    const n = Math.min(chunkSize, total - off);
    const channels = names.map((_, c) => {
      const pcm = new Float32Array(n);
      for (let k = 0; k < n; k++) pcm[k] = fn(c, first + off + k, sampleRate);
      return pcm;
    });
    const mediaTime = (first + off) / sampleRate;
    out.push({
      kind: 'audio',
      mediaTime,
      wallTime: (opts.wallStart ?? 1_700_000_000_000) + mediaTime * 1000,
      sampleRate,
      nbSamples: n,
      channels,
      channelNames: names,
    });
  }
  return out;
}

/** A sine of `freq` Hz whose RMS is `dbfs` (peak = rms * sqrt 2). */
export function sine(freq: number, dbfs: number): (n: number, sampleRate: number) => number {
  const peak = 10 ** (dbfs / 20) * Math.SQRT2;
  return (n, sr) => peak * Math.sin((2 * Math.PI * freq * n) / sr);
}

export const silent = (): number => 0;

/** The same sine on every channel. */
export function sineChunks(
  start: number,
  seconds: number,
  freq = 440,
  dbfs = -20,
  opts: AudioOptions = {},
): AudioChunk[] {
  const s = sine(freq, dbfs);
  return audioChunks((_c, n, sr) => s(n, sr), start, seconds, opts);
}

/** Digital silence on every channel. */
export function silenceChunks(start: number, seconds: number, opts: AudioOptions = {}): AudioChunk[] {
  return audioChunks(silent, start, seconds, opts);
}

/** One generator per channel (index = channel). */
export function perChannelChunks(
  gens: readonly ((n: number, sampleRate: number) => number)[],
  start: number,
  seconds: number,
  opts: AudioOptions = {},
): AudioChunk[] {
  const names = opts.channelNames ?? ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'].slice(0, gens.length);
  return audioChunks((c, n, sr) => gens[c]!(n, sr), start, seconds, { ...opts, channelNames: names });
}

/** A DetectorContext that records every edge and gauge. */
export function collectingContext(streamId = 'test'): DetectorContext & {
  edges: IntervalEdge[];
  gauges: Map<string, number>;
} {
  const edges: IntervalEdge[] = [];
  const gauges = new Map<string, number>();
  return {
    streamId,
    edges,
    gauges,
    report: (e) => edges.push(e),
    gauge: (name, value) => gauges.set(name, value),
  };
}

/** Pairs open/close edges per (type, channel) into intervals; an unclosed open has end NaN. */
export function intervals(
  edges: readonly IntervalEdge[],
): { type: string; channel?: string; start: number; end: number }[] {
  const out: { type: string; channel?: string; start: number; end: number }[] = [];
  const open = new Map<string, number>();
  for (const e of edges) {
    const key = `${e.type}/${e.channel ?? ''}`;
    if (e.phase === 'open') {
      open.set(key, out.length);
      out.push({
        type: e.type,
        ...(e.channel !== undefined ? { channel: e.channel } : {}),
        start: e.mediaTime,
        end: Number.NaN,
      });
    } else {
      const idx = open.get(key);
      if (idx !== undefined) out[idx]!.end = e.mediaTime;
      open.delete(key);
    }
  }
  return out;
}

export { prng };

/**
 * Runs one detector over audio chunks with its default options (and `options` over them), then
 * flushes at the end of the last chunk; returns its edges, their intervals and its last gauges.
 */
export function runAudioDetector<T extends OptionTable>(
  spec: DetectorSpec<T>,
  chunks: Iterable<AudioChunk>,
  options: Partial<OptionValues<T>> = {},
): { edges: IntervalEdge[]; found: ReturnType<typeof intervals>; gauges: Map<string, number> } {
  const ctx = collectingContext();
  const det = spec.create({ ...defaultOptions(spec.options), ...options }, ctx);
  let last: AudioChunk | undefined;
  for (const c of chunks) {
    det.process(c);
    last = c;
  }
  det.flush(last ? last.mediaTime + last.nbSamples / last.sampleRate : 0, last?.wallTime ?? 0);
  return { edges: ctx.edges, found: intervals(ctx.edges), gauges: ctx.gauges };
}

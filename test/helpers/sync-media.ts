/**
 * Synthetic flash-and-beep sync pattern, as broadcast test signals carry it: once per
 * second a one-frame white full-frame flash on a dark background, and a 1 kHz beep starting
 * at the flash. `offset` moves the beeps (s, positive = audio late). Small frames keep it fast;
 * the preview is the one ingest computes.
 */
import type { AudioChunk, VideoFrameView } from '../../src/shared/index.ts';
import { prng } from '../../src/shared/index.ts';
import { audioChunks, frameFromLuma } from './frames.ts';

export interface SyncPatternOptions {
  readonly fps: number;
  /** Flash (and beep) times (s); default once per second from 1 s. */
  readonly at?: readonly number[];
  /** Per-event audio offset (s) added to `offset`, e.g. random lags. */
  readonly jitter?: readonly number[];
  readonly seconds: number;
  /** Audio offset (s), positive = audio late. */
  readonly offset: number;
  readonly sampleRate?: number;
  /** Beep length (s). */
  readonly beep?: number;
  /** RMS of the background noise on the audio (dBFS); -inf for digital silence. */
  readonly noiseDb?: number;
}

export function syncPatternVideo(o: SyncPatternOptions, width = 192, height = 108): VideoFrameView[] {
  const frames: VideoFrameView[] = [];
  const n = Math.round(o.seconds * o.fps);
  const rand = prng(7);
  for (let i = 0; i < n; i++) {
    const t = i / o.fps;
    // Flash on the frame whose interval holds the whole second (or each of `at`).
    const flash = o.at ? o.at.some((a) => Math.round(a * o.fps) === i) : Math.round(t * o.fps) % o.fps === 0 && i > 0;
    const luma = new Uint8Array(width * height);
    for (let k = 0; k < luma.length; k++) luma[k] = flash ? 235 : 20 + Math.floor(rand() * 6);
    frames.push(frameFromLuma(luma, width, height, t, 1 / o.fps));
  }
  return frames;
}

export function syncPatternAudio(o: SyncPatternOptions): AudioChunk[] {
  const sr = o.sampleRate ?? 48000;
  const beep = o.beep ?? 0.1;
  const rand = prng(11);
  const noise = o.noiseDb === undefined ? 0 : 10 ** (o.noiseDb / 20) * Math.sqrt(3);
  const at = o.at ?? Array.from({ length: Math.floor(o.seconds) }, (_, k) => k).filter((k) => k >= 1);
  const starts = at.map((a, k) => Math.round(a * o.fps) / o.fps + o.offset + (o.jitter?.[k] ?? 0));
  return audioChunks(
    (_c, n, rate) => {
      const t = n / rate;
      let tone = 0;
      for (const s of starts) {
        const dt = t - s;
        if (dt >= 0 && dt < beep) tone = 0.5 * Math.sin(2 * Math.PI * 1000 * dt);
      }
      return tone + (noise ? (rand() * 2 - 1) * noise : 0);
    },
    0,
    o.seconds,
    { sampleRate: sr, chunkSize: 1024 },
  );
}

/** Video and audio merged in media-time order (as ingest would hand them over). */
export function interleave(
  video: readonly VideoFrameView[],
  audio: readonly AudioChunk[],
): (VideoFrameView | AudioChunk)[] {
  const out: (VideoFrameView | AudioChunk)[] = [];
  let a = 0;
  for (const v of video) {
    while (a < audio.length && audio[a]!.mediaTime <= v.mediaTime) out.push(audio[a++]!);
    out.push(v);
  }
  while (a < audio.length) out.push(audio[a++]!);
  return out;
}

export interface EditedContentOptions {
  readonly fps: number;
  readonly seconds: number;
  /** Audio offset (s), positive = audio late. */
  readonly offset: number;
  readonly seed?: number;
  readonly sampleRate?: number;
}

/**
 * Ordinary-looking edited content without any test pattern: shots of 0.7-2.5 s (random), each a
 * different texture drifting slowly, with a sound effect (a decaying noise burst) starting at
 * each cut; under it a noise bed and unrelated clicks (about one a second) at random times. The
 * audio content is moved by `offset` against the pictures; timestamps stay as they are.
 */
export function editedContent(
  o: EditedContentOptions,
  width = 128,
  height = 72,
): {
  video: VideoFrameView[];
  audio: AudioChunk[];
  cuts: number[];
  /** The mono sound track the chunks carry (on both channels). */
  pcm: Float32Array;
} {
  const rand = prng(o.seed ?? 3);
  const cuts: number[] = [];
  for (let t = 0.5 + rand(); t < o.seconds; t += 0.7 + rand() * 1.8) cuts.push(Math.round(t * o.fps) / o.fps);
  const clicks: number[] = [];
  for (let t = rand(); t < o.seconds; t += 0.2 + rand() * 1.6) clicks.push(t);
  const video: VideoFrameView[] = [];
  const n = Math.round(o.seconds * o.fps);
  let shot = 0;
  for (let i = 0; i < n; i++) {
    const t = i / o.fps;
    while (shot < cuts.length && cuts[shot]! <= t + 1e-9) shot++;
    const s = shot * 0.37 + 1;
    const dx = t * 6;
    const fx = 5 + (shot % 4);
    const fy = 4 + (shot % 3);
    const col = new Float64Array(width);
    for (let x = 0; x < width; x++) col[x] = Math.sin((x + dx) / fx + s);
    const luma = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      const row = 50 * Math.cos(y / fy - s);
      const diag = 30 * Math.sin(y / 9 + 2 * s);
      for (let x = 0; x < width; x++) {
        const v = 110 + row * col[x]! + diag + ((x * 7 + shot * 13) % 17);
        luma[y * width + x] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
    video.push(frameFromLuma(luma, width, height, t, 1 / o.fps));
  }
  const sr = o.sampleRate ?? 48000;
  const noise = prng((o.seed ?? 3) + 100);
  const pcm = new Float32Array(Math.round(o.seconds * sr));
  for (let k = 0; k < pcm.length; k++) pcm[k] = (noise() * 2 - 1) * 0.01; // bed, about -43 dBFS
  const addBurst = (at: number, length: number, amp: number, decay: number) => {
    const first = Math.round((at + o.offset) * sr);
    for (let k = Math.max(0, first); k < Math.min(pcm.length, first + length * sr); k++) {
      pcm[k] = pcm[k]! + (noise() * 2 - 1) * amp * Math.exp(-(k - first) / sr / decay);
    }
  };
  for (const c of cuts) addBurst(c, 0.4, 0.4, 0.08);
  for (const c of clicks) addBurst(c, 0.05, 0.25, 0.01);
  const audio = audioChunks((_c, k) => pcm[k] ?? 0, 0, o.seconds, { sampleRate: sr, chunkSize: 1024 });
  return { video, audio, cuts, pcm };
}

/** Chunks of 1024 samples carrying `pcm` on FL and FR. */
export function chunksOf(pcm: Float32Array, sampleRate = 48000): AudioChunk[] {
  return audioChunks((_c, k) => pcm[k] ?? 0, 0, pcm.length / sampleRate, { sampleRate, chunkSize: 1024 });
}

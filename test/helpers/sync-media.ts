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
    // Flash on the frame whose interval holds the whole second.
    const flash = Math.round(t * o.fps) % o.fps === 0 && i > 0;
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
  return audioChunks(
    (_c, n, rate) => {
      const t = n / rate - o.offset;
      const inSecond = t - Math.floor(t);
      const sec = Math.floor(t);
      const tone = sec >= 1 && inSecond < beep ? 0.5 * Math.sin(2 * Math.PI * 1000 * inSecond) : 0;
      return tone + (noise ? (rand() * 2 - 1) * noise : 0);
    },
    0,
    o.seconds,
    { sampleRate: sr, chunkSize: 1024 },
  );
}

/** Video and audio merged in media-time order (as ingest would hand them over). */
export function interleave(video: readonly VideoFrameView[], audio: readonly AudioChunk[]): (VideoFrameView | AudioChunk)[] {
  const out: (VideoFrameView | AudioChunk)[] = [];
  let a = 0;
  for (const v of video) {
    while (a < audio.length && audio[a]!.mediaTime <= v.mediaTime) out.push(audio[a++]!);
    out.push(v);
  }
  while (a < audio.length) out.push(audio[a++]!);
  return out;
}

/**
 * av_sync from container timestamps (measurements.kind 'timestamps'): packets and audio
 * chunks as ingest hands them over, with the interleaving a muxer produces (audio in bursts of
 * several packets ahead of or behind the video).
 */
import { describe, expect, it } from 'vitest';
import { defaultOptions, type DetectorContext } from '../../src/detect/index.ts';
import { avSyncDetector as spec } from '../../src/detect/av-sync/av-sync-detector.ts';
import type { AudioChunk, IntervalEdge, MediaInput, PacketInfo } from '../../src/shared/index.ts';

const FPS = 25;
const SR = 48000;
const AAC = 1024;
const WRAP = 2 ** 33 / 90000;

interface StreamOptions {
  readonly seconds: number;
  /** Audio timestamp (s) as a function of the true time t (s): drift, jumps. */
  readonly audioTs?: (t: number) => number;
  /** Raw timestamp origin (s), e.g. just before the 33-bit wrap. */
  readonly origin?: number;
  /** Audio packets are muxed in bursts this long (s), MP4-chunk style. */
  readonly burst?: number;
  /** Audio frames (by true time) that are not sent at all: neither packet nor samples. */
  readonly audioDrop?: (t: number) => boolean;
  /** Video packets (by true time) that are not sent. */
  readonly videoDrop?: (t: number) => boolean;
}

/** Packets (video and audio, interleaved in bursts) and decoded audio chunks, in arrival order. */
function stream(o: StreamOptions): MediaInput[] {
  const out: MediaInput[] = [];
  const audioTs = o.audioTs ?? ((t: number) => t);
  const origin = o.origin ?? 0;
  const burst = o.burst ?? 0.5;
  const raw = (t: number) => (origin + t) % WRAP;
  let a = 0; // next audio frame index
  const silence = new Float32Array(AAC);
  for (let v = 0; v < o.seconds * FPS; v++) {
    const t = v / FPS;
    const p: PacketInfo = {
      kind: 'packet',
      track: 'video',
      mediaTime: t,
      wallTime: 1.7e12 + t * 1000,
      pts: raw(t),
      dts: raw(t),
      duration: 1 / FPS,
      size: 5000,
      keyFrame: v % FPS === 0,
      corrupt: false,
    };
    if (!o.videoDrop?.(t)) out.push(p);
    // Audio goes out in bursts: everything up to the next burst boundary once video reaches it.
    const boundary = Math.floor(t / burst) * burst + burst;
    if (Math.abs(t - (boundary - burst)) < 1e-9) {
      while ((a * AAC) / SR < boundary) {
        const ta = (a * AAC) / SR;
        const ts = audioTs(ta);
        if (o.audioDrop?.(ta)) {
          a++;
          continue;
        }
        out.push({ ...p, track: 'audio', pts: raw(ts), dts: raw(ts), duration: AAC / SR, size: 300, keyFrame: true });
        const chunk: AudioChunk = {
          kind: 'audio',
          mediaTime: ts,
          wallTime: p.wallTime,
          sampleRate: SR,
          nbSamples: AAC,
          channels: [silence, silence],
          channelNames: ['FL', 'FR'],
        };
        out.push(chunk);
        a++;
      }
    }
  }
  return out;
}

function run(inputs: readonly MediaInput[]) {
  const edges: IntervalEdge[] = [];
  const ctx: DetectorContext = { streamId: 't', report: (e) => edges.push(e), gauge: () => {} };
  const det = spec.create(defaultOptions(spec.options), ctx);
  for (const i of inputs) det.process(i);
  const last = inputs[inputs.length - 1]!;
  det.flush(last.mediaTime + 0.04, last.wallTime);
  return edges;
}

describe('av_sync from container timestamps', () => {
  it('steady timestamps with bursty interleaving: nothing', () => {
    expect(run(stream({ seconds: 40, burst: 1 }))).toEqual([]);
  });

  it('across the 33-bit MPEG-TS wrap: nothing', () => {
    expect(run(stream({ seconds: 30, origin: WRAP - 12 }))).toEqual([]);
  });

  it('audio timestamps running 1% fast from 10 s: one drift incident, rate measured', () => {
    const edges = run(stream({ seconds: 60, audioTs: (t) => (t < 10 ? t : t + (t - 10) * 0.01) }));
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('timestamps');
    expect(edges[0]!.channel).toBe('timestamps');
    expect(m.cause).toBe('drift');
    // 100 ms of skew are reached at 20 s; the open is reported where the run began.
    expect(edges[0]!.mediaTime).toBeGreaterThan(15);
    expect(edges[0]!.mediaTime).toBeLessThan(24);
    expect(Number(m.skewRatePpm)).toBeGreaterThan(7000);
    expect(Number(m.skewRatePpm)).toBeLessThan(13000);
  });

  it('audio timestamps jumping 300 ms ahead at 15 s and back at 30 s: one jump incident, opened and closed once', () => {
    const edges = run(stream({ seconds: 45, audioTs: (t) => (t >= 15 && t < 30 ? t + 0.3 : t) }));
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('timestamps');
    expect(m.cause).toBe('jump');
    expect(Math.abs(Number(m.jumpMs) - 300)).toBeLessThan(5);
    // The smoothed skew has moved at least half-way by the time the incident opens.
    expect(Number(m.skewChangeMs)).toBeGreaterThan(100);
    expect(Math.abs(edges[0]!.mediaTime - 15)).toBeLessThan(2.5);
    // The skew is smoothed over 5 s of interleaving: the end shows up to 5 s late.
    expect(edges[1]!.mediaTime).toBeGreaterThan(29.5);
    expect(edges[1]!.mediaTime).toBeLessThan(35.5);
  });

  // A drift that stops and is caught up: the audio clock (timestamps against samples counted) keeps
  // the 400 ms it accumulated, while the tracks' timestamps agree again. The incident must close.
  it('audio timestamps running 4% fast from 10 s to 20 s, then 400 ms of audio dropped to catch up: opened, and closed once the tracks agree', () => {
    const edges = run(
      stream({
        seconds: 45,
        audioTs: (t) => (t >= 10 && t < 20 ? t + (t - 10) * 0.04 : t),
        // Timestamps stay continuous: the frames the drifted ones already covered are not sent.
        audioDrop: (t) => t >= 20 && t < 20.4,
      }),
    );
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(edges[0]!.measurements!.cause).toBe('drift');
    expect(edges[0]!.mediaTime).toBeGreaterThan(10);
    expect(edges[0]!.mediaTime).toBeLessThan(16);
    // The skew is smoothed over 5 s, and recovery takes timestampMinDuration (2 s).
    expect(edges[1]!.mediaTime).toBeGreaterThan(20);
    expect(edges[1]!.mediaTime).toBeLessThan(29);
  });

  it('audio timestamps running 4% slow from 10 s to 20 s, then jumping back into step: opened, and closed once the tracks agree', () => {
    const edges = run(stream({ seconds: 45, audioTs: (t) => (t >= 10 && t < 20 ? t - (t - 10) * 0.04 : t) }));
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(edges[0]!.mediaTime).toBeGreaterThan(10);
    expect(edges[0]!.mediaTime).toBeLessThan(16);
    expect(edges[1]!.mediaTime).toBeGreaterThan(20);
    expect(edges[1]!.mediaTime).toBeLessThan(29);
  });

  // A track that goes missing for a while and comes back in step is the audio_missing /
  // video_missing detectors' business: while one track is absent the skew measures nothing.
  it('audio missing for 5 s (from 12 s), then back in step: nothing', () => {
    expect(run(stream({ seconds: 40, audioDrop: (t) => t >= 12 && t < 17 }))).toEqual([]);
  });

  it('audio missing for 5 s with 1 s interleaving bursts: nothing', () => {
    expect(run(stream({ seconds: 40, burst: 1, audioDrop: (t) => t >= 12 && t < 17 }))).toEqual([]);
  });

  it('video missing for 6 s (from 10 s), then back in step: nothing', () => {
    expect(run(stream({ seconds: 40, videoDrop: (t) => t >= 10 && t < 16 }))).toEqual([]);
  });

  it('audio missing for 5 s, then back with its timestamps 300 ms off: one incident', () => {
    const edges = run(
      stream({ seconds: 45, audioDrop: (t) => t >= 12 && t < 17, audioTs: (t) => (t >= 17 ? t + 0.3 : t) }),
    );
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(edges[0]!.mediaTime).toBeGreaterThan(16);
    expect(edges[0]!.mediaTime).toBeLessThan(22);
  });

  it('a small steady skew (40 ms) is within the limit: nothing', () => {
    expect(run(stream({ seconds: 40, audioTs: (t) => (t < 10 ? t : t + 0.04) }))).toEqual([]);
  });
});

describe('av_sync with one track only', () => {
  it('video-only then audio-only input: no incident, and the full luma plane is never read', () => {
    // A white noise picture (every frame an "event") for 120 s without audio, then audio alone.
    const edges: IntervalEdge[] = [];
    const det = spec.create(defaultOptions(spec.options), {
      streamId: 't',
      report: (e) => edges.push(e),
      gauge: () => {},
    });
    const preview = { data: new Uint8Array(32 * 18), width: 32, height: 18 };
    let seed = 1;
    for (let i = 0; i < 120 * FPS; i++) {
      for (let k = 0; k < preview.data.length; k++) preview.data[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      det.process({
        kind: 'video',
        mediaTime: i / FPS,
        wallTime: 1.7e12 + (i / FPS) * 1000,
        width: 64,
        height: 36,
        get luma(): Uint8Array {
          throw new Error('the full luma plane must not be read');
        },
        lumaStride: 64,
        frameDuration: 1 / FPS,
        preview,
        fullRange: false,
        decodeError: false,
        keyFrame: false,
        interlaced: false,
      });
    }
    const pcm = new Float32Array(AAC);
    for (let k = 0; k < 120 * (SR / AAC); k++) {
      for (let j = 0; j < AAC; j++) pcm[j] = (j + k) % 97 === 0 ? 0.5 : 0;
      det.process({
        kind: 'audio',
        mediaTime: 120 + (k * AAC) / SR,
        wallTime: 0,
        sampleRate: SR,
        nbSamples: AAC,
        channels: [pcm, pcm],
        channelNames: ['FL', 'FR'],
      });
    }
    expect(edges).toEqual([]);
  });
});

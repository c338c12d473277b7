import { describe, expect, it } from 'vitest';
import { clippingDetector as spec } from '../../src/detect/clipping/clipping-detector.ts';
import { R128Meter } from '../../src/detect/loudness/r128.ts';
import type { AudioChunk } from '../../src/shared/index.ts';
import { prng } from '../../src/shared/index.ts';
import { aacRoundTrip, audioChunksOf, decodeClip, pcmOf } from '../helpers/ebur128.ts';
import { runAudioDetector } from '../helpers/frames.ts';

const MEDIA = '../shared/media';
const SR = 48000;

function run(chunks: Iterable<AudioChunk>) {
  return runAudioDetector(spec, chunks);
}

/** A music-like stereo signal: a decaying 60 Hz kick twice a second, two tones, a lead and noise. */
function music(seconds: number, seed = 7): Float32Array[] {
  const rand = prng(seed);
  const n = Math.round(seconds * SR);
  const L = new Float32Array(n);
  const R = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const kick = Math.exp(-((t * 2) % 1) * 6) * Math.sin(2 * Math.PI * 60 * t);
    const v =
      0.5 * kick +
      0.25 * Math.sin(2 * Math.PI * 220 * t) +
      0.15 * Math.sin(2 * Math.PI * 331 * t + 1) +
      0.1 * Math.sin(2 * Math.PI * 1250 * t) +
      0.08 * (rand() - 0.5);
    L[i] = v;
    R[i] = 0.9 * v + 0.05 * (rand() - 0.5);
  }
  return [L, R];
}

function peak(chs: readonly Float32Array[]): number {
  let p = 0;
  for (const c of chs) for (const v of c) p = Math.max(p, Math.abs(v));
  return p;
}

/** Scales by `gain(t)` and clips hard at full scale. */
function gainAndClip(chs: readonly Float32Array[], gain: (t: number) => number): Float32Array[] {
  return chs.map((c) => c.map((v, i) => Math.max(-1, Math.min(1, v * gain(i / SR)))));
}

describe('clipping detector', { timeout: 30_000 }, () => {
  it('hard clipping (6 dB into the limit) that went through AAC at 128 kbit/s is found', async () => {
    const base = music(14);
    const norm = 0.5 / peak(base);
    // Clean at -6 dBFS peak, then 4..10 s pushed 6 dB past full scale and clipped, then clean again.
    const clipped = gainAndClip(base, (t) => (t >= 4 && t < 10 ? norm * 4 : norm));
    const decoded = await aacRoundTrip(clipped, SR, 128);
    // AAC smears the flat tops: the decoded signal overshoots full scale.
    expect(peak(decoded)).toBeGreaterThan(1);
    const { found, edges } = run(audioChunksOf(pcmOf(decoded, SR, ['FL', 'FR'])));
    expect(found).toHaveLength(1);
    expect(found[0]!.type).toBe('clipping');
    expect(found[0]!.start).toBeGreaterThan(3.9);
    expect(found[0]!.start).toBeLessThan(5);
    expect(found[0]!.end).toBeGreaterThan(9);
    expect(found[0]!.end).toBeLessThan(10.3);
    const m = edges[0]!.measurements!;
    expect(m.clipsPerSecond as number).toBeGreaterThanOrEqual(3);
    expect(m.channel).toMatch(/FL/);
  });

  it('a loud but unclipped master (true peak about 0 dBTP, no flat tops) does not fire, before or after AAC', async () => {
    const base = music(10, 9);
    const g = 0.98 / peak(base);
    const loud = base.map((c) => c.map((v) => v * g));
    const meter = new R128Meter(SR, ['FL', 'FR']);
    meter.process(loud, loud[0]!.length);
    expect(meter.maxTruePeak).toBeGreaterThan(-0.5);
    expect(run(audioChunksOf(pcmOf(loud, SR, ['FL', 'FR']))).edges).toEqual([]);
    for (const kbps of [128, 64]) {
      const decoded = await aacRoundTrip(loud, SR, kbps);
      expect({ kbps, edges: run(audioChunksOf(pcmOf(decoded, SR, ['FL', 'FR']))).edges }).toEqual({ kbps, edges: [] });
    }
  });

  it('PCM clipping on one channel: onset and end to the chunk, channel named', () => {
    const n = 8 * SR;
    const L = new Float32Array(n);
    const R = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / SR;
      const s = Math.sin(2 * Math.PI * 220 * t);
      L[i] = 0.5 * s;
      R[i] = t >= 2 && t < 6 ? Math.max(-1, Math.min(1, 1.6 * s)) : 0.5 * s;
    }
    const { found, edges } = run(audioChunksOf(pcmOf([L, R], SR, ['FL', 'FR'])));
    expect(found).toHaveLength(1);
    expect(Math.abs(found[0]!.start - 2)).toBeLessThan(1024 / SR + 1e-9);
    expect(Math.abs(found[0]!.end - 6)).toBeLessThan(1024 / SR + 1e-9);
    expect(edges[0]!.measurements!.channel).toBe('FR');
    // Two flat tops per cycle of 220 Hz.
    expect(edges[0]!.measurements!.clipsPerSecond as number).toBeGreaterThan(400);
  });

  it('stray full-scale peaks (one flat run every 2 s) do not fire', () => {
    const n = 10 * SR;
    const L = new Float32Array(n);
    for (let i = 0; i < n; i++) L[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / SR);
    for (let s = 1; s < 10; s += 2) L.fill(1, s * SR, s * SR + 6);
    expect(run(audioChunksOf(pcmOf([L, new Float32Array(L)], SR, ['FL', 'FR']))).edges).toEqual([]);
  });

  it('no incidents on real programme audio', async () => {
    for (const clip of [
      'bbb_720p_vp8_vorbis_0-30s.webm',
      'hls/tears_of_steel_360p_ptsrollover/playlist.m3u8',
      'speech_his_girl_friday_bw_640x480.mp4',
      'bbb_hevc_1080p_fadein_aac51.ts',
    ]) {
      const { edges } = run(audioChunksOf(await decodeClip(`${MEDIA}/${clip}`)));
      expect({ clip, edges }).toEqual({ clip, edges: [] });
    }
  });
});

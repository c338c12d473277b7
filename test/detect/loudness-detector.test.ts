import { describe, expect, it } from 'vitest';
import { loudnessDetector as spec } from '../../src/detect/loudness/loudness-detector.ts';
import { R128Meter } from '../../src/detect/loudness/r128.ts';
import type { AudioChunk } from '../../src/shared/index.ts';
import { prng } from '../../src/shared/index.ts';
import { audioChunksOf, decodeClip, pcmOf, pinkNoise, type Pcm } from '../helpers/ebur128.ts';
import { runAudioDetector } from '../helpers/frames.ts';

const MEDIA = '../shared/media';

function rms(x: Float32Array): number {
  let sq = 0;
  for (const v of x) sq += v * v;
  return 10 * Math.log10(sq / x.length);
}
const SR = 48000;

function run(chunks: Iterable<AudioChunk>, options: Partial<Record<keyof typeof spec.options, number>> = {}) {
  return runAudioDetector(spec, chunks, options);
}

/**
 * Stereo pink noise following a loudness script: [seconds, LUFS] segments, `null` for digital
 * silence. The level is calibrated with the R128 meter (which the FFmpeg agreement test checks).
 */
function programme(
  script: readonly (readonly [number, number | null])[],
  extra?: (L: Float32Array, R: Float32Array) => void,
): Pcm {
  const total = script.reduce((a, [s]) => a + s, 0);
  const L = pinkNoise(total, SR, 21, -20);
  const R = pinkNoise(total, SR, 22, -20);
  for (let i = 0; i < L.length; i++) L[i] = 0.7 * L[i]! + 0.3 * R[i]!;
  const probe = new R128Meter(SR, ['FL', 'FR']);
  probe.process([L, R], L.length);
  const base = probe.integrated();
  let off = 0;
  for (const [seconds, lufs] of script) {
    const n = Math.round(seconds * SR);
    const g = lufs === null ? 0 : 10 ** ((lufs - base) / 20);
    for (let i = off; i < off + n && i < L.length; i++) {
      L[i]! *= g;
      R[i]! *= g;
    }
    off += n;
  }
  extra?.(L, R);
  return pcmOf([L, R], SR, ['FL', 'FR']);
}

describe('loudness detector', { timeout: 30_000 }, () => {
  it('programme 10 LU too loud for 15 s: one too_loud incident from when short-term loudness crossed -17', () => {
    const pcm = programme([
      [20, -23],
      [15, -13],
      [15, -23],
    ]);
    const { found, edges } = run(audioChunksOf(pcm));
    expect(found.map((f) => f.channel)).toEqual(['too_loud']);
    // The 3 s window is 33% loud when it crosses -17 LUFS (1.0 s after the step up) and 33% loud
    // again on the way down (2.0 s after the step down).
    expect(found[0]!.start).toBeGreaterThan(20.7);
    expect(found[0]!.start).toBeLessThan(21.4);
    expect(found[0]!.end).toBeGreaterThan(36.7);
    expect(found[0]!.end).toBeLessThan(37.3);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('too_loud');
    expect(m.limit).toBe(-17);
    expect(m.shortTermLufs as number).toBeGreaterThan(-14);
    expect(m.integratedLufs as number).toBeGreaterThan(-23);
    expect(m.integratedLufs as number).toBeLessThan(-13);
    expect(typeof m.truePeakDbtp).toBe('number');
  });

  it('a -18 dBFS 1 kHz line-up tone on both channels (about -18 LUFS) is not too loud', () => {
    const n = 15 * SR;
    const tone = Float32Array.from({ length: n }, (_, i) => 10 ** (-18 / 20) * Math.sin((2 * Math.PI * 1000 * i) / SR));
    const { edges, gauges } = run(audioChunksOf(pcmOf([tone, new Float32Array(tone)], SR, ['FL', 'FR'])));
    expect(gauges.get('loudness_short_term')!).toBeCloseTo(-18, 0);
    expect(edges).toEqual([]);
  });

  it('a short loud moment (5 s) does not open an incident', () => {
    expect(
      run(
        audioChunksOf(
          programme([
            [10, -23],
            [5, -13],
            [10, -23],
          ]),
        ),
      ).edges,
    ).toEqual([]);
  });

  it('programme 22 LU too quiet for 20 s: too_quiet opens after quietMinDuration with the true start', () => {
    const pcm = programme([
      [10, -23],
      [20, -45],
      [5, -23],
    ]);
    const { found, edges } = run(audioChunksOf(pcm), { quietMinDuration: 12 });
    expect(found.map((f) => f.channel)).toEqual(['too_quiet']);
    // Below -36 LUFS once 96% of the window is quiet (2.9 s after the step down); back above within 0.2 s.
    expect(found[0]!.start).toBeGreaterThan(12.5);
    expect(found[0]!.start).toBeLessThan(13.2);
    expect(found[0]!.end).toBeGreaterThan(29.9);
    expect(found[0]!.end).toBeLessThan(30.5);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('too_quiet');
    expect(m.shortTermLufs as number).toBeLessThan(-40);
    expect(m.shortTermLufs as number).toBeGreaterThan(-50);
  });

  it('silence is not too quiet (the silence detector owns it), nor is the fade into it', () => {
    const pcm = programme([
      [5, -23],
      [20, null],
      [5, -23],
    ]);
    expect(run(audioChunksOf(pcm), { quietMinDuration: 5 }).edges).toEqual([]);
    // Control: the same stretch just above the gate is too quiet.
    const quiet = programme([
      [5, -23],
      [20, -55],
      [5, -23],
    ]);
    expect(run(audioChunksOf(quiet), { quietMinDuration: 5 }).found.map((f) => f.channel)).toEqual(['too_quiet']);
  });

  it('hiss the silence detector calls silence (-61.5 dBFS RMS, about -56 LUFS) is not too quiet', () => {
    const n = 30 * SR;
    // White noise: even from chunk to chunk, and K-weighting lifts it by a few dB.
    const rand = prng(5);
    const amp = 10 ** (-61.5 / 20) * Math.sqrt(3);
    const L = Float32Array.from({ length: n }, () => amp * (rand() * 2 - 1));
    const R = Float32Array.from({ length: n }, () => amp * (rand() * 2 - 1));
    const meter = new R128Meter(SR, ['FL', 'FR']);
    meter.process([L, R], n);
    // Above the -60 LUFS short-term gate on its own...
    expect(meter.integrated()).toBeGreaterThan(-58);
    // ...but every chunk is under -60 dBFS RMS on both channels: silence, not quiet programme.
    const chunks = [...audioChunksOf(pcmOf([L, R], SR, ['FL', 'FR']))];
    for (const c of chunks) for (const ch of c.channels) expect(rms(ch)).toBeLessThan(-60);
    expect(run(chunks, { quietMinDuration: 5 }).edges).toEqual([]);
    // Control: 6 dB louder it is quiet programme.
    const louder = [L, R].map((x) => x.map((v) => v * 2));
    expect(
      run(audioChunksOf(pcmOf(louder, SR, ['FL', 'FR'])), { quietMinDuration: 5 }).found.map((f) => f.channel),
    ).toEqual(['too_quiet']);
  });

  it('a true-peak burst over -1 dBTP opens at once and closes after the hold', () => {
    const pcm = programme([[20, -23]], (L, R) => {
      // 0.5 s of a 997 Hz tone peaking at 0.97 (-0.26 dBFS) from 5 s.
      for (let i = 5 * SR; i < 5.5 * SR; i++) {
        const v = 0.97 * Math.sin((2 * Math.PI * 997 * i) / SR + 0.3);
        L[i] = v;
        R[i] = v;
      }
    });
    const { found, edges } = run(audioChunksOf(pcm));
    expect(found.map((f) => f.channel)).toEqual(['true_peak']);
    expect(Math.abs(found[0]!.start - 5)).toBeLessThan(1024 / SR + 1e-9);
    expect(Math.abs(found[0]!.end - 5.5)).toBeLessThan(1024 / SR + 1e-9);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('true_peak');
    expect(m.truePeakDbtp as number).toBeGreaterThan(-0.4);
    expect(m.truePeakDbtp as number).toBeLessThan(0);
    // The close edge came only after 5 s without overs.
    const close = edges.find((e) => e.phase === 'close')!;
    expect(close.mediaTime).toBeCloseTo(found[0]!.end, 6);
    // With the limit raised to 0 dBTP nothing fires.
    expect(run(audioChunksOf(pcm), { truePeakLimit: 0 }).edges).toEqual([]);
  });

  it('publishes momentary, short-term and true-peak gauges', () => {
    const { gauges } = run(audioChunksOf(programme([[5, -23]])));
    expect(gauges.get('loudness_momentary')!).toBeCloseTo(-23, 0);
    expect(gauges.get('loudness_short_term')!).toBeCloseTo(-23, 0);
    expect(gauges.get('true_peak_dbtp')!).toBeLessThan(-10);
  });

  it('no incidents on normal programme audio (real clips: Vorbis music, speech, 5.1)', async () => {
    for (const clip of [
      'bbb_720p_vp8_vorbis_0-30s.webm',
      'speech_his_girl_friday_bw_640x480.mp4',
      'bbb_hevc_1080p_fadein_aac51.ts',
      'chaplin_bw_pillarbox_640x360.mp4',
    ]) {
      const { edges } = run(audioChunksOf(await decodeClip(`${MEDIA}/${clip}`)));
      expect({ clip, edges }).toEqual({ clip, edges: [] });
    }
  });

  it('flags the real loud HLS feed that FFmpeg measures at -0.6 dBTP', async () => {
    const pcm = await decodeClip(`${MEDIA}/hls/tears_of_steel_360p_ptsrollover/playlist.m3u8`);
    const { found, edges } = run(audioChunksOf(pcm));
    const peak = found.filter((f) => f.channel === 'true_peak');
    expect(peak.length).toBeGreaterThanOrEqual(1);
    const open = edges.find((e) => e.channel === 'true_peak' && e.phase === 'open')!;
    expect(open.measurements!.truePeakDbtp as number).toBeGreaterThan(-1);
  });
});

import { describe, expect, it } from 'vitest';
import { channelLossDetector as spec } from '../../src/detect/channel-loss/channel-loss-detector.ts';
import type { AudioChunk } from '../../src/shared/index.ts';
import { aacRoundTrip, audioChunksOf, decodeClip, joined, pcmOf, pinkNoise } from '../helpers/ebur128.ts';
import { perChannelChunks, runAudioDetector, silent, sine } from '../helpers/frames.ts';

const MEDIA = '../shared/media';
const SR = 48000;

function run(chunks: Iterable<AudioChunk>) {
  return runAudioDetector(spec, chunks);
}

const chunk = 1024 / SR;

describe('channel_loss detector', { timeout: 30_000 }, () => {
  it('one dead channel (FR zero, FL sine) gives one dead incident on FR', () => {
    const { found, edges } = run([
      ...perChannelChunks([sine(440, -20), sine(440, -20)], 0, 2),
      ...perChannelChunks([sine(440, -20), silent], 2, 4),
      ...perChannelChunks([sine(440, -20), sine(440, -20)], 6, 2),
    ]);
    expect(found).toHaveLength(1);
    expect(found[0]!.type).toBe('channel_loss');
    expect(found[0]!.channel).toBe('FR');
    expect(Math.abs(found[0]!.start - 2)).toBeLessThan(chunk + 1e-9);
    expect(Math.abs(found[0]!.end - 6)).toBeLessThan(chunk + 1e-9);
    expect(edges[0]!.measurements).toEqual({ kind: 'dead', levelDb: -120 });
  });

  it('all channels silent is not channel loss (the silence detector reports it)', () => {
    expect(run(perChannelChunks([silent, silent], 0, 5)).edges).toEqual([]);
  });

  it('5.1: silent LFE and surrounds are fine; a front channel that stops is reported', () => {
    const names = ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'];
    const s = sine(440, -20);
    expect(run(perChannelChunks([s, s, s, silent, silent, silent], 0, 5, { channelNames: names })).edges).toEqual([]);
    const { found } = run([
      ...perChannelChunks([s, s, s, silent, silent, silent], 0, 2, { channelNames: names }),
      ...perChannelChunks([silent, s, s, silent, silent, silent], 2, 5, { channelNames: names }),
    ]);
    expect(found.map((f) => `${f.channel} ${f.start.toFixed(1)}`)).toEqual(['FL 2.0']);
  });

  it('5.1 carrying stereo (centre silent from the start) or mono (left and right silent) is not a loss; frontFromStart reports them', () => {
    const names = ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'];
    const s = sine(440, -20);
    const stereo = perChannelChunks([s, s, silent, silent, silent, silent], 0, 6, { channelNames: names });
    const mono = perChannelChunks([silent, silent, s, silent, silent, silent], 0, 6, { channelNames: names });
    expect(run(stereo).edges).toEqual([]);
    expect(run(mono).edges).toEqual([]);
    expect(runAudioDetector(spec, stereo, { frontFromStart: true }).found.map((f) => f.channel)).toEqual(['FC']);
    expect(runAudioDetector(spec, mono, { frontFromStart: true }).found.map((f) => f.channel).sort()).toEqual(['FL', 'FR']);
    // A stereo track is judged from the start: one leg dead from the first sample is a loss.
    expect(run(perChannelChunks([s, silent], 0, 4)).found.map((f) => f.channel)).toEqual(['FR']);
    // A new layout starts over: the centre heard in 5.1 does not count for the next 5.1 stretch of other names.
    const other = ['FL', 'FR', 'FC', 'LFE', 'SL', 'SR'];
    expect(
      run([
        ...perChannelChunks([s, s, s, silent, silent, silent], 0, 2, { channelNames: names }),
        ...perChannelChunks([s, s, silent, silent, silent, silent], 2, 4, { channelNames: other }),
      ]).edges,
    ).toEqual([]);
  });

  it('FR polarity-inverted in real dialogue: phase_inverted on FL+FR, onset within 0.3 s', async () => {
    // The speech clip (AAC, 44.1 kHz, 6.2 s) is near-mono dialogue (correlation 0.99); FR inverted from 1 s.
    const pcm = await decodeClip(`${MEDIA}/speech_his_girl_friday_bw_640x480.mp4`);
    const [L, R] = joined(pcm);
    const sr = pcm.sampleRate;
    for (let i = sr; i < R!.length; i++) R![i] = -R![i]!;
    const { found, edges } = run(audioChunksOf(pcmOf([L!, R!], sr, pcm.names)));
    expect(found).toHaveLength(1);
    expect(found[0]!.channel).toBe('FL+FR');
    expect(Math.abs(found[0]!.start - 1)).toBeLessThan(0.3);
    expect(found[0]!.end).toBeCloseTo(R!.length / sr, 1);
    const m = edges[0]!.measurements!;
    expect(m.kind).toBe('phase_inverted');
    expect(m.correlation as number).toBeLessThan(-0.8);
  });

  it('an inversion that ends closes within the window', () => {
    const a = pinkNoise(12, SR, 51, -20);
    const b = a.map((v, i) => (i >= 2 * SR && i < 8 * SR ? -v : v));
    const { found } = run(audioChunksOf(pcmOf([a, b], SR, ['FL', 'FR'])));
    expect(found.map((f) => f.channel)).toEqual(['FL+FR']);
    expect(Math.abs(found[0]!.start - 2)).toBeLessThan(0.3);
    // The correlation climbs back over -0.5 once 25% of the 2 s window is in phase again.
    expect(found[0]!.end).toBeGreaterThan(8);
    expect(found[0]!.end).toBeLessThan(9);
  });

  it('inversion survives AAC encoding', async () => {
    const shared = pinkNoise(10, SR, 31, -20);
    const L = new Float32Array(shared);
    const R = shared.map((v) => -v);
    const decoded = await aacRoundTrip([L, R], SR, 128);
    const { found } = run(audioChunksOf(pcmOf(decoded, SR, ['FL', 'FR'])));
    expect(found.map((f) => f.channel)).toEqual(['FL+FR']);
  });

  it('mono duplicated on both channels, wide stereo and uncorrelated channels do not fire', () => {
    const a = pinkNoise(8, SR, 41, -20);
    const b = pinkNoise(8, SR, 42, -20);
    // Mono on both legs: correlation +1.
    expect(run(audioChunksOf(pcmOf([a, new Float32Array(a)], SR, ['FL', 'FR']))).edges).toEqual([]);
    // Uncorrelated: about 0.
    expect(run(audioChunksOf(pcmOf([a, b], SR, ['FL', 'FR']))).edges).toEqual([]);
    // Wide stereo: a shared centre plus side content (M/S with S at 0.8 of M), correlation about +0.2.
    const side = pinkNoise(8, SR, 43, -20);
    const wideL = a.map((v, i) => v + 0.8 * side[i]!);
    const wideR = a.map((v, i) => v - 0.8 * side[i]!);
    const { edges, gauges } = run(audioChunksOf(pcmOf([wideL, wideR], SR, ['FL', 'FR'])));
    expect(edges).toEqual([]);
    expect(gauges.get('stereo_correlation')!).toBeGreaterThan(0.1);
    expect(gauges.get('stereo_correlation')!).toBeLessThan(0.35);
  });

  it('side energy well above mid energy for seconds (correlation about -0.6) is reported, as a phase meter shows it', () => {
    const a = pinkNoise(8, SR, 41, -20);
    const side = pinkNoise(8, SR, 43, -20);
    const L = a.map((v, i) => 0.5 * v + side[i]!);
    const R = a.map((v, i) => 0.5 * v - side[i]!);
    const { found, gauges } = run(audioChunksOf(pcmOf([L, R], SR, ['FL', 'FR'])));
    expect(gauges.get('stereo_correlation')!).toBeLessThan(-0.5);
    expect(gauges.get('stereo_correlation')!).toBeGreaterThan(-0.8);
    expect(found.map((f) => f.channel)).toEqual(['FL+FR']);
  });

  it('no incidents on real programme audio (speech, 5.1, music, HLS)', async () => {
    for (const clip of [
      'speech_his_girl_friday_bw_640x480.mp4',
      'bbb_hevc_1080p_fadein_aac51.ts',
      'bbb_720p_vp8_vorbis_0-30s.webm',
      'hls/tears_of_steel_360p_ptsrollover/playlist.m3u8',
      'chaplin_bw_pillarbox_640x360.mp4',
    ]) {
      const { edges } = run(audioChunksOf(await decodeClip(`${MEDIA}/${clip}`)));
      expect({ clip, edges }).toEqual({ clip, edges: [] });
    }
  });
});

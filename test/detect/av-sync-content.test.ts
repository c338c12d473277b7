/**
 * av_sync on ordinary content (no test pattern): event coincidence between visual cuts and
 * audio onsets. Synthetic edited content shows the method works when events exist; the real
 * clips in ../shared/media show what it does on real footage (see the README's limits).
 */
import { describe, expect, it } from 'vitest';
import { defaultOptions, type DetectorContext } from '../../src/detect/index.ts';
import { avSyncDetector as spec } from '../../src/detect/av-sync/av-sync-detector.ts';
import { prng, type IntervalEdge, type MediaInput, type VideoFrameView } from '../../src/shared/index.ts';
import { audioChunks, frameFromLuma, intervals } from '../helpers/frames.ts';
import { aacRoundTrip } from '../helpers/ebur128.ts';
import { chunksOf, editedContent, interleave } from '../helpers/sync-media.ts';

function recording() {
  const edges: IntervalEdge[] = [];
  const gauges: Record<string, number[]> = {};
  const ctx: DetectorContext = {
    streamId: 't',
    report: (e) => edges.push(e),
    gauge: (n, v) => (gauges[n] ??= []).push(v),
  };
  return { ctx, edges, gauges };
}

function run(inputs: readonly MediaInput[]) {
  const r = recording();
  const det = spec.create(defaultOptions(spec.options), r.ctx);
  for (const i of inputs) det.process(i);
  const last = inputs[inputs.length - 1]!;
  det.flush(last.mediaTime + 0.04, last.wallTime);
  return r;
}

describe('av_sync on edited content (synthetic)', { timeout: 30_000 }, () => {
  for (const fps of [25, 30]) {
    for (const offsetMs of [-200, 0, 300]) {
      it(`audio ${offsetMs} ms at ${fps} fps: measured within a frame, incident only when out of range`, () => {
        const c = editedContent({ fps, seconds: 32, offset: offsetMs / 1000, seed: fps + offsetMs });
        const { edges, gauges } = run(interleave(c.video, c.audio));
        const offsets = gauges['av_offset_ms'] ?? [];
        expect(offsets.length, `confidence ${JSON.stringify(gauges['av_sync_confidence'])}`).toBeGreaterThan(5);
        for (const m of offsets) expect(Math.abs(m - offsetMs)).toBeLessThan(1000 / fps);
        const found = intervals(edges);
        if (offsetMs === 0) {
          expect(found).toEqual([]);
          return;
        }
        expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
        expect(edges[0]!.measurements?.kind).toBe('content');
        expect(edges[0]!.confidence).toBeGreaterThanOrEqual(0.5);
      });
    }
  }

  it('audio 300 ms late after an AAC 96 kbit/s round trip: measured within a frame, one incident', async () => {
    const c = editedContent({ fps: 25, seconds: 32, offset: 0.3, seed: 9 });
    const [coded] = await aacRoundTrip([c.pcm, c.pcm], 48000, 96);
    const { edges, gauges } = run(interleave(c.video, chunksOf(coded!)));
    const offsets = gauges['av_offset_ms'] ?? [];
    expect(offsets.length).toBeGreaterThan(5);
    for (const m of offsets) expect(Math.abs(m - 300)).toBeLessThan(40);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });

  it('without sound at the cuts (audio unrelated to the pictures) there is no verdict', () => {
    const pictures = editedContent({ fps: 25, seconds: 32, offset: 0, seed: 1 });
    const sound = editedContent({ fps: 25, seconds: 32, offset: 0, seed: 2 });
    const { edges, gauges } = run(interleave(pictures.video, sound.audio));
    expect(edges).toEqual([]);
    expect(gauges['av_offset_ms'] ?? []).toEqual([]);
    expect(Math.max(...(gauges['av_sync_confidence'] ?? [0]))).toBeLessThan(0.5);
  });
  it('the refresh of a still picture at every keyframe is not a visual event (a periodic sound does not match it)', () => {
    // A still shot through an encoder with a keyframe every second: each keyframe re-codes the
    // picture a little (a few levels of new quantisation noise), the frame after settles it, and
    // nothing else changes. Over it, a sound with a beat every second, 300 ms after each keyframe.
    // Those refreshes used to be onsets, one a second, which the beat matched at +300 ms with
    // full support: a confident "audio late" verdict on a picture with no events at all.
    const fps = 25;
    const seconds = 32;
    const w = 128;
    const h = 72;
    const rand = prng(11);
    const base: Uint8Array<ArrayBuffer> = new Uint8Array(w * h);
    for (let i = 0; i < base.length; i++) base[i] = 60 + ((i * 37) % 120);
    const recode = (from: Uint8Array, amp: number): Uint8Array<ArrayBuffer> => {
      const out = new Uint8Array(from.length);
      for (let i = 0; i < from.length; i++) out[i] = Math.max(0, Math.min(255, from[i]! + Math.round((rand() * 2 - 1) * amp)));
      return out;
    };
    const video: VideoFrameView[] = [];
    let picture = base;
    for (let i = 0; i < seconds * fps; i++) {
      const keyFrame = i % fps === 0;
      if (keyFrame) picture = recode(base, 8);
      else if (i % fps === 1) picture = recode(picture, 5);
      video.push({ ...frameFromLuma(picture, w, h, i / fps, 1 / fps), keyFrame });
    }
    const sr = 48000;
    const noise = prng(12);
    const pcm = new Float32Array(seconds * sr);
    for (let k = 0; k < pcm.length; k++) pcm[k] = (noise() * 2 - 1) * 0.01;
    for (let t = 0.3; t < seconds; t += 1) {
      const first = Math.round(t * sr);
      for (let k = first; k < Math.min(pcm.length, first + 0.2 * sr); k++) pcm[k] = pcm[k]! + (noise() * 2 - 1) * 0.4 * Math.exp(-(k - first) / sr / 0.05);
    }
    const audio = audioChunks((_c, k) => pcm[k] ?? 0, 0, seconds, { sampleRate: sr, chunkSize: 1024 });
    const { edges, gauges } = run(interleave(video, audio));
    expect(gauges['av_offset_ms'] ?? []).toEqual([]);
    expect(edges).toEqual([]);
  });
});

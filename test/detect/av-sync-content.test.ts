/**
 * av_sync on ordinary content (no test pattern): event coincidence between visual cuts and
 * audio onsets. Synthetic edited content shows the method works when events exist; the real
 * clips in ../shared/media show what it does on real footage (see the README's limits).
 */
import { describe, expect, it } from 'vitest';
import { defaultOptions, type DetectorContext } from '../../src/detect/index.ts';
import { avSyncDetector as spec } from '../../src/detect/av-sync/av-sync-detector.ts';
import type { IntervalEdge, MediaInput } from '../../src/shared/index.ts';
import { intervals } from '../helpers/frames.ts';
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
});

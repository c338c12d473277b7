import { describe, expect, it } from 'vitest';
import { defaultOptions, type DetectorContext } from '../../src/detect/index.ts';
import { avSyncDetector as spec } from '../../src/detect/av-sync/av-sync-detector.ts';
import type { IntervalEdge, MediaInput } from '../../src/shared/index.ts';
import { intervals } from '../helpers/frames.ts';
import { interleave, syncPatternAudio, syncPatternVideo } from '../helpers/sync-media.ts';

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

function run(
  inputs: readonly MediaInput[],
  overrides: Partial<ReturnType<typeof defaultOptions<typeof spec.options>>> = {},
) {
  const r = recording();
  const det = spec.create({ ...defaultOptions(spec.options), ...overrides }, r.ctx);
  for (const i of inputs) det.process(i);
  const last = inputs[inputs.length - 1]!;
  det.flush(last.mediaTime + 0.04, last.wallTime);
  return r;
}

describe('av_sync on a flash-and-beep test signal', () => {
  for (const fps of [25, 30]) {
    for (const offsetMs of [-200, -40, 0, 40, 120, 300]) {
      it(`measures ${offsetMs} ms at ${fps} fps within one frame`, () => {
        const o = { fps, seconds: 14, offset: offsetMs / 1000, noiseDb: -60 };
        const { edges, gauges } = run(interleave(syncPatternVideo(o), syncPatternAudio(o)));
        const offsets = gauges['av_offset_ms'] ?? [];
        expect(offsets.length).toBeGreaterThan(3);
        for (const m of offsets) expect(Math.abs(m - offsetMs)).toBeLessThan(1000 / fps);
        expect(Math.min(...(gauges['av_sync_confidence'] ?? [0]))).toBe(1);
        const found = intervals(edges);
        const outOfRange = offsetMs > 185 || offsetMs < -90;
        if (!outOfRange) {
          expect(found).toEqual([]);
          return;
        }
        expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
        const open = edges[0]!;
        expect(open.measurements?.kind).toBe('test_signal');
        expect(Math.abs(Number(open.measurements?.offsetMs) - offsetMs)).toBeLessThan(1000 / fps);
        expect(open.confidence).toBe(1);
      });
    }
  }

  it('bright flashes at irregular times with sounds at scattered lags are not taken for a test signal', () => {
    const o = {
      fps: 25,
      seconds: 20,
      offset: 0,
      noiseDb: -60,
      at: [1, 2.3, 4.1, 5, 7.7, 8.4, 10.9, 12, 13.3, 16.1, 17],
      jitter: [0.3, -0.25, 0.3, 0.1, 0.3, -0.4, 0.3, 0.2, -0.1, 0.3, 0.3],
    };
    const { edges } = run(interleave(syncPatternVideo(o), syncPatternAudio(o)));
    // (Six of the eleven sounds are 300 ms late: the content path may say so; that is not a test signal.)
    expect(edges.filter((e) => e.measurements?.kind === 'test_signal')).toEqual([]);
  });

  it('a missed flash does not stop the measurement', () => {
    const at = [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13];
    const o = { fps: 25, seconds: 14, offset: 0.3, noiseDb: -60, at };
    const { edges, gauges } = run(interleave(syncPatternVideo(o), syncPatternAudio(o)));
    expect((gauges['av_offset_ms'] ?? []).length).toBeGreaterThan(3);
    for (const m of gauges['av_offset_ms']!) expect(Math.abs(m - 300)).toBeLessThan(40);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });

  it('with the test signal switched off, no flash-beep verdict is formed', () => {
    const o = { fps: 25, seconds: 14, offset: 0.3, noiseDb: -60 };
    const { edges } = run(interleave(syncPatternVideo(o), syncPatternAudio(o)), { testSignal: false });
    expect(edges.filter((e) => e.measurements?.kind === 'test_signal')).toEqual([]);
  });
});

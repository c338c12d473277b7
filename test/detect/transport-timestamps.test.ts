import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { EventWindow } from '../../src/detect/transport/event-window.ts';
import { isTransportStream, timestampStep, TS_WRAP_SECONDS } from '../../src/detect/transport/timestamps.ts';
import { transportDetector } from '../../src/detect/transport/transport-detector.ts';

describe('timestampStep', () => {
  it('reads a step across the 33-bit wrap as the short forward step it is', () => {
    expect(TS_WRAP_SECONDS).toBeCloseTo(95443.7176888889, 6);
    expect(timestampStep(TS_WRAP_SECONDS - 0.02, 0.02)).toBeCloseTo(0.04, 9);
    // And a backward step across it (a late packet) as backward.
    expect(timestampStep(0.02, TS_WRAP_SECONDS - 0.02)).toBeCloseTo(-0.04, 9);
  });

  it('leaves ordinary steps alone, including real backward jumps', () => {
    expect(timestampStep(10, 10.04)).toBeCloseTo(0.04, 12);
    expect(timestampStep(10, 8)).toBe(-2);
    expect(timestampStep(Number.NaN, 1)).toBeNaN();
  });
});

describe('isTransportStream', () => {
  it('is true for MPEG-TS and HLS, false for other containers', () => {
    expect(isTransportStream('mpegts')).toBe(true);
    expect(isTransportStream('hls')).toBe(true);
    expect(isTransportStream('mov,mp4,m4a,3gp,3g2,mj2')).toBe(false);
    expect(isTransportStream('matroska,webm')).toBe(false);
    expect(isTransportStream('mpegtsfoo')).toBe(false);
  });
});

describe('EventWindow', () => {
  it('counts by kind and forgets events older than the window start', () => {
    const w = new EventWindow(2);
    w.push(1, 0);
    w.push(2, 1, 3);
    w.push(3, 0);
    expect([w.count(0), w.count(1), w.total(), w.oldest(), w.newest()]).toEqual([2, 3, 5, 1, 3]);
    w.expire(2);
    expect([w.count(0), w.count(1), w.total(), w.oldest()]).toEqual([1, 3, 4, 2]);
    w.expire(10);
    expect([w.total(), w.oldest(), w.newest()]).toEqual([0, Number.NaN, Number.NaN]);
  });

  it('in a full ring drops the oldest event, never overcounts', () => {
    const w = new EventWindow(1, 4);
    for (let t = 0; t < 10; t++) w.push(t, 0);
    expect(w.total()).toBe(4);
    expect(w.oldest()).toBe(6);
    w.clear();
    expect(w.total()).toBe(0);
  });
});

describe('transport detector outside MPEG-TS', () => {
  it('an MP4 or Matroska input is not checked: corrupt flags and timestamp jumps give nothing', () => {
    for (const format of ['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm']) {
      const edges: unknown[] = [];
      const det = transportDetector.create(defaultOptions(transportDetector.options), {
        streamId: 's',
        report: (e) => edges.push(e),
        gauge: () => {},
      });
      det.process({ kind: 'info', mediaTime: 0, wallTime: 0, format });
      for (let i = 0; i < 200; i++) {
        const t = i < 100 ? i * 0.04 : i * 0.04 - 3; // and a 3 s backward jump halfway
        det.process({
          kind: 'packet',
          track: 'video',
          mediaTime: i * 0.04,
          wallTime: i * 40,
          pts: t,
          dts: t,
          duration: 0.04,
          size: 100,
          keyFrame: false,
          corrupt: i % 10 === 0,
        });
      }
      det.flush(8, 8000);
      expect(edges, format).toEqual([]);
    }
  });

  it('control: the same packets on an MPEG-TS input give one incident', () => {
    const edges: { phase: string }[] = [];
    const det = transportDetector.create(defaultOptions(transportDetector.options), {
      streamId: 's',
      report: (e) => edges.push(e),
      gauge: () => {},
    });
    det.process({ kind: 'info', mediaTime: 0, wallTime: 0, format: 'mpegts' });
    for (let i = 0; i < 200; i++) {
      const t = i < 100 ? i * 0.04 : i * 0.04 - 3;
      det.process({ kind: 'packet', track: 'video', mediaTime: i * 0.04, wallTime: i * 40, pts: t, dts: t, duration: 0.04, size: 100, keyFrame: false, corrupt: i % 10 === 0 });
    }
    det.flush(8, 8000);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });
});

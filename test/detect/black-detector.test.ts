import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { blackDetector as spec } from '../../src/detect/black/black-detector.ts';
import type { VideoFrameView } from '../../src/shared/index.ts';
import {
  collectingContext,
  intervals,
  noise,
  prng,
  texture,
  videoFrames,
  type FrameOptions,
  type LumaFn,
} from '../helpers/frames.ts';

const FPS = 25;
const W = 320;
const H = 180;
const opts: FrameOptions = { width: W, height: H, fps: FPS };

function run(frames: readonly VideoFrameView[], flushTwice = false) {
  const ctx = collectingContext();
  const det = spec.create(defaultOptions(spec.options), ctx);
  for (const f of frames) det.process(f);
  const last = frames[frames.length - 1]!;
  det.flush(last.mediaTime + last.frameDuration, last.wallTime);
  if (flushTwice) det.flush(last.mediaTime + last.frameDuration, last.wallTime);
  return { edges: ctx.edges, found: intervals(ctx.edges).filter((i) => i.type === 'black') };
}

/** Encoded black: luma 16 with ±1 noise. */
function black(seed = 1): LumaFn {
  const r = prng(seed);
  return () => 16 + noise(r, 1);
}
const content: LumaFn = texture(3);

describe('black detector', () => {
  it('pure black for 3 s opens once at ~0 and closes when content returns', () => {
    const frames = [...videoFrames(black(), 0, 3 * FPS, opts), ...videoFrames(content, 3 * FPS, 2 * FPS, opts)];
    const { edges, found } = run(frames);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeCloseTo(0, 6);
    // The picture returns at 3.0 s: the close is reported with the true end.
    expect(Math.abs(found[0]!.end - 3)).toBeLessThanOrEqual(1 / FPS + 1e-9);
    expect(edges[0]!.measurements?.['meanLuma']).toBeLessThan(17);
  });

  it('a dark scene (luma 20-45, gradient and texture) is not black', () => {
    // Almost every pixel is under the dark threshold (~38), but the picture has structure.
    const tex = texture(5);
    const r = prng(2);
    const dark: LumaFn = (x, y) => {
      const base = 20 + (14 * x) / W + 0.12 * (tex(x, y) - 110) + noise(r, 1);
      // A few brighter highlights (a lamp) up to 45.
      return (x - 250) ** 2 + (y - 40) ** 2 < 36 ? 45 : Math.min(36, base);
    };
    const frames = [...videoFrames(dark, 0, 4 * FPS, opts)];
    const { edges } = run(frames);
    expect(edges).toEqual([]);
  });

  it('white text (~1.5% of the picture) on black is not black', () => {
    const r = prng(3);
    // Two lines of "letters": 2 px strokes every 8 px, 9 px tall, in the centre (~1.6% lit).
    const text: LumaFn = (x, y) => {
      const inLine = (y >= 80 && y < 89) || (y >= 94 && y < 103);
      const inCol = x >= 60 && x < 260 && x % 8 < 2;
      return inLine && inCol ? 235 : 16 + noise(r, 1);
    };
    // Measure the lit area to keep the case honest.
    const f = videoFrames(text, 0, 1, opts)[0]!;
    let lit = 0;
    for (const v of f.luma) if (v > 128) lit++;
    expect(lit / (W * H)).toBeGreaterThan(0.01);
    expect(lit / (W * H)).toBeLessThan(0.02);
    const { edges } = run(videoFrames(text, 0, 4 * FPS, opts));
    expect(edges).toEqual([]);
  });

  it('a pillarboxed picture (black side bars, content in the middle) is not black', () => {
    const r = prng(4);
    const pillar: LumaFn = (x, y, i) => (x < 40 || x >= W - 40 ? 16 + noise(r, 1) : content(x + i, y, i));
    const { edges } = run(videoFrames(pillar, 0, 4 * FPS, opts));
    expect(edges).toEqual([]);
  });

  it('1 s of black (< minDuration 2 s) reports nothing', () => {
    const frames = [
      ...videoFrames(content, 0, FPS, opts),
      ...videoFrames(black(), FPS, FPS, opts),
      ...videoFrames(content, 2 * FPS, 2 * FPS, opts),
    ];
    expect(run(frames).edges).toEqual([]);
  });

  it('full-range black (fullRange: true, luma 0) is black', () => {
    const r = prng(6);
    const full: FrameOptions = { ...opts, fullRange: true };
    const frames = [
      ...videoFrames(() => Math.max(0, noise(r, 1)), 0, 3 * FPS, full),
      ...videoFrames(content, 3 * FPS, FPS, full),
    ];
    const { found } = run(frames);
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeCloseTo(0, 6);
    expect(Math.abs(found[0]!.end - 3)).toBeLessThanOrEqual(1 / FPS + 1e-9);
  });

  it('does not report the same interval twice', () => {
    // Black to the end of input: closed by flush, then a second flush must add nothing.
    const frames = [...videoFrames(content, 0, FPS, opts), ...videoFrames(black(), FPS, 3 * FPS, opts)];
    const { edges, found } = run(frames, true);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(found[0]!.start).toBeCloseTo(1, 6);
    expect(found[0]!.end).toBeCloseTo(4, 6);

    // Black that ends, then long clean content and a flush: still one open and one close.
    const frames2 = [...videoFrames(black(), 0, 3 * FPS, opts), ...videoFrames(content, 3 * FPS, 5 * FPS, opts)];
    expect(run(frames2, true).edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });
  it('black with a channel clock in the corner is still black (overlay margin)', () => {
    const base = black(5);
    // A white clock box in the top-left corner, ~1% of the picture, changing every frame.
    const withClock: LumaFn = (x, y, i) => (x >= 6 && x < 38 && y >= 4 && y < 14 ? ((x + i) % 4 < 2 ? 235 : 40) : base(x, y, i));
    const frames = [...videoFrames(withClock, 0, 3 * FPS, opts), ...videoFrames(content, 3 * FPS, FPS, opts)];
    const { found } = run(frames);
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeCloseTo(0, 1);
  });

  it('the same clock with content around it is not black', () => {
    const clock: LumaFn = (x, y, i) => (x >= 6 && x < 38 && y >= 4 && y < 14 ? ((x + i) % 4 < 2 ? 235 : 40) : content(x, y, i));
    expect(run(videoFrames(clock, 0, 3 * FPS, opts)).found).toHaveLength(0);
  });
});

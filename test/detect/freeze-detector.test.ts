import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { freezeDetector as spec } from '../../src/detect/freeze/freeze-detector.ts';
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
const tex = texture(7);

function run(frames: readonly VideoFrameView[], flushTwice = false) {
  const ctx = collectingContext();
  const det = spec.create(defaultOptions(spec.options), ctx);
  for (const f of frames) det.process(f);
  const last = frames[frames.length - 1]!;
  det.flush(last.mediaTime + last.frameDuration, last.wallTime);
  if (flushTwice) det.flush(last.mediaTime + last.frameDuration, last.wallTime);
  return { edges: ctx.edges, found: intervals(ctx.edges) };
}

/** The texture panning 3 px per frame (camera move). */
const pan: LumaFn = (x, y, i) => tex(x + 3 * i, y);
/** The texture as it was at frame `at`, held. */
const stillAt =
  (at: number): LumaFn =>
  (x, y) =>
    tex(x + 3 * at, y);

/** A 56x32 px box over the texture at picture k, moving `step` px a picture left to right and back, bobbing with period 2π·`bob`. */
function sweepingBox(x: number, y: number, k: number, step: number, bob: number): number {
  const travel = W - 56;
  const p = (step * k) % (2 * travel);
  const bx = p < travel ? p : 2 * travel - p;
  const by = 40 + Math.round(40 * Math.sin(k / bob));
  return x >= bx && x < bx + 56 && y >= by && y < by + 32 ? 235 : tex(x, y);
}

describe('freeze detector', () => {

  it('a live source that stalls and resumes (discontinuity, late frames, a gap, a keyframe) gives no freeze', () => {
    // As seen live over UDP: the source stops at 2 s, ingest flushes the detectors after its
    // signal-loss wait, then the decoder releases the last two frames it held when packets flow
    // again 5.5 s later, followed at once by a keyframe and moving pictures.
    const ctx = collectingContext();
    const det = spec.create(defaultOptions(spec.options), ctx);
    // Local motion (a box crossing a still background): changed regions must persist to count.
    const box: LumaFn = (x, y, i) => (y >= 60 && y < 100 && x >= (6 * i) % 280 && x < ((6 * i) % 280) + 40 ? 235 : tex(x, y));
    const moving = videoFrames(box, 0, 2 * FPS + 2, opts);
    for (const f of moving.slice(0, 2 * FPS)) det.process(f);
    det.flush(2, moving[2 * FPS - 1]!.wallTime + 3000);
    for (const f of moving.slice(2 * FPS)) det.process(f);
    // The picture carries on where it stopped (a stalled feed), 5.5 s later in media time.
    const resumed = videoFrames(box, 2 * FPS + 2, 3 * FPS, opts).map((f, k) => ({ ...f, mediaTime: f.mediaTime + 5.5, wallTime: f.wallTime + 5500, keyFrame: k === 0 }));
    for (const f of resumed) det.process(f);
    const last = resumed[resumed.length - 1]!;
    det.flush(last.mediaTime + last.frameDuration, last.wallTime);
    expect(ctx.edges).toEqual([]);
  });
  it('a textured still picture held for 3 s gives one freeze starting within one frame of the onset', () => {
    const onset = FPS; // frame 25 (1.0 s) is the last new picture
    const frames = [
      ...videoFrames(pan, 0, onset + 1, opts),
      ...videoFrames(stillAt(onset), onset + 1, 3 * FPS - 1, opts),
      ...videoFrames(pan, 4 * FPS, 2 * FPS, opts),
    ];
    const { edges, found } = run(frames);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(found).toHaveLength(1);
    expect(Math.abs(found[0]!.start - onset / FPS)).toBeLessThanOrEqual(1 / FPS + 1e-9);
    expect(Math.abs(found[0]!.end - 4)).toBeLessThanOrEqual(1 / FPS + 1e-9);
  });

  it('a still picture under per-frame uniform grain of ±8 is still a freeze', () => {
    const r = prng(11);
    const grainy: LumaFn = (x, y) => tex(x, y) + noise(r, 8);
    const { found } = run(videoFrames(grainy, 0, 3 * FPS, opts));
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeLessThanOrEqual(2 / FPS + 1e-9);
  });

  it('a still picture with a small clock region (< 3% of the area, in a corner) changing every frame is still a freeze', () => {
    const r = prng(12);
    // 40x24 px in the top-right corner: 1.7% of the picture; new "digits" every frame.
    const clock: LumaFn = (x, y) => (x >= W - 44 && x < W - 4 && y >= 4 && y < 28 ? (r() < 0.5 ? 30 : 220) : tex(x, y));
    const { found } = run(videoFrames(clock, 0, 3 * FPS, opts));
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeLessThanOrEqual(2 / FPS + 1e-9);
  });

  it("a frozen picture under a running clock whose next digit first flips after the learning second is one freeze", () => {
    // The simulator's burned-in clock over a frozen testsrc2 (MPEG-2 640x360): the frame digits change
    // every frame, and the tens digit next to them flips for the first time 1.5 s into the freeze. That
    // new region used to restart the quiet run as live content, and the 3.5 s freeze went unreported.
    const r = prng(31);
    const clock: LumaFn = (x, y, i) => {
      if (y < 4 || y >= 28) return tex(x, y);
      if (x >= W - 44 && x < W - 4) return r() < 0.5 ? 30 : 220; // frame digits: every frame
      if (x >= W - 64 && x < W - 44) return i < 1.5 * FPS ? 30 : 220; // tens digit: flips once
      return tex(x, y);
    };
    const { found } = run(videoFrames(clock, 0, 4 * FPS, opts));
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeLessThanOrEqual(2 / FPS + 1e-9);
  });

  it('a still picture with a small object (3% of the area) moving across it is not a freeze', () => {
    // A 56x32 px box (3.1% of 320x180) sweeping left to right and back, 4 px per frame.
    expect(run(videoFrames((x, y, i) => sweepingBox(x, y, i, 4, 15), 0, 4 * FPS, opts)).edges).toEqual([]);
  });

  it('a still picture where the encoder refreshes one block for one frame now and then is still one freeze', () => {
    // As H.264 at a low bitrate codes a frozen grainy picture: most blocks skipped, one recoded
    // (a new grain sample, 10 levels off, kept until it is recoded) in a single frame about every
    // 0.4 s, each time elsewhere.
    const r = prng(14);
    const spots = Array.from({ length: 16 }, () => ({ x: Math.floor(r() * (W - 24)), y: Math.floor(r() * (H - 16)) }));
    const refresh: LumaFn = (x, y, i) => {
      let v = tex(x, y);
      for (let k = 0; 10 * k + 5 <= i; k++) {
        const s = spots[k]!;
        if (x >= s.x && x < s.x + 24 && y >= s.y && y < s.y + 16) v += 10;
      }
      return v;
    };
    const { found } = run(videoFrames(refresh, 0, 6 * FPS, opts));
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeLessThanOrEqual(2 / FPS + 1e-9);
    expect(found[0]!.end).toBeCloseTo(6, 5);
  });

  it('a small object moving in a 10 fps source carried at 25 fps (pictures repeated) is not a freeze', () => {
    // The box of the 3 % test above, but each picture held for 2 or 3 frames: most frames repeat the
    // one before, and the box moves only on the others.
    const pointer: LumaFn = (x, y, i) => sweepingBox(x, y, Math.floor((i * 10) / FPS), 10, 6);
    expect(run(videoFrames(pointer, 0, 4 * FPS, opts)).edges).toEqual([]);
  });

  it('a static picture with weak white sensor noise (±1 on ~60% of pixels) is not a freeze (live camera)', () => {
    const r = prng(13);
    const sensor: LumaFn = (x, y) => tex(x, y) + (r() < 0.6 ? (r() < 0.5 ? -1 : 1) : 0);
    expect(run(videoFrames(sensor, 0, 4 * FPS, opts)).edges).toEqual([]);
  });

  it('a frozen picture that the encoder recodes weakly a few frames after each keyframe is one freeze', () => {
    // As x265 or MPEG-2 at a low bitrate code a frozen picture: a keyframe every second, and 0.24-0.28 s
    // after it two frames of weak white change (±1 on ~60% of the pixels), which alone reads as a
    // live sensor; otherwise identical pictures.
    const r = prng(15);
    const settle: LumaFn = (x, y, i) => tex(x, y) + (i % FPS === 6 || i % FPS === 7 ? (r() < 0.6 ? (r() < 0.5 ? -1 : 1) : 0) : 0);
    const frames = videoFrames(settle, 0, 6 * FPS, opts).map((f, i) => ({ ...f, keyFrame: i % FPS === 0 }));
    const { found } = run(frames);
    expect(found).toHaveLength(1);
    expect(found[0]!.start).toBeLessThan(0.5);
    expect(found[0]!.end).toBeCloseTo(6, 5);
  });

  it('weak white sensor noise on every frame is a live camera with a keyframe every second too', () => {
    const r = prng(16);
    const sensor: LumaFn = (x, y) => tex(x, y) + (r() < 0.6 ? (r() < 0.5 ? -1 : 1) : 0);
    const frames = videoFrames(sensor, 0, 5 * FPS, opts).map((f, i) => ({ ...f, keyFrame: i % FPS === 0 }));
    expect(run(frames).edges).toEqual([]);
  });

  it('a panning texture is not a freeze', () => {
    expect(run(videoFrames(pan, 0, 4 * FPS, opts)).edges).toEqual([]);
  });

  it('does not report the same interval twice', () => {
    // Freeze running to the end of input: closed by flush, flushed again.
    const a = run([...videoFrames(pan, 0, FPS, opts), ...videoFrames(stillAt(FPS), FPS, 3 * FPS, opts)], true);
    expect(a.edges.map((e) => e.phase)).toEqual(['open', 'close']);
    // Freeze that ends, long motion after it, two flushes.
    const b = run([...videoFrames(stillAt(0), 0, 3 * FPS, opts), ...videoFrames(pan, 3 * FPS, 4 * FPS, opts)], true);
    expect(b.edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });
});

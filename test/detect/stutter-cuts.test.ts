/**
 * stutter's picture rule (a repeated picture, then content that jumps about two steps ahead: a
 * lost frame shown as the previous one) on synthetic pictures: a cut that happens to follow a
 * repeated picture is a new shot, not a catch-up. The evaluation raised a false stutter
 * incident on looped Chaplin (MPEG-2 320x180), whose own irregular frame repeats put two
 * catch-ups in the window and the loop point, a cut after a repeat, counted as two more.
 */
import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { stutterDetector } from '../../src/detect/stutter/stutter-detector.ts';
import { prng, type VideoFrameView } from '../../src/shared/index.ts';
import { collectingContext, frameFromLuma, intervals, videoFrame } from '../helpers/frames.ts';

const FPS = 25;

/** A smooth pattern drifting 1 px a frame (frame differences of a few levels); `shot` picks one of two looks. */
function pattern(shot: number, pos: number): (x: number, y: number) => number {
  const a = shot % 2 === 0 ? 1 : -1;
  return (x, y) => 128 + a * (45 * Math.sin((x + pos) / 9) + 30 * Math.cos(y / 7 + (x + pos) / 23));
}

/**
 * Shots of `shotLength` frames; each shot's last frame repeats the one before it. `cut`: the next
 * shot is a different picture; otherwise the same content goes on two steps ahead (a lost frame).
 */
function sequence(seconds: number, shotLength: number, cut: boolean): VideoFrameView[] {
  const out: VideoFrameView[] = [];
  let shot = 0;
  for (let i = 0; i < seconds * FPS; i++) {
    const k = i % shotLength;
    if (k === 0 && i > 0 && cut) shot++;
    // The content moves a step every frame; the last frame of a shot shows its predecessor again.
    const fill = pattern(shot, k === shotLength - 1 ? i - 1 : i);
    out.push(videoFrame((x, y) => fill(x, y), i, { fps: FPS }));
  }
  return out;
}

function stutterIntervals(frames: VideoFrameView[]) {
  const ctx = collectingContext();
  const det = stutterDetector.create(defaultOptions(stutterDetector.options), ctx);
  for (const f of frames) det.process(f);
  const last = frames[frames.length - 1]!;
  det.flush(last.mediaTime + last.frameDuration, last.wallTime);
  return { found: intervals(ctx.edges).filter((i) => i.type === 'stutter'), rate: ctx.gauges.get('stutter_frames_per_second') };
}

describe('stutter: a repeat followed by a cut is not a lost frame', () => {
  it('a picture repeated before each of 3 cuts a second: no stutter', () => {
    // 8-frame shots: 25 / 8 = 3.1 repeats a second, each followed by a cut; counted as catch-ups
    // they made 3.1 duplicated frames a second, over the 2/s threshold.
    const { found } = stutterIntervals(sequence(10, 8, true));
    expect(found).toEqual([]);
  });

  it('the same repeats with the content going on two steps ahead after each: stutter', () => {
    const { found } = stutterIntervals(sequence(10, 8, false));
    expect(found.length).toBe(1);
    expect(found[0]!.start).toBeLessThan(1);
  });
});

/**
 * Texture that changes rather than moves (water, foliage, a fractal zoom): each pixel follows its
 * own AR(1) process, so a frame differs from two frames back only sqrt(1 + rho) = 1.34 times as
 * much as from the frame before. `shown(i)`: which source frame display frame i shows.
 */
function texture(seconds: number, shown: (i: number) => number): VideoFrameView[] {
  const w = 128;
  const h = 72;
  const rho = 0.8;
  const rand = prng(21);
  const gauss = (): number => (rand() + rand() + rand() + rand() - 2) * Math.sqrt(3);
  const n = seconds * FPS;
  const sources: Uint8Array[] = [];
  const state = new Float64Array(w * h).map(() => gauss());
  for (let k = 0; k <= n; k++) {
    const luma = new Uint8Array(w * h);
    for (let p = 0; p < luma.length; p++) {
      state[p] = rho * state[p]! + Math.sqrt(1 - rho * rho) * gauss();
      luma[p] = Math.max(0, Math.min(255, Math.round(128 + 14 * state[p]! + 40 * Math.sin(p / 37))));
    }
    sources.push(luma);
  }
  const out: VideoFrameView[] = [];
  for (let i = 0; i < n; i++) out.push(frameFromLuma(sources[shown(i)]!, w, h, i / FPS, 1 / FPS));
  return out;
}

describe('stutter: content whose frame differences saturate', () => {
  it('every 5th frame lost and the previous shown in its place (4-8 s): one stutter incident', () => {
    // The picture after each repeat is two steps on, but differs from the repeat only ~1.3x as much
    // as frames usually differ: under the moving-pattern catch-up (1.4-1.8x), so the evaluation's
    // water clip (MPEG-2 320x180) and Mandelbrot zoom (MPEG-2 720p) lost their duplicates.
    const { found } = stutterIntervals(texture(12, (i) => (i >= 100 && i < 200 && i % 5 === 4 ? i - 1 : i)));
    expect(found.length).toBe(1);
    expect(found[0]!.start).toBeGreaterThan(3.5);
    expect(found[0]!.start).toBeLessThan(5);
  });

  it('the same texture at 20 fps carried at 25 (every 5th picture shown twice, no frame lost): no stutter', () => {
    const { found } = stutterIntervals(texture(12, (i) => Math.floor((i * 20) / 25)));
    expect(found).toEqual([]);
  });
});


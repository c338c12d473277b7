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
import type { VideoFrameView } from '../../src/shared/index.ts';
import { collectingContext, intervals, videoFrame } from '../helpers/frames.ts';

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

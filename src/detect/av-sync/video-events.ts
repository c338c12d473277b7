import type { VideoFrameView } from '../../shared/index.ts';

/** Offset added before taking logs of the frame difference (luma levels): grain-level change is not an event. */
const DIFF_FLOOR = 2;
const DIFF_HISTORY = 3;
/** Frames of mean luma kept as the flash baseline. */
const FLASH_HISTORY = 5;
/**
 * Frames after a keyframe (besides the keyframe itself) during which the encoder refreshes and
 * settles the picture, and the smallest mean difference (luma levels) a change must have there to
 * be a visual event: a cut. An encoder re-codes even a still picture at each keyframe (3-11 levels
 * on the evaluation's frozen cellular automaton through MPEG-2 at 640x360, the frame after it
 * 3 levels), which would otherwise be an onset every GOP: periodic events, which a periodic sound
 * matches at some lag by chance (a confident -220 ms verdict on a frozen picture, 2026-11-29).
 */
const REFRESH_FRAMES = 3.5;
const REFRESH_CUT = 20;

export interface VisualSample {
  /** Visual onset strength >= 0: positive log change of the frame difference (cuts, motion starts). */
  readonly strength: number;
  /** Mean luma of the preview. */
  readonly mean: number;
  /** This frame is much brighter than the frames before it (a test-pattern flash). */
  readonly flash: boolean;
  /** Mean absolute difference against the previous preview (luma levels). */
  readonly diff: number;
}

/**
 * Cheap visual front end on the 160-px preview plane only (never the full luma): mean
 * luma, mean absolute difference against the previous preview on every 4th pixel of
 * every 2nd row, and from it a visual onset strength: ~1/8 of the preview per frame.
 */
export class VideoEvents {
  private prev: Uint8Array = new Uint8Array(0);
  private havePrev = false;
  private readonly diffs: number[] = [];
  private readonly means: number[] = [];
  private readonly sorted = new Float64Array(FLASH_HISTORY);
  private lastKeyAt = -Infinity;

  constructor(private readonly flashJump: number) {}

  reset(): void {
    this.havePrev = false;
    this.diffs.length = 0;
    this.means.length = 0;
    this.lastKeyAt = -Infinity;
  }

  process(v: VideoFrameView): VisualSample {
    const p = v.preview;
    const data = p.data;
    const w = p.width;
    const h = p.height;
    // Every 4th pixel of every 2nd row (staggered): ~1/8 of the preview, kept compactly.
    const samples = Math.ceil(h / 2) * Math.ceil(w / 4);
    if (this.prev.length !== samples) {
      this.prev = new Uint8Array(samples);
      this.havePrev = false;
    }
    const prev = this.prev;
    let sum = 0;
    let diff = 0;
    let count = 0;
    for (let y = 0; y < h; y += 2) {
      const row = y * w;
      for (let x = (y >> 1) & 3; x < w; x += 4) {
        const a = data[row + x]!;
        sum += a;
        const d = a - prev[count]!;
        diff += d < 0 ? -d : d;
        prev[count++] = a;
      }
    }
    const mean = count ? sum / count : 0;
    let strength = 0;
    let flash = false;
    const dm = this.havePrev && count ? diff / count : 0;
    if (this.havePrev && count) {
      let before = 0;
      for (const x of this.diffs) before += x;
      before = this.diffs.length ? before / this.diffs.length : dm;
      const r = Math.log((dm + DIFF_FLOOR) / (before + DIFF_FLOOR));
      strength = r > 0 ? r : 0;
      if (v.keyFrame) this.lastKeyAt = v.mediaTime;
      // The refresh at a keyframe and the frames settling after it are the encoder, not the content.
      const refresh = v.mediaTime - this.lastKeyAt <= REFRESH_FRAMES * v.frameDuration;
      if (refresh && dm < REFRESH_CUT) strength = 0;
      this.diffs.push(dm);
      if (this.diffs.length > DIFF_HISTORY) this.diffs.shift();
      if (this.means.length === FLASH_HISTORY) {
        // Median of the last few means, sorted in a scratch array (no allocation per frame).
        const sorted = this.sorted;
        for (let i = 0; i < FLASH_HISTORY; i++) {
          const m = this.means[i]!;
          let j = i;
          for (; j > 0 && sorted[j - 1]! > m; j--) sorted[j] = sorted[j - 1]!;
          sorted[j] = m;
        }
        flash = mean - sorted[FLASH_HISTORY >> 1]! >= this.flashJump;
      }
    }
    this.means.push(mean);
    if (this.means.length > FLASH_HISTORY) this.means.shift();
    this.havePrev = true;
    return { strength, mean, flash, diff: dm };
  }
}

/**
 * Slow camera moves under the frame-to-frame threshold.
 *
 * A slow pan or tilt, seen on a small, softly encoded picture, changes each frame by less than
 * the encoder's own noise (0.4-1 luma levels a frame on the preview of Big Buck Bunny's opening
 * landscape at 320x180, VP9 300 kbit/s), so the frame-to-frame test reads it as still. What gives
 * it away is where the picture has got to since it went quiet: it differs more and more from the
 * picture at the start of the quiet stretch, and shifting that picture by a pixel or two matches
 * the current one better than leaving it in place.
 *
 * A frozen picture does neither, whatever happens to it in the encoder: still, it stays at the
 * anchor (0.2-0.5 levels after keyframe refreshes); under grain the difference settles at the
 * grain's level; and where the encoder's coded noise grows through a long freeze (VP9 at 300
 * kbit/s under heavy grain: up to 23 levels), no shift matches better than none.
 */

import { selectInPlace } from '../../shared/index.ts';

/** Preview pixels the anchor is shifted by, each way, in both directions. */
const SHIFT = 4;
/** Region size (preview pixels) whose mean absolute difference is one sample of the median. */
const REGION = 16;

export class Drift {
  private anchor = new Uint8Array(0);
  private width = 0;
  private height = 0;
  /** Media time the anchor was taken (NaN: none). */
  at = Number.NaN;

  /** Take the current picture as the anchor. */
  set(data: Uint8Array, width: number, height: number, t: number): void {
    const n = width * height;
    if (this.anchor.length !== n) this.anchor = new Uint8Array(n);
    this.anchor.set(data.length === n ? data : data.subarray(0, n));
    this.width = width;
    this.height = height;
    this.at = t;
  }

  reset(): void {
    this.at = Number.NaN;
  }

  /**
   * The median over regions of the mean absolute difference between `data` and the anchor, in
   * place (`still`) and with the anchor shifted by up to SHIFT pixels (`shifted`: the best shift a
   * descent from no shift finds; equal to `still` when no neighbouring shift does better), on
   * every pixel away from a SHIFT-pixel margin. NaN when the size changed or there is no anchor.
   */
  measure(data: Uint8Array, width: number, height: number): { still: number; shifted: number } {
    return this.compare(data, width, height, 0, 0);
  }

  /**
   * Whether the picture has moved away from the anchor: it differs by at least `level` in place,
   * and a shift matches it at least `1 - match` better. The shift search (the cost) runs only
   * past `level`, and stops as soon as a shift matches.
   */
  moved(data: Uint8Array, width: number, height: number, level: number, match: number): boolean {
    const m = this.compare(data, width, height, level, match);
    return m.still >= level && m.shifted <= match * m.still;
  }

  private compare(data: Uint8Array, width: number, height: number, level: number, match: number): { still: number; shifted: number } {
    if (Number.isNaN(this.at) || width !== this.width || height !== this.height) return { still: Number.NaN, shifted: Number.NaN };
    const still = this.median(data, 0, 0);
    let shifted = still;
    if (still < level) return { still, shifted };
    // Descend from no shift: step to the best of the 8 neighbouring shifts while it improves. A
    // frozen picture stops after the first 8 (in place is best); a move is caught while it is still
    // a pixel or two, checked several times a second.
    let cx = 0;
    let cy = 0;
    for (let step = 0; step < 2 * SHIFT; step++) {
      let bx = cx;
      let by = cy;
      for (let dy = cy - 1; dy <= cy + 1; dy++) {
        for (let dx = cx - 1; dx <= cx + 1; dx++) {
          if ((dx === cx && dy === cy) || dx < -SHIFT || dx > SHIFT || dy < -SHIFT || dy > SHIFT) continue;
          const m = this.median(data, dx, dy);
          if (m < shifted) {
            shifted = m;
            bx = dx;
            by = dy;
          }
        }
      }
      if ((bx === cx && by === cy) || (match > 0 && shifted <= match * still)) break;
      cx = bx;
      cy = by;
    }
    return { still, shifted };
  }

  private values = new Float64Array(0);

  /** The upper median (the element a sort would put at count >> 1) of the regions' differences. */
  private median(cur: Uint8Array, dx: number, dy: number): number {
    const w = this.width;
    const h = this.height;
    const a = this.anchor;
    const regions = Math.max(0, Math.floor((w - 2 * SHIFT) / REGION)) * Math.max(0, Math.floor((h - 2 * SHIFT) / REGION));
    if (this.values.length < regions) this.values = new Float64Array(regions);
    const v = this.values;
    let count = 0;
    for (let ry = SHIFT; ry + REGION <= h - SHIFT; ry += REGION) {
      for (let rx = SHIFT; rx + REGION <= w - SHIFT; rx += REGION) {
        let s = 0;
        for (let y = ry; y < ry + REGION; y++) {
          const row = y * w;
          const arow = (y + dy) * w + dx;
          for (let x = rx; x < rx + REGION; x++) {
            const d = cur[row + x]! - a[arow + x]!;
            s += d < 0 ? -d : d;
          }
        }
        v[count++] = s / (REGION * REGION);
      }
    }
    if (count === 0) return 0;
    return selectInPlace(v, count >> 1, 0, count - 1);
  }
}

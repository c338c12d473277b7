/**
 * The visible-damage label rule, shared by the corruption model's training data (data.ts) and the
 * evaluation corpus (eval/visible.ts), so "damaged" means the same in both.
 *
 * Per 16x16 luma block: the mean absolute difference against the clean decode. A lost frame is
 * replaced by an earlier picture (and concealment copies from earlier pictures): that is a
 * stutter, not corruption, so each block is compared with the clean decode of this frame and of
 * the LAG frames before it, shifted by up to SHIFT px (concealment's guessed motion), and the
 * smallest difference counts: what is left is damage a viewer sees as wrong picture.
 */
import { MB } from '../../src/detect/corruption/features.ts';

/** Block MAD (luma levels) from which a block is damaged, and under which it is intact (in between: left out). */
export const POS_MAD = 12;
export const NEG_MAD = 4;
/** Clean frames before this one a block may match (a repeated or concealed-from-earlier picture). */
export const LAG = 6;
/** Concealment's guessed motion: +-SHIFT px, in steps of 2. */
export const SHIFT = 2;

export interface LumaPlane {
  readonly y: Uint8Array;
  readonly stride: number;
}

/**
 * Labels of one damaged picture: 1 damaged, 0 intact, -1 in between, per block, row-major
 * (floor(width/16) x floor(height/16)). `clean[0]` is the clean decode of the same frame,
 * `clean[1..]` the frames before it, most recent first (at most LAG of them are used).
 */
export function blockLabels(damaged: LumaPlane, clean: readonly LumaPlane[], width: number, height: number): Int8Array {
  const cols = Math.floor(width / MB);
  const rows = Math.floor(height / MB);
  const lab = new Int8Array(cols * rows);
  const a = damaged;
  const refs = Math.min(clean.length, LAG + 1);
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      let best = Infinity;
      for (let j = 0; j < refs && best >= NEG_MAD; j++) {
        const b = clean[j]!;
        for (let oy = -SHIFT; oy <= SHIFT && best >= NEG_MAD; oy += 2) {
          for (let ox = -SHIFT; ox <= SHIFT && best >= NEG_MAD; ox += 2) {
            let s = 0;
            let n = 0;
            for (let y = by * MB; y < by * MB + MB; y += 2) {
              const yy = Math.min(height - 1, Math.max(0, y + oy));
              for (let x = bx * MB; x < bx * MB + MB; x += 2) {
                const xx = Math.min(width - 1, Math.max(0, x + ox));
                s += Math.abs(a.y[y * a.stride + x]! - b.y[yy * b.stride + xx]!);
                n++;
              }
            }
            best = Math.min(best, s / n);
          }
        }
      }
      lab[by * cols + bx] = best >= POS_MAD ? 1 : best < NEG_MAD ? 0 : -1;
    }
  }
  return lab;
}

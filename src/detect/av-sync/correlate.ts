import { HOP } from './audio-events.ts';

export interface Correlation {
  /** Lag of the peak (s), positive = audio late; parabola-refined. */
  readonly offset: number;
  /** Pearson correlation at the peak. */
  readonly peak: number;
  /** Highest correlation at lags away from the peak (further than the exclusion). */
  readonly second: number;
  /** Video frames with a visual event in the window. */
  readonly events: number;
  /** 0..1, see confidenceOf. */
  readonly confidence: number;
}

/**
 * Cross-correlates a visual onset series (one value per video frame, at its media time)
 * against the audio onset envelope (one value per 10 ms hop) over lags -maxLag..+maxLag in
 * hop steps. The audio envelope is max-pooled over one frame duration first, so an audio
 * event anywhere inside the frame interval lines up with that frame.
 *
 * @param vt visual sample times (s), ascending
 * @param vs visual strengths
 * @param at audio hop start times (s), ascending, regular HOP spacing inside runs
 * @param as audio onset strengths
 */
export function correlate(
  vt: readonly number[],
  vs: readonly number[],
  at: readonly number[],
  as: readonly number[],
  maxLag: number,
  frameDuration: number,
  eventLevel: number,
): Correlation | undefined {
  if (vt.length < 10 || at.length < 10) return undefined;
  // Dense audio grid over the audio we hold, max-pooled over half a frame either side.
  const t0 = at[0]!;
  const size = Math.round((at[at.length - 1]! - t0) / HOP) + 1;
  const grid = new Float64Array(size);
  for (let k = 0; k < at.length; k++) {
    const idx = Math.round((at[k]! - t0) / HOP);
    if (idx >= 0 && idx < size && as[k]! > grid[idx]!) grid[idx] = as[k]!;
  }
  const half = Math.max(1, Math.round(frameDuration / 2 / HOP));
  const pooled = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let m = 0;
    const lo = Math.max(0, i - half);
    const hi = Math.min(size - 1, i + half);
    for (let j = lo; j <= hi; j++) if (grid[j]! > m) m = grid[j]!;
    pooled[i] = m;
  }
  const lagSteps = Math.round(maxLag / HOP);
  const nLags = 2 * lagSteps + 1;
  const r = new Float64Array(nLags).fill(Number.NaN);
  let events = 0;
  for (const s of vs) if (s >= eventLevel) events++;
  for (let l = 0; l < nLags; l++) {
    const lag = (l - lagSteps) * HOP;
    let n = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let i = 0; i < vt.length; i++) {
      // The frame at vt shows its content from vt on; a hop holds [t, t + HOP).
      const idx = Math.round((vt[i]! + lag - t0) / HOP);
      if (idx < 0 || idx >= size) continue;
      const x = vs[i]!;
      const y = pooled[idx]!;
      n++;
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    if (n < 10) continue;
    const cov = sxy - (sx * sy) / n;
    const vx = sxx - (sx * sx) / n;
    const vy = syy - (sy * sy) / n;
    if (vx <= 0 || vy <= 0) continue;
    r[l] = cov / Math.sqrt(vx * vy);
  }
  let best = -1;
  for (let l = 0; l < nLags; l++) if (!Number.isNaN(r[l]!) && (best < 0 || r[l]! > r[best]!)) best = l;
  if (best < 0) return undefined;
  const peak = r[best]!;
  // Second peak: the best correlation outside the peak's lobe (more than 1.5 frames away).
  const exclude = Math.max(3, Math.round((1.5 * frameDuration) / HOP));
  let second = -1;
  for (let l = 0; l < nLags; l++) {
    if (Math.abs(l - best) <= exclude || Number.isNaN(r[l]!)) continue;
    if (r[l]! > second) second = r[l]!;
  }
  let frac = 0;
  if (best > 0 && best < nLags - 1) {
    const a = r[best - 1]!;
    const c = r[best + 1]!;
    const den = a - 2 * peak + c;
    if (Number.isFinite(den) && den < 0) frac = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den));
  }
  const offset = (best - lagSteps + frac) * HOP;
  return { offset, peak, second, events, confidence: confidenceOf(peak, second, events) };
}

/** Events in a window needed for full confidence. */
export const EVENTS_FOR_FULL_CONFIDENCE = 8;

/**
 * Confidence 0..1 of a correlation peak: how far the peak stands above the best competing
 * lag (1 - second/peak), scaled down when the peak itself is weak (Pearson r below 0.3) or
 * the window holds few visual events (fewer than EVENTS_FOR_FULL_CONFIDENCE frames).
 */
export function confidenceOf(peak: number, second: number, events: number): number {
  if (!(peak > 0)) return 0;
  const distinct = 1 - Math.max(0, second) / peak;
  const strength = Math.min(1, peak / 0.3);
  const support = Math.min(1, events / EVENTS_FOR_FULL_CONFIDENCE);
  return Math.max(0, Math.min(1, distinct * strength * support));
}

import { HOP } from './audio-events.ts';

export interface EventMatch {
  /** Offset (s), positive = audio late: median of the matched audio-minus-visual event gaps. */
  readonly offset: number;
  /** Visual events in the window. */
  readonly visual: number;
  /** Salient audio onsets in the window (with the lag margin). */
  readonly audio: number;
  /** Visual events with an audio onset at the offset (within half a frame). */
  readonly matched: number;
  /** Most visual events matched at any lag at least a frame away from the offset. */
  readonly runnerUp: number;
  /** Matches expected by chance at any one lag, given the audio onset rate. */
  readonly expected: number;
  /** 0..1, see confidenceOf. */
  readonly confidence: number;
}

/** Coincident events needed for full confidence. */
export const MATCHES_FOR_FULL_CONFIDENCE = 5;

/** Picks local maxima of `values` at least `level` high, with no higher value within ±`radius` samples. */
export function peaks(
  times: readonly number[],
  values: readonly number[],
  level: number,
  radius: number,
  from: number,
  to: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const t = times[i]!;
    const v = values[i]!;
    if (t < from || t > to || v < level) continue;
    let isPeak = true;
    for (let j = Math.max(0, i - radius); j <= Math.min(values.length - 1, i + radius); j++) {
      if (values[j]! > v || (values[j]! === v && j < i)) {
        isPeak = false;
        break;
      }
    }
    if (isPeak) out.push(t);
  }
  return out;
}

/**
 * Event coincidence over lags: every (visual event, audio onset) pair votes for the lag
 * audio − visual, with a tolerance of half a frame either side (a frame shows its content for
 * a whole frame interval); the lag with most visual events matched wins. Each visual event
 * counts at most once per lag.
 */
export function matchEvents(
  visual: readonly number[],
  audio: readonly number[],
  maxLag: number,
  frameDuration: number,
  audioSpan: number,
): EventMatch | undefined {
  if (visual.length === 0 || audio.length === 0) return undefined;
  const lagSteps = Math.round(maxLag / HOP);
  const half = Math.max(1, Math.round(frameDuration / 2 / HOP));
  const votes = new Int32Array(2 * lagSteps + 1);
  const seen = new Int32Array(2 * lagSteps + 1).fill(-1);
  visual.forEach((v, vi) => {
    for (const a of audio) {
      const l = Math.round((a - v) / HOP);
      if (l < -lagSteps - half || l > lagSteps + half) continue;
      for (let j = Math.max(-lagSteps, l - half); j <= Math.min(lagSteps, l + half); j++) {
        if (seen[j + lagSteps] === vi) continue;
        seen[j + lagSteps] = vi;
        votes[j + lagSteps]!++;
      }
    }
  });
  // Best lag; among ties, the middle of the widest run of the maximum.
  let max = 0;
  for (const c of votes) if (c > max) max = c;
  if (max === 0) return undefined;
  let bestStart = -1;
  let bestLen = 0;
  for (let l = 0; l < votes.length;) {
    if (votes[l] !== max) {
      l++;
      continue;
    }
    let e = l;
    while (e < votes.length && votes[e] === max) e++;
    if (e - l > bestLen) {
      bestLen = e - l;
      bestStart = l;
    }
    l = e;
  }
  const centre = (bestStart + (bestLen - 1) / 2 - lagSteps) * HOP;
  let runnerUp = 0;
  const guard = 2 * half + 1;
  for (let l = 0; l < votes.length; l++) {
    if (l >= bestStart - guard && l < bestStart + bestLen + guard) continue;
    if (votes[l]! > runnerUp) runnerUp = votes[l]!;
  }
  // Refine: median gap of the pairs that voted for the winning lag.
  const tol = (half + 0.5) * HOP;
  const gaps: number[] = [];
  for (const v of visual) {
    let best = Number.NaN;
    for (const a of audio) {
      const g = a - v;
      if (Math.abs(g - centre) <= tol && !(Math.abs(best - centre) <= Math.abs(g - centre))) best = g;
    }
    if (!Number.isNaN(best)) gaps.push(best);
  }
  gaps.sort((x, y) => x - y);
  const offset = gaps.length ? gaps[gaps.length >> 1]! : centre;
  const rate = audio.length / Math.max(audioSpan, 1e-3);
  const binWidth = (2 * half + 1) * HOP;
  const expected = visual.length * rate * binWidth;
  const trials = (2 * maxLag) / binWidth;
  return {
    offset,
    visual: visual.length,
    audio: audio.length,
    matched: max,
    runnerUp,
    expected,
    confidence: confidenceOf(max, runnerUp, expected, trials),
  };
}

/**
 * Confidence 0..1 of an event-coincidence peak, the product of three factors:
 * - significance: 1 − p, p = the Poisson probability of at least `matched` chance coincidences
 *   at one lag (mean `expected`, from the audio onset rate) times the number of independent
 *   lags tried (Bonferroni);
 * - distinctness: 1 − runnerUp / matched, so a tie with another lag (periodic speech or music,
 *   clustered onsets that the Poisson model underrates) gives no verdict;
 * - support: matched / MATCHES_FOR_FULL_CONFIDENCE, so a verdict rests on several events.
 */
export function confidenceOf(matched: number, runnerUp: number, expected: number, trials: number): number {
  if (matched <= 0) return 0;
  const p = Math.min(1, poissonTail(matched, expected) * Math.max(1, trials));
  const distinct = 1 - Math.min(matched, runnerUp) / matched;
  return Math.max(0, (1 - p) * distinct * Math.min(1, matched / MATCHES_FOR_FULL_CONFIDENCE));
}

/** P(X >= k) for X ~ Poisson(mu). */
export function poissonTail(k: number, mu: number): number {
  if (k <= 0) return 1;
  if (mu <= 0) return 0;
  let term = Math.exp(-mu);
  let below = term;
  for (let i = 1; i < k; i++) {
    term *= mu / i;
    below += term;
  }
  return Math.max(0, 1 - below);
}

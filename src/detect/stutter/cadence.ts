/**
 * The nominal frame period of a video track, learnt from its decode timestamps: the median
 * of the last 64 DTS steps, snapped to the declared frame rate when the median is a small
 * multiple of it (with every other frame dropped the median step is two periods). Also says
 * whether the cadence is regular (most steps on the grid of whole periods) or variable.
 * Fixed memory; the median is recomputed every 16 steps, so O(1) amortized per packet.
 */
const SIZE = 64;
const EVERY = 16;
/** Steps further than this from a whole number of periods are off the grid. */
const GRID_TOLERANCE = 0.15;
/** Share of recent steps that must sit on the grid for the cadence to count as regular. */
const REGULAR_SHARE = 0.8;

export class Cadence {
  private readonly steps = new Float64Array(SIZE);
  private readonly scratch = new Float64Array(SIZE);
  private count = 0;
  private next = 0;
  private sinceUpdate = 0;
  private declared = 0;
  /** Current nominal period (s), 0 while unknown. */
  period = 0;
  /** Whether the recent steps sit on a grid of whole periods (constant frame rate, maybe with drops). */
  regular = false;

  /** A new connection: forget the steps, take the declared frame rate (fps, 0 when unknown). */
  reset(declaredFps: number): void {
    this.count = 0;
    this.next = 0;
    this.sinceUpdate = 0;
    this.declared = declaredFps > 0 ? 1 / declaredFps : 0;
    this.period = this.declared;
    this.regular = false;
  }

  /** Record one DTS step (s, > 0). */
  add(step: number): void {
    this.steps[this.next] = step;
    this.next = (this.next + 1) % SIZE;
    if (this.count < SIZE) this.count++;
    if (++this.sinceUpdate >= EVERY) {
      this.sinceUpdate = 0;
      this.update();
    }
  }

  private update(): void {
    const n = this.count;
    // Once full (all but the first 64 steps) no view is allocated.
    const s = n === SIZE ? this.scratch : this.scratch.subarray(0, n);
    s.set(n === SIZE ? this.steps : this.steps.subarray(0, n));
    s.sort();
    const median = s[n >> 1]!;
    let period = median;
    if (this.declared > 0) {
      const k = Math.round(median / this.declared);
      if (k >= 1 && k <= 3 && Math.abs(median / (k * this.declared) - 1) <= 0.1) period = this.declared;
    }
    this.period = period;
    let onGrid = 0;
    for (let i = 0; i < n; i++) {
      const r = s[i]! / period;
      if (Math.abs(r - Math.round(r)) <= GRID_TOLERANCE) onGrid++;
    }
    this.regular = n >= EVERY && onGrid >= REGULAR_SHARE * n;
  }
}

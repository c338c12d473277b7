/**
 * Turns a per-observation boolean ("this frame is black") into intervals, marking only
 * the edges like FFmpeg's blackdetect: an interval opens once the condition has held for
 * `minDuration` (it is reported with its true start), and closes once the condition has
 * been absent for `recovery` (reported with the time it really ended). Short dropouts
 * inside an interval (< recovery) do not split it, so it never flaps.
 */
export interface IntervalTrackerOptions {
  /** Seconds the condition must hold before the interval opens. */
  readonly minDuration: number;
  /** Seconds the condition must be absent before the interval closes. */
  readonly recovery: number;
}

export interface IntervalCallbacks {
  onOpen(start: number, now: number): void;
  onClose(start: number, end: number): void;
}

/** NaN as a module constant: no type feedback needed where the optimised code first meets it. */
const NONE = NaN;

export class IntervalTracker {
  /** Start of the current run of "active" observations, or NaN. */
  private candidateStart = NONE;
  /** Time just after the last active observation (its end), or NaN. */
  private lastActiveEnd = NONE;
  private open = false;

  constructor(
    private readonly opts: IntervalTrackerOptions,
    private readonly cb: IntervalCallbacks,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Start of the open interval (or candidate), NaN when idle. */
  get start(): number {
    return this.candidateStart;
  }

  /**
   * @param t observation time (s)
   * @param duration how long the observation covers (frame duration, chunk length)
   * @param active whether the condition holds
   * @param startHint when a new interval begins here, the detector may know it really began
   *   earlier (a condition that needs a look-back window to confirm); never later than t.
   */
  update(t: number, duration: number, active: boolean, startHint?: number): void {
    if (active) {
      const begin = startHint === undefined ? t : Math.min(t, startHint);
      if (Number.isNaN(this.candidateStart)) {
        this.candidateStart = begin;
      } else if (!this.open && t - this.lastActiveEnd >= this.opts.recovery) {
        // The earlier candidate died out before opening: start afresh.
        this.candidateStart = begin;
      } else if (!this.open && startHint !== undefined && startHint > this.candidateStart) {
        // The detector knows the condition restarted (its own evidence was reset).
        this.candidateStart = begin;
      }
      this.lastActiveEnd = t + duration;
      if (!this.open && this.lastActiveEnd - this.candidateStart >= this.opts.minDuration) {
        this.open = true;
        this.cb.onOpen(this.candidateStart, this.lastActiveEnd);
      }
      return;
    }
    if (Number.isNaN(this.candidateStart)) return;
    if (t + duration - this.lastActiveEnd >= this.opts.recovery) {
      if (this.open) this.cb.onClose(this.candidateStart, this.lastActiveEnd);
      this.reset();
    }
  }

  /** End of stream or discontinuity: close an open interval at its last active time. */
  flush(): void {
    if (this.open) this.cb.onClose(this.candidateStart, this.lastActiveEnd);
    this.reset();
  }

  private reset(): void {
    this.open = false;
    this.candidateStart = NONE;
    this.lastActiveEnd = NONE;
  }
}

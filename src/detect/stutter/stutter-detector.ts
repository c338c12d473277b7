import type { PacketInfo, VideoFrameView } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { EventWindow } from '../transport/event-window.ts';
import { timestampStep } from '../transport/timestamps.ts';
import { Cadence } from './cadence.ts';

const DROPPED = 0;
const DUPLICATED = 1;
const JITTER = 2;
/** Preview pixels sampled for the frame difference: every 2nd column of every 2nd row. */
const SAMPLE_STEP = 2;
/** Mean difference (luma levels) at or under which two previews are the same picture. */
const STILL = 0.02;
/**
 * A lossy encoder codes a repeated picture with a little residual (HEVC, VP9 at low bitrate on
 * grainy film: 0.3-0.6 levels where moving frames differ by 1-2): a frame that changes by at
 * most this share of the recent plain change is a repeat too (its change is then the noise floor).
 */
const DIP = 0.45;
/**
 * A repeat counts as stutter when the picture after it catches up: its change, less the repeat's
 * own (the noise floor), is at least this multiple of the recent plain change less the same floor,
 * i.e. the content moved on about two steps while the picture was held (a frame lost and the
 * previous one shown in its place). A source at a lower frame rate carried at this one (12.5 or
 * 10 fps shown at 25, 24 at 30, animation on twos) repeats pictures in a steady cadence but moves
 * by one ordinary step after each repeat: the content's own frame rate, not stutter.
 */
const CATCH_UP = 1.8;
/**
 * The same for an identical repeat, which is unambiguous evidence of a held picture where a shallow
 * dip could be a slow moment: the catch-up need only clearly exceed one step. In between, the
 * multiple goes from this to CATCH_UP with the depth of the dip (its change over DIP x the step).
 */
const CATCH_UP_IDENTICAL = 1.4;
/**
 * A picture held for k frames is followed by about k + 1 steps of movement; a change beyond
 * k + CUT_STEPS steps is a new shot (a cut, or a loop point, that happens to follow a repeat),
 * not content catching up. Frame differences grow less than linearly with displacement, so a
 * real catch-up stays well under this.
 */
const CUT_STEPS = 2;
/**
 * Content whose frame differences saturate (water, foliage, a fractal zoom: texture that changes
 * rather than moves) differs from two frames back by little more than from one frame back (1.2-1.4x
 * on the evaluation's water clip and Mandelbrot zoom, where a moving pattern gives 2x), so a
 * catch-up after a lost frame never reaches CATCH_UP steps. There, a change at least halfway from
 * the one-step to the two-step change counts as a catch-up, provided the two differ by this ratio
 * at least (else a repeat in the content's own cadence could not be told from a lost frame). Only
 * after a repeat that is practically identical (its change at most TWO_STEP_FLOOR of a step), the
 * unambiguous sign of a held picture: old film re-encoded (His Girl Friday through HEVC and VP9 at
 * 320x180) repeats and catches up irregularly on its own, its repeats re-coded with a residual of
 * 0.3-0.4 steps, and the halfway mark counted enough of those to open false incidents. Not on a
 * keyframe either, whose refresh adds to the change.
 */
const TWO_STEP_MIN = 1.15;
const TWO_STEP_FLOOR = 0.25;
/** Plain changes (a moving frame after a moving frame) kept for the reference, and how long. */
const PLAIN_SIZE = 9;
const PLAIN_SECONDS = 2;

/**
 * Irregular video cadence. Two views of the same track:
 * - timestamps (PacketInfo, decode order, DTS): a step of k ≥ 2 nominal periods is k-1
 *   dropped frames, a step of (almost) zero is a duplicated frame (a repeated timestamp:
 *   ingest drops such frames before decoding them into views, so only packets show them),
 *   a step off the grid of whole periods is jitter. Steps longer than `maxGap` are not
 *   stutter (freeze, signal loss and transport report those);
 * - pictures (the 160-pixel preview): a frame (practically) identical to the one before, in a
 *   run of one or two, between frames that move, after which the picture catches up (jumps by
 *   well over the recent frame-to-frame change), is a duplicate with a fresh timestamp: a frame
 *   lost and the previous one shown in its place. Repeats without a catch-up are the content's
 *   own lower frame rate (12.5 fps carried at 25, 3:2 pulldown, animation on twos) and are not
 *   counted. Longer identical runs are freezes or still content, never counted here.
 * The nominal period is learnt (Cadence): the declared frame rate when the median DTS step
 * agrees with it, the median otherwise. While fewer than 80% of recent steps sit on the
 * grid of whole periods the source is variable-frame-rate, and timestamps are not judged.
 * An incident opens when irregular frames per second, over `window`, stay at or above
 * `threshold` for `minDuration`.
 */
export const stutterDetector = defineDetector({
  name: 'stutter',
  types: ['stutter'],
  description:
    'Irregular video cadence: dropped frames (timestamp steps of several frame periods), duplicated frames (repeated timestamps, or isolated repeated pictures after which the content jumps ahead) and timestamp jitter.',
  inputs: [{ kind: 'packet' }, { kind: 'video', plane: 'luma' }, { kind: 'info' }],
  options: {
    threshold: {
      type: 'number',
      description: 'Irregular frames per second (dropped + duplicated + jittered, over the window) at which the cadence counts as stuttering',
      default: 2,
      min: 0.1,
      max: 120,
      unit: 'frames/s',
      guidance:
        'A clean constant-frame-rate stream has none. Dropping every 5th frame at 25 fps is 5/s, clearly visible. Isolated drops (a frame now and then) stay well under 2/s. A steady repeat cadence of a lower-frame-rate source (3:2 pulldown, 12.5 fps at 25) is not counted.',
    },
    window: {
      type: 'number',
      description: 'Window over which irregular frames are counted',
      default: 2,
      min: 0.5,
      max: 60,
      unit: 's',
      guidance: 'Longer windows smooth bursty drops; the rate needs about threshold × window irregular frames to reach the threshold.',
    },
    minDuration: {
      type: 'number',
      description: 'Seconds the rate must stay at or above the threshold before an incident opens',
      default: 2,
      min: 0,
      max: 3600,
      unit: 's',
    },
    recovery: {
      type: 'number',
      description: 'Seconds below the threshold before an open incident closes',
      default: 1,
      min: 0,
      max: 600,
      unit: 's',
    },
    maxGap: {
      type: 'number',
      description: 'Longest timestamp step still counted as dropped frames; longer gaps are left to freeze, signal loss and transport',
      default: 1,
      min: 0.1,
      max: 60,
      unit: 's',
    },
    motion: {
      type: 'number',
      description: 'Mean preview difference (luma levels) above which neighbouring frames count as moving, for duplicate pictures',
      default: 0.5,
      min: 0.05,
      max: 50,
      unit: 'luma levels',
      guidance:
        'A repeated frame of a moving scene differs from its neighbours by several levels on average; sensor noise alone by under 0.5 on a compressed stream. Raise it if slow, low-contrast content is reported.',
    },
    pictures: {
      type: 'boolean',
      description: 'Also count repeated pictures with fresh timestamps after which the content jumps ahead (reads the preview of every frame)',
      default: true,
    },
  },
  create(o, ctx) {
    const cadence = new Cadence();
    const window = new EventWindow(3);
    const reporter = new EdgeReporter(ctx, 'stutter', { minDuration: o.minDuration, recovery: o.recovery });
    const totals = new Float64Array(3);
    let lastDts = Number.NaN;
    let rate = 0;
    let wasActive = false;
    reporter.measurements = () => ({
      dropped: window.count(DROPPED),
      duplicated: window.count(DUPLICATED),
      jitter: window.count(JITTER),
      perSecond: round(rate),
      nominalFps: cadence.period > 0 ? round(1 / cadence.period) : 0,
      droppedTotal: totals[DROPPED]!,
      duplicatedTotal: totals[DUPLICATED]!,
    });

    // Picture duplicates: the previous preview, and the run of identical frames after it.
    let prev = new Uint8Array(0);
    let havePrev = false;
    let lastMoving = false;
    let runLength = 0;
    let runStart = 0;
    let runAfterMotion = false;
    /** Smallest change within the current run of repeats (the noise floor of a repeated picture). */
    let runFloor = 0;
    /** Change of the last moving frame (before the current run of repeats, if any). */
    let lastMoveChange = Number.NaN;
    let runBefore = Number.NaN;
    /**
     * A catch-up waiting for the next frame: the step it is judged against is also local (the
     * moves just before the repeat and just after the catch-up), so content that speeds up is
     * not read as catching up. Time, repeats, floor, change, change before; NaN time: none.
     */
    let pendingAt = Number.NaN;
    let pendingRun = 0;
    let pendingFloor = 0;
    let pendingChange = 0;
    let pendingBefore = 0;
    let pendingStep = 0;
    let pendingStep2 = 0;
    /** Recent plain changes (a moving frame right after a moving frame) and their times: the reference step. */
    const plain = new RecentSteps();
    /** Recent changes over two frames (against the frame before the previous one, all three moving): the two-step reference. */
    const plain2 = new RecentSteps();
    /** The sampled preview two frames back, and whether the frame between moved after a moving one. */
    let prev2 = new Uint8Array(0);
    let havePrev2 = false;
    let prevPlain = false;

    /**
     * Whether `change` after repeats down to `floor` is a catch-up of about two steps of `step`, or,
     * where the content's differences saturate and the repeat was practically identical, at least
     * halfway to the two-step change `step2` (NaN: not judged that way).
     */
    function caughtUp(change: number, floor: number, step: number, step2: number): boolean {
      const depth = Math.min(1, floor / (DIP * step));
      if (change - floor >= (CATCH_UP_IDENTICAL + (CATCH_UP - CATCH_UP_IDENTICAL) * depth) * (step - floor)) return true;
      return floor <= TWO_STEP_FLOOR * step && step2 >= TWO_STEP_MIN * step && change >= (step + step2) / 2;
    }

    /** Decide the pending catch-up against the larger of the recent plain step and the local one. */
    function judgeCatchUp(after: number): void {
      const near = [pendingBefore, after].filter((x) => Number.isFinite(x));
      const local = near.length > 0 ? near.reduce((a, b) => a + b, 0) / near.length : 0;
      const step = Math.max(pendingStep, local);
      const cut = pendingChange - pendingFloor > (pendingRun + CUT_STEPS) * (step - pendingFloor);
      if (!cut && caughtUp(pendingChange, pendingFloor, step, pendingStep2)) event(DUPLICATED, pendingAt, pendingRun);
      pendingAt = Number.NaN;
    }

    function event(kind: number, t: number, weight: number): void {
      window.push(t, kind, weight);
      totals[kind]! += weight;
    }

    function resetTiming(): void {
      lastDts = Number.NaN;
      havePrev = false;
      runLength = 0;
      lastMoving = false;
      lastMoveChange = Number.NaN;
      pendingAt = Number.NaN;
      wasActive = false;
      plain.clear();
      plain2.clear();
      havePrev2 = false;
      prevPlain = false;
    }

    function onPacket(p: PacketInfo): void {
      if (p.track !== 'video') return;
      const ts = Number.isFinite(p.dts) ? p.dts : p.pts;
      if (!Number.isFinite(ts)) return;
      const prevTs = lastDts;
      lastDts = ts;
      if (Number.isNaN(prevTs)) return;
      const step = timestampStep(prevTs, ts);
      // Backward steps and long gaps are discontinuities (transport, signal loss), not cadence.
      if (step < 0 || step > o.maxGap) return;
      const period = cadence.period;
      if (step > 0) cadence.add(step);
      if (!(period > 0) || !cadence.regular) return;
      const r = step / period;
      if (r <= 0.25) {
        event(DUPLICATED, p.mediaTime, 1);
        return;
      }
      const k = Math.round(r);
      if (Math.abs(r - k) > 0.25) event(JITTER, p.mediaTime, 1);
      else if (k >= 2) event(DROPPED, p.mediaTime, k - 1);
    }

    /** Change against two frames back, measured by pictureChange when it was asked to (NaN otherwise). */
    let change2 = Number.NaN;

    /**
     * Mean absolute difference from the previous preview (sampled), and keep this one; with `two`,
     * also from the preview before that (into change2).
     */
    function pictureChange(v: VideoFrameView, two: boolean): number {
      const pv = v.preview;
      const data = pv.data;
      const n = pv.width * pv.height;
      if (prev.length !== n) {
        prev = new Uint8Array(n);
        prev2 = new Uint8Array(n);
        havePrev = false;
        havePrev2 = false;
      }
      let sum = 0;
      let sum2 = 0;
      let count = 0;
      const withTwo = two && havePrev2;
      if (havePrev) {
        for (let y = 0; y < pv.height; y += SAMPLE_STEP) {
          const row = y * pv.width;
          for (let x = 0; x < pv.width; x += SAMPLE_STEP) {
            const a = data[row + x]!;
            const d = a - prev[row + x]!;
            sum += d < 0 ? -d : d;
            if (withTwo) {
              const d2 = a - prev2[row + x]!;
              sum2 += d2 < 0 ? -d2 : d2;
            }
            count++;
          }
        }
      }
      change2 = withTwo && count > 0 ? sum2 / count : Number.NaN;
      // Keep the two last previews (swap buffers: no copy of the older one).
      const older = prev2;
      prev2 = prev;
      prev = older;
      havePrev2 = havePrev;
      prev.set(data.length === n ? data : data.subarray(0, n));
      const had = havePrev;
      havePrev = true;
      return had && count > 0 ? sum / count : Number.NaN;
    }

    function onVideo(v: VideoFrameView): void {
      if (o.pictures) {
        // Against two frames back only where the frame before moved after a moving one: a sample
        // of the two-step reference, if this frame moves too.
        const change = pictureChange(v, prevPlain);
        if (!Number.isNaN(change)) {
          const step = plain.median(v.mediaTime);
          // The two-step reference only where a catch-up is judged (after a run of repeats).
          const step2 = v.keyFrame || runLength === 0 ? Number.NaN : plain2.median(v.mediaTime);
          // A repeat: practically identical (a repeated frame decodes bit-identical, allow rounding),
          // or, after moving frames, a small fraction of their change (the encoder's residual on a repeat).
          const repeat = change <= STILL || (lastMoving && runLength === 0 && change <= DIP * step) || (runLength > 0 && change <= DIP * step);
          if (!Number.isNaN(pendingAt)) {
            // The frame after a catch-up: a move of its own gives the local step after it.
            const after = !repeat && change >= o.motion ? change : Number.NaN;
            judgeCatchUp(after);
          }
          if (repeat) {
            prevPlain = false;
            if (runLength === 0) {
              runStart = v.mediaTime;
              runAfterMotion = lastMoving;
              runBefore = lastMoveChange;
              runFloor = change;
            } else runFloor = Math.min(runFloor, change);
            runLength++;
          } else {
            const moving = change >= o.motion;
            // One or two repeats between moving frames, then a catch-up: a lost frame shown as the
            // previous one, not a freeze, and not a lower-frame-rate source's own cadence.
            // Without a reference step (no plain changes lately: every move follows a repeat), the
            // repeats are the cadence of the source itself.
            if (runLength > 0 && runLength <= 2 && runAfterMotion && moving && caughtUp(change, runFloor, step, step2)) {
              pendingAt = runStart;
              pendingRun = runLength;
              pendingFloor = runFloor;
              pendingChange = change;
              pendingBefore = runBefore;
              pendingStep = step;
              pendingStep2 = step2;
            } else if (runLength === 0 && lastMoving && moving) {
              plain.add(change, v.mediaTime);
              if (prevPlain && !Number.isNaN(change2)) plain2.add(change2, v.mediaTime);
            }
            prevPlain = runLength === 0 && lastMoving && moving;
            runLength = 0;
            lastMoving = moving;
            if (moving) lastMoveChange = change;
          }
        }
      }
      window.expire(v.mediaTime - o.window);
      rate = window.total() / o.window;
      ctx.gauge('stutter_frames_per_second', rate);
      // Still stuttering only while events keep coming at the threshold's pace: so the
      // incident ends about one event interval after the last irregular frame, not a window later.
      const active = rate > 0 && rate >= o.threshold && v.mediaTime - window.newest() <= 1 / o.threshold;
      // The run began with the oldest event in the window: say so once, when it turns active. Handing
      // the (sliding) oldest event on every frame restarted the pending run each time an event left
      // the window, so with window <= minDuration it opened late or, by timestamp alignment, never.
      reporter.update(v.mediaTime, v.wallTime, v.frameDuration, active, active && !wasActive ? window.oldest() : undefined);
      wasActive = active;
    }

    return {
      process(input) {
        if (input.kind === 'packet') onPacket(input);
        else if (input.kind === 'video') onVideo(input);
        else if (input.kind === 'info') {
          reporter.flush();
          window.clear();
          totals.fill(0);
          resetTiming();
          cadence.reset(input.video?.fps ?? 0);
        }
      },
      flush() {
        reporter.flush();
        window.clear();
        resetTiming();
      },
    };
  },
});

/** The last PLAIN_SIZE changes of a kind and their media times; their median over the last PLAIN_SECONDS. */
class RecentSteps {
  private readonly values = new Float64Array(PLAIN_SIZE);
  private readonly at = new Float64Array(PLAIN_SIZE).fill(Number.NEGATIVE_INFINITY);
  private readonly scratch = new Float64Array(PLAIN_SIZE);
  private next = 0;

  add(value: number, t: number): void {
    this.values[this.next] = value;
    this.at[this.next] = t;
    this.next = (this.next + 1) % PLAIN_SIZE;
  }

  clear(): void {
    this.at.fill(Number.NEGATIVE_INFINITY);
  }

  /** Median of the values of the last PLAIN_SECONDS, or NaN with fewer than 3 of them (insertion sort in place: no allocation). */
  median(now: number): number {
    const s = this.scratch;
    let n = 0;
    for (let i = 0; i < PLAIN_SIZE; i++) {
      if (now - this.at[i]! > PLAIN_SECONDS) continue;
      const v = this.values[i]!;
      let j = n++;
      for (; j > 0 && s[j - 1]! > v; j--) s[j] = s[j - 1]!;
      s[j] = v;
    }
    if (n < 3) return Number.NaN;
    return n % 2 === 1 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
  }
}

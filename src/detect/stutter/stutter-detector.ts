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
 * Irregular video cadence. Two views of the same track:
 * - timestamps (PacketInfo, decode order, DTS): a step of k ≥ 2 nominal periods is k-1
 *   dropped frames, a step of (almost) zero is a duplicated frame (a repeated timestamp:
 *   ingest drops such frames before decoding them into views, so only packets show them),
 *   a step off the grid of whole periods is jitter. Steps longer than `maxGap` are not
 *   stutter (freeze, signal loss and transport report those);
 * - pictures (the 160-pixel preview): a frame identical to the one before, in a run of one
 *   or two, between frames that move, is a duplicate with a fresh timestamp (the 3:2 style
 *   repeat of a frame-rate conversion). Longer identical runs are freezes or still content,
 *   never counted here.
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
    'Irregular video cadence: dropped frames (timestamp steps of several frame periods), duplicated frames (repeated timestamps, or isolated identical pictures between moving ones) and timestamp jitter.',
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
        'A clean constant-frame-rate stream has none. Dropping every 5th frame at 25 fps is 5/s, a 3:2 repeat pattern (24 fps shown at 30) is 6/s: both clearly visible. Isolated drops (a frame now and then) stay well under 2/s.',
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
      description: 'Also count identical pictures with fresh timestamps (reads the preview of every frame)',
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

    function event(kind: number, t: number, weight: number): void {
      window.push(t, kind, weight);
      totals[kind]! += weight;
    }

    function resetTiming(): void {
      lastDts = Number.NaN;
      havePrev = false;
      runLength = 0;
      lastMoving = false;
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

    /** Mean absolute difference from the previous preview (sampled), and keep this one. */
    function pictureChange(v: VideoFrameView): number {
      const pv = v.preview;
      const data = pv.data;
      const n = pv.width * pv.height;
      if (prev.length !== n) {
        prev = new Uint8Array(n);
        havePrev = false;
      }
      let sum = 0;
      let count = 0;
      if (havePrev) {
        for (let y = 0; y < pv.height; y += SAMPLE_STEP) {
          const row = y * pv.width;
          for (let x = 0; x < pv.width; x += SAMPLE_STEP) {
            const d = data[row + x]! - prev[row + x]!;
            sum += d < 0 ? -d : d;
            count++;
          }
        }
      }
      prev.set(data.length === n ? data : data.subarray(0, n));
      const had = havePrev;
      havePrev = true;
      return had && count > 0 ? sum / count : Number.NaN;
    }

    function onVideo(v: VideoFrameView): void {
      if (o.pictures) {
        const change = pictureChange(v);
        if (!Number.isNaN(change)) {
          // Practically identical (a repeated frame decodes bit-identical; allow rounding).
          if (change <= STILL) {
            if (runLength === 0) {
              runStart = v.mediaTime;
              runAfterMotion = lastMoving;
            }
            runLength++;
          } else {
            const moving = change >= o.motion;
            // One or two repeats between moving frames: a cadence repeat, not a freeze.
            if (runLength > 0 && runLength <= 2 && runAfterMotion && moving) event(DUPLICATED, runStart, runLength);
            runLength = 0;
            lastMoving = moving;
          }
        }
      }
      window.expire(v.mediaTime - o.window);
      rate = window.total() / o.window;
      ctx.gauge('stutter_frames_per_second', rate);
      // Still stuttering only while events keep coming at the threshold's pace: so the
      // incident ends about one event interval after the last irregular frame, not a window later.
      const active = rate > 0 && rate >= o.threshold && v.mediaTime - window.newest() <= 1 / o.threshold;
      reporter.update(v.mediaTime, v.wallTime, v.frameDuration, active, active ? window.oldest() : undefined);
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

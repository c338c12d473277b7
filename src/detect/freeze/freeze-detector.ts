import { maxOf, selectInPlace, type VideoFrameView } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { Drift } from './drift.ts';
import { GRID, PictureDiff, REGIONS } from './picture-diff.ts';
/** Seconds between two frames' media times beyond which the picture's history is dropped. */
const MAX_GAP = 1;
/** Rank of the 90th percentile among the regions' differences (above the median's two ranks). */
const P90 = Math.floor(REGIONS * 0.9);
/**
 * Slow camera moves (drift.ts): once the picture has been quiet this long, every DRIFT_EVERY s it is
 * compared with the picture at the start of the quiet stretch. It has moved when it differs from
 * it by at least DRIFT_LEVEL (median region, luma levels) and a shifted copy matches at least
 * 1 - DRIFT_MATCH better than the copy in place (a frozen picture, however noisy, matches best in place).
 */
/** Seconds of noise-like frames whose mean median is the noise level judged against grainLevel. */
const NOISE_SPAN = 0.5;
/**
 * Seconds within which change must follow change for new regions to count as live motion: an
 * object moving keeps changing regions frame after frame (or every few frames in a 4 fps+ source),
 * while an encoder recoding one block of a frozen picture does it once, here and there.
 */
const MOTION_GAP = 0.25;
/**
 * Seconds after a keyframe (at most half the GOP) during which weak noise-like change is not taken
 * for a live sensor: the encoder is still settling on the picture it has just refreshed.
 */
const SETTLE = 0.5;
/**
 * New regions next to ones the overlay already changed in this quiet run that may join it without
 * restarting the run: a clock's next digit flipping for the first time (tens of seconds, minutes)
 * after the learning second, which covers 1-3 regions of the 16x16 grid. More than this is content
 * moving across the picture (and an object that keeps moving soon exceeds it).
 */
const OVERLAY_GROWTH = 4;
const DRIFT_AFTER = 1;
const DRIFT_EVERY = 0.25;
const DRIFT_LEVEL = 3;
const DRIFT_MATCH = 0.95;

/**
 * Freeze detection that survives grain and burnt-in clocks.
 *
 * FFmpeg's freezedetect compares whole frames against one noise threshold, so grain hides
 * a freeze and a burnt-in clock or ticker keeps the picture "moving". Here the preview is
 * split into 16x16 regions and each frame is compared with the previous one per region:
 * - a region has *real change* when its mean absolute difference stands out from the
 *   picture's own noise floor (the median region), so uniform grain is not change;
 * - the picture is frozen while the regions with real change, accumulated since it went
 *   quiet, cover no more than `maxMovingArea` of it: a clock keeps changing the same few
 *   regions, while a pointer or a car moving over static content sweeps across many and
 *   so keeps restarting the count.
 * - a picture whose median region changes by more than `noiseCeiling` is moving as a whole;
 * - weak change spread over most of the picture (a live camera's sensor noise, or the
 *   change between keyframes) is evidence of a live source; the refresh at a keyframe is not,
 *   since a frozen picture re-encoded is refreshed at every keyframe too, and neither is such
 *   change in the half second after a keyframe (SETTLE), while the encoder settles. Uniform change
 *   at or above `grainLevel` is treated as grain on a still picture instead. This is a
 *   level heuristic: a very noisy live camera (night, high gain) needs a higher grainLevel.
 * - content that moves changes regions frame after frame (or every few frames in a source at a
 *   lower frame rate); a lone change, an encoder recoding one block of a frozen picture now and
 *   then, counts in that frame's changed area but is not learnt as a changing region and does not
 *   restart the quiet run as content reaching new regions (MOTION_GAP).
 * - a slow pan or tilt can change each frame by less than the encoder's noise; once the picture
 *   has been quiet for a second it is compared with the picture at the start of the quiet
 *   stretch, and a picture that has drifted away from it, which a shifted copy matches better
 *   than one in place, is moving (drift.ts).
 */
export const freezeDetector = defineDetector({
  name: 'freeze',
  types: ['freeze'],
  description: 'Frozen picture, including under grain and burnt-in clocks or tickers.',
  inputs: [{ kind: 'video', plane: 'luma' }],
  options: {
    minDuration: {
      type: 'number',
      description: 'Seconds of frozen picture before an incident opens',
      default: 2,
      min: 0.1,
      max: 3600,
      unit: 's',
      guidance: '2 s matches FFmpeg. Slides and still cameras with nothing moving are frozen by definition: raise it for such channels.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds of moving picture before an open incident closes',
      default: 0.5,
      min: 0,
      max: 600,
      unit: 's',
    },
    changeThreshold: {
      type: 'number',
      description: 'Smallest mean absolute difference (preview luma levels) a region needs to count as changed',
      default: 1.5,
      min: 0.05,
      max: 64,
      unit: 'luma levels',
      guidance: 'Encoder noise on a static shot stays under 1. Raise for very grainy sources.',
    },
    noiseFactor: {
      type: 'number',
      description: 'A region counts as changed only when its difference exceeds this multiple of the median region (the noise floor)',
      default: 3,
      min: 1,
      max: 50,
      unit: 'ratio',
    },
    noiseCeiling: {
      type: 'number',
      description: 'Median region difference above which the whole picture counts as moving (pans, fades, cuts)',
      default: 6,
      min: 0.5,
      max: 128,
      unit: 'luma levels',
      guidance: 'Grain of amplitude 10 gives a median near 3; camera motion gives 8 or more.',
    },
    grainLevel: {
      type: 'number',
      description: 'Median region difference from which uniform change counts as grain on a frozen picture rather than a live sensor',
      default: 1,
      min: 0.1,
      max: 64,
      unit: 'luma levels',
      guidance:
        'Applies to noise-like change only (white, even across the picture). Live cameras on still scenes show 0.1-0.6; grain of amplitude 8-10 on a frozen picture, encoded, 1.1-3. Weaker grain looks like a live sensor and is not caught. Raise it for noisy cameras (night, high gain).',
    },
    liveNoiseArea: {
      type: 'number',
      description: 'Fraction of the picture that must change (by any amount) for weak uniform change to count as a live source',
      default: 0.3,
      min: 0,
      max: 1,
      unit: 'ratio',
    },
    overlaySettle: {
      type: 'number',
      description: 'Time after the picture goes quiet during which changing regions are learnt as overlay (clock, ticker); later change in new regions is live motion, except up to 4 regions next to the overlay (a clock adding a digit)',
      default: 1,
      min: 0.1,
      max: 10,
      unit: 's',
      guidance: 'A clock shows its seconds digit within 1 s. Raise it for overlays that animate less often.',
    },
    keyframeIsLive: {
      type: 'boolean',
      description: 'Count the refresh at each keyframe as a sign of a live source',
      default: false,
      guidance:
        'Off by default, so a frozen source re-encoded with short GOPs is still caught. Turn on for fixed cameras on still scenes (CCTV, studio wides) that are otherwise reported as frozen; then freezes shorter than the GOP only are caught.',
    },
    maxMovingArea: {
      type: 'number',
      description: 'Largest fraction of the picture that may keep changing (clock, ticker, logo animation) in a frozen picture',
      default: 0.12,
      min: 0,
      max: 0.9,
      unit: 'ratio',
      guidance: 'A clock is 1-5% of the picture, a ticker 10%. Above 0.2, static scenes with a little real motion start to count as frozen.',
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'freeze', { minDuration: o.minDuration, recovery: o.recovery });
    const diff = new PictureDiff();
    const drift = new Drift();
    let lastDriftCheck = -Infinity;
    let noiseLevel = 0;
    let lastGrainAt = -Infinity;
    /** Medians of the recent noise-like frames (media time, level): the level a live sensor or grain is judged by. */
    const noiseHistory: { t: number; m: number }[] = [];
    let lastKeyAt = -Infinity;
    /** Seconds between the last two keyframes (Infinity until two were seen). */
    let gop = Infinity;
    /** Media time of the previous frame: a gap in the media restarts the comparison. */
    let prevT = Number.NaN;
    const mads = new Float64Array(REGIONS);
    const sorted = new Float64Array(REGIONS);
    const lastChanged = new Float64Array(REGIONS).fill(-Infinity);
    let quietSince = Number.NaN;
    let median = 0;
    let movingArea = 0;
    let identical = false;
    let lastChangeAt = -Infinity;
    /** New regions that joined the overlay next to it in the current quiet run (OVERLAY_GROWTH). */
    let grown = 0;
    reporter.measurements = () => ({
      noiseFloor: round(median),
      movingArea: round(movingArea, 3),
      identicalFrames: identical,
    });

    /** Forget the picture's history (after a discontinuity or a gap); the reporter is left alone. */
    function restart(): void {
      diff.reset();
      noiseLevel = 0;
      lastGrainAt = -Infinity;
      noiseHistory.length = 0;
      lastKeyAt = -Infinity;
      gop = Infinity;
      lastChangeAt = -Infinity;
      quietSince = Number.NaN;
      grown = 0;
      lastChanged.fill(-Infinity);
      drift.reset();
    }

    /** Whether a region next to `r` (8-neighbourhood) changed earlier in the quiet run that began at `runStart`. */
    function nextToRun(r: number, runStart: number, t: number): boolean {
      const x = r % GRID;
      const y = (r - x) / GRID;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= GRID || ny >= GRID) continue;
          const c = lastChanged[ny * GRID + nx]!;
          if (c >= runStart && c < t) return true;
        }
      }
      return false;
    }

    return {
      process(input) {
        if (input.kind !== 'video') return;
        const f: VideoFrameView = input;
        const p = f.preview;
        // A gap in media time (a source that stalled and resumed, frames the decoder released late
        // after a discontinuity): what came before says nothing about the picture now. Start over.
        const gap = !Number.isNaN(prevT) && (f.mediaTime < prevT || f.mediaTime - prevT > Math.max(MAX_GAP, 4 * f.frameDuration));
        prevT = f.mediaTime;
        if (gap) restart();
        if (!diff.compare(p.data, p.width, p.height)) return;
        const { sums, counts, total, nonzero } = diff;
        const w = p.width;
        const h = p.height;
        for (let r = 0; r < REGIONS; r++) mads[r] = counts[r]! > 0 ? sums[r]! / counts[r]! : 0;
        // The two middle values and the 90th percentile, as a sort would give them (selection: a
        // sort of 256 values every frame cost several microseconds).
        sorted.set(mads);
        const upper = selectInPlace(sorted, REGIONS / 2);
        median = (maxOf(sorted, 0, REGIONS / 2 - 1) + upper) / 2;
        const p90 = selectInPlace(sorted, P90, REGIONS / 2 + 1);
        const t = f.mediaTime;
        // Spatial character of the change (on every 4th row): white (grain, sensor noise: neighbouring
        // differences independent, ratio near 1.4) or smooth (lighting, exposure, pans: well below 1).
        const { rough, flat } = diff;
        const whiteness = flat > 0 ? rough / flat : 0;
        const noisy = nonzero >= o.liveNoiseArea * w * h;
        // Noise-like change: white, spread over most of the picture, about equal in every region.
        const noiseLike = noisy && whiteness >= 1.1 && p90 <= 2 * median + 0.5;
        if (f.keyFrame) {
          if (t > lastKeyAt) gop = t - lastKeyAt;
          lastKeyAt = t;
        }
        const refresh = f.keyFrame || t - lastKeyAt <= 3.5 * f.frameDuration;
        if (refresh && !o.keyframeIsLive && (median < o.grainLevel || whiteness >= 1)) {
          // A keyframe re-encodes the whole picture, frozen or not, and the encoder settles over the
          // next few frames: that refresh is no evidence either way. (A scene cut at a keyframe is
          // neither small nor white, and goes through below.)
          ctx.gauge('motion', total / (w * h));
          reporter.update(t, f.wallTime, f.frameDuration, reporter.isOpen || !Number.isNaN(quietSince), Number.isNaN(quietSince) ? t : quietSince);
          return;
        }
        // Weak noise-like change is a live sensor; strong is grain on a still picture (see grainLevel).
        // With keyframeIsLive, a keyframe's white refresh is a sign of life whatever its level.
        const keyframeLife = f.keyFrame && o.keyframeIsLive && noisy && whiteness >= 1;
        // Once a freeze is open, noise-like change is judged by its mean level over the noise-like
        // frames of the last NOISE_SPAN: coded grain's frame median swings (0.6-2.2 levels on one
        // freeze), and one frame dipping under grainLevel is the same grain, not a live sensor taking
        // over (it split freezes in two). Opening one still takes every frame's own level: weak noise
        // around grainLevel on live content (an MPEG-2 re-encode of a near-still shot) is life.
        let level = median;
        if (noiseLike) {
          noiseHistory.push({ t, m: median });
          while (noiseHistory.length > 0 && noiseHistory[0]!.t < t - NOISE_SPAN) noiseHistory.shift();
          if (reporter.isOpen) {
            let sum = 0;
            for (const h of noiseHistory) sum += h.m;
            level = sum / noiseHistory.length;
          }
        }
        const grain = !keyframeLife && noiseLike && level >= o.grainLevel && median <= o.noiseCeiling;
        if (grain) {
          noiseLevel = level;
          lastGrainAt = t;
        }
        // Not while the encoder settles after a keyframe (SETTLE, at most half the GOP): x265 (HEVC)
        // recodes a frozen picture a little some 0.2-0.3 s after each keyframe, weak and white like a sensor.
        const settling = t - lastKeyAt <= Math.min(SETTLE, gop / 2);
        const liveSensor = keyframeLife || (noiseLike && level < o.grainLevel && !settling);
        // Change over the whole picture that is not white (pans, slow camera moves, lighting) is motion.
        const smoothGlobalChange = noisy && whiteness < 1.1 && median >= o.changeThreshold / 2;
        const globalMotion = median > o.noiseCeiling || liveSensor || smoothGlobalChange;
        // Regions are judged against the noise floor: this frame's median, or, on frames the encoder
        // mostly skipped during grain (grain comes and goes with the bit budget), the last grain level.
        const floor = t - lastGrainAt <= 1 ? Math.max(median, noiseLevel) : median;
        const limit = Math.max(o.changeThreshold, o.noiseFactor * floor);
        // Motion lasts: change just before this frame (within MOTION_GAP, which spans the repeated
        // pictures of a source at a lower frame rate) makes the regions changing now moving content.
        // A lone change (an encoder recoding a block or two of a frozen picture, a clock's tick) is
        // counted in this frame's changed area but neither learnt as a changing region nor taken as
        // content reaching new ones.
        const moving = globalMotion || t - lastChangeAt <= MOTION_GAP;
        let changedNow = 0;
        let firstTimers = 0;
        let adjacent = 0;
        const runStart = Number.isNaN(quietSince) ? Infinity : quietSince;
        for (let r = 0; r < REGIONS; r++) {
          if (globalMotion || mads[r]! > limit) {
            changedNow++;
            if (!moving) continue;
            if (lastChanged[r]! < runStart) {
              firstTimers++;
              if (!globalMotion && nextToRun(r, runStart, t)) adjacent++;
            }
            lastChanged[r] = t;
          }
        }
        // A new region next to the overlay's is the overlay growing (a clock's next digit), a few times a run.
        if (firstTimers > 0 && firstTimers === adjacent && grown + adjacent <= OVERLAY_GROWTH) {
          grown += adjacent;
          firstTimers = 0;
        }
        if (changedNow > 0) lastChangeAt = t;
        identical = total === 0;
        const quietNow = changedNow / REGIONS <= o.maxMovingArea;
        const before = quietSince;
        if (!quietNow) quietSince = Number.NaN;
        else if (Number.isNaN(quietSince)) quietSince = t;
        else if (firstTimers > 0 && t - quietSince >= o.overlaySettle && t - lastGrainAt > 0.5) {
          // An overlay (clock, ticker) keeps changing the same regions; change reaching regions it has
          // not touched in this run, once the overlay had time to show itself, is live content moving.
          // (Not under grain: its bursts after skipped frames light up random regions.)
          quietSince = t;
        }
        let recent = 0;
        if (quietNow) {
          for (let r = 0; r < REGIONS; r++) if (lastChanged[r]! >= quietSince) recent++;
          // Change wandered over too much of the picture: live content, so the quiet run restarts here.
          if (recent / REGIONS > o.maxMovingArea) {
            quietSince = t;
            recent = changedNow;
          }
        }
        // Slow drift since the quiet stretch began: a camera move under the frame-to-frame threshold.
        if (!quietNow) drift.reset();
        else if (Number.isNaN(drift.at) || quietSince === t) drift.set(p.data, w, h, t);
        else if (t - drift.at >= DRIFT_AFTER && t - lastDriftCheck >= DRIFT_EVERY) {
          lastDriftCheck = t;
          if (drift.moved(p.data, w, h, DRIFT_LEVEL, DRIFT_MATCH)) {
            quietSince = t;
            recent = changedNow;
            drift.set(p.data, w, h, t);
          }
        }
        if (!Object.is(quietSince, before)) grown = 0;
        movingArea = recent / REGIONS;
        // A quiet run counts once it has outlived the overlay-learning second without live motion
        // restarting it (its start is backdated to quietSince): small moving content keeps
        // restarting it, so an open freeze closes when such content comes back.
        const frozen = quietNow && t - quietSince >= Math.min(o.overlaySettle, o.minDuration / 2);
        ctx.gauge('motion', total / (w * h));
        reporter.update(t, f.wallTime, f.frameDuration, frozen, Number.isNaN(quietSince) ? t : quietSince);
      },
      flush() {
        reporter.flush();
        restart();
        prevT = Number.NaN;
      },
    };
  },
});

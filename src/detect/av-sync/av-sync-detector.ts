import type { IntervalEdge, VideoFrameView } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector, type DetectorContext } from '../spec.ts';
import { AudioEvents, HOP } from './audio-events.ts';
import { matchEvents, peaks } from './correlate.ts';
import { TimestampWatch } from './timestamps.ts';
import { VideoEvents } from './video-events.ts';

/** Visual onset strength (log ratio of frame differences) from which a frame is an event: a 1.5x jump (cuts, motion starts). */
const VISUAL_LEVEL = 0.4;
/** Audio onset strength (summed log energy ratios of two bands) from which a hop is an onset. */
const AUDIO_LEVEL = 1;
/** Audio onsets closer than this many hops to a stronger one are not separate onsets. */
const AUDIO_PEAK_RADIUS = 3;
/** Verdicts are formed once per this much video media time (s). */
const EVAL_EVERY = 1;
/**
 * Seconds over which the audio clock's current drift rate must amount to the timestamp limit for the
 * clock alone to keep the timestamp check out of range once the A-V skew has its baseline (see evaluateTimestamps).
 */
const CLOCK_RATE_SPAN = 5;
/** A test-signal verdict needs this many flash–beep pairs in the window. */
const MIN_PAIRS = 3;
/**
 * Seconds of flashes a test-signal verdict is formed from: three flashes of a pattern with a
 * 2 s period, so that a change of offset is seen within a few seconds.
 */
const TEST_SIGNAL_WINDOW = 6;

/**
 * Audio/video synchronisation, three ways:
 * (a) test signal: flash frames (mean-luma jump on the preview) paired with the nearest
 *     tone-burst onset (sample-accurate), median over the pairs;
 * (b) ordinary content: coincidence of visual events (cuts, motion starts, from the
 *     preview's frame difference) with audio energy onsets over lags, in a sliding window;
 * (c) container timestamps: A-V packet timestamp skew against its baseline and audio
 *     timestamps against the sample clock.
 * Offsets are signed in ms, positive = audio late.
 */
export const avSyncDetector = defineDetector({
  name: 'av_sync',
  types: ['av_sync'],
  description:
    'Audio/video offset from a flash-and-beep test signal, from audio/visual event correlation on ordinary content, and from container timestamp drift or jumps.',
  inputs: [{ kind: 'video', plane: 'luma' }, { kind: 'audio', format: 'f32-planar' }, { kind: 'packet' }],
  options: {
    maxEarly: {
      type: 'number',
      description: 'How far audio may lead video before the offset is out of range',
      default: 90,
      min: 0,
      max: 1000,
      unit: 'ms',
      guidance:
        'ITU-R BT.1359 acceptability: audio at most 90 ms early. Its detectability threshold is 45 ms; use 45 for strict contribution feeds.',
    },
    maxLate: {
      type: 'number',
      description: 'How far audio may lag video before the offset is out of range',
      default: 185,
      min: 0,
      max: 1000,
      unit: 'ms',
      guidance: 'ITU-R BT.1359 acceptability: audio at most 185 ms late (detectability 125 ms).',
    },
    window: {
      type: 'number',
      description: 'Media seconds of audio and video correlated for each content verdict',
      default: 10,
      min: 3,
      max: 60,
      unit: 's',
      guidance:
        'Longer windows hold more cuts and sound events (higher confidence) but react later, and an offset shorter than about the window is outvoted by the in-sync part. 10 s suits edited programmes (a shot every 2-4 s); 20-30 s for slower content.',
    },
    maxLag: {
      type: 'number',
      description: 'Largest offset searched, either way',
      default: 500,
      min: 100,
      max: 2000,
      unit: 'ms',
      guidance: 'Offsets beyond ±500 ms are rare outside broken muxers; wider searches find more chance peaks.',
    },
    minConfidence: {
      type: 'number',
      description: 'Content verdicts below this confidence are ignored (no verdict)',
      default: 0.5,
      min: 0,
      max: 1,
      unit: 'ratio',
      guidance:
        'Confidence = significance x distinctness x support (ADR 0004). Edited content with a sound at each cut measures 0.7-0.9; the real clips in ../shared/media measure at most 0.31 (no verdict). Lowering it gives verdicts on sparse content, and chance verdicts with them.',
    },
    minDuration: {
      type: 'number',
      description: 'Seconds the offset must stay out of range (with confidence) before an incident opens',
      default: 5,
      min: 0,
      max: 3600,
      unit: 's',
      guidance:
        'Verdicts come once a second from a window of `window` seconds, so neighbouring verdicts share most of their evidence; 5 s asks for a lasting offset. Raise it for channels where edits make short-lived offsets.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds of confident in-range verdicts before an open incident closes',
      default: 5,
      min: 0,
      max: 3600,
      unit: 's',
      guidance:
        'Low-confidence verdicts neither open nor close: an incident stays open through a quiet stretch until confident in-range verdicts return.',
    },
    testSignal: {
      type: 'boolean',
      description: 'Measure flash-and-beep test patterns when present (takes precedence over content correlation)',
      default: true,
      guidance:
        'Needs 3+ periodic full-frame flashes (80+ levels brighter) each near a tone burst. Turn off for content with steady strobes.',
    },
    flashJump: {
      type: 'number',
      description: 'Mean-luma rise over the frames before that marks a test-pattern flash',
      default: 80,
      min: 10,
      max: 255,
      unit: 'luma levels',
      guidance: 'A white flash on a dark pattern jumps by 150+; scene cuts rarely jump by more than 60.',
    },
    timestamps: {
      type: 'boolean',
      description: 'Check container timestamps for A/V drift and jumps',
      default: true,
      guidance: 'Cheap (one comparison per packet); turn off only for sources known to restamp audio freely.',
    },
    maxTimestampSkew: {
      type: 'number',
      description:
        'Change of the audio-minus-video timestamp skew that counts as drift (also of audio timestamps against the sample clock, while that clock drifts by this much within 5 s, or where there is no video)',
      default: 100,
      min: 10,
      max: 5000,
      unit: 'ms',
      guidance:
        'Steady streams stay within a few ms once interleaving is smoothed out; 100 ms is below the 185 ms acceptability limit.',
    },
    timestampMinDuration: {
      type: 'number',
      description: 'Seconds the timestamp skew must stay beyond maxTimestampSkew before an incident opens',
      default: 2,
      min: 0,
      max: 3600,
      unit: 's',
      guidance:
        'Also the recovery time. The skew is smoothed over 5 s of interleaving, so a jump shows within ~1.5 s and its end up to 5 s late.',
    },
  },
  create(o, ctx) {
    let verdict: {
      offset: number;
      confidence: number;
      kind: 'content' | 'test_signal';
      extra: Record<string, number>;
      /** Media time from which the evidence agrees with this offset, when known. */
      since?: number | undefined;
    } = {
      offset: 0,
      confidence: 0,
      kind: 'content',
      extra: {},
    };
    const contentReporter = new EdgeReporter(
      withConfidence(ctx, () => verdict.confidence),
      'av_sync',
      {
        minDuration: o.minDuration,
        recovery: o.recovery,
      },
    );
    contentReporter.measurements = () => ({
      kind: verdict.kind,
      offsetMs: round(verdict.offset * 1000, 1),
      confidence: round(verdict.confidence, 3),
      ...Object.fromEntries(Object.entries(verdict.extra).map(([k, v]) => [k, round(v, 3)])),
    });
    const ts = new TimestampWatch();
    /** Media time the timestamp checks last went out of range (NaN while in range). */
    let tsOutSince = Number.NaN;
    const tsReporter = new EdgeReporter(
      ctx,
      'av_sync',
      { minDuration: o.timestampMinDuration, recovery: o.timestampMinDuration },
      'timestamps',
    );
    let tsState = ts.state(0);
    tsReporter.measurements = () => ({
      kind: 'timestamps',
      skewChangeMs: round(tsState.skewChange * 1000, 1),
      audioClockDriftMs: round(tsState.audioClock * 1000, 1),
      // A step off a track's packet-duration grid since shortly before the skew left its range: a jump.
      cause: tsState.lastJump >= tsOutSince - 6 ? 'jump' : 'drift',
      skewRatePpm: round(tsState.skewRate * 1e6, 0),
      audioClockPpm: round(tsState.audioClockRate * 1e6, 0),
      ...(tsState.lastJump >= tsOutSince - 6 ? { jumpMs: round(tsState.lastJumpSize * 1000, 1) } : {}),
    });

    const maxLag = o.maxLag / 1000;
    const keep = o.window + maxLag + 2;
    // Visual series (per frame) and audio onset envelope (per 10 ms hop).
    const vt: number[] = [];
    const vs: number[] = [];
    const at: number[] = [];
    const as: number[] = [];
    const flashes: number[] = [];
    const bursts: number[] = [];
    let frameDuration = 0.04;
    let lastVideo = Number.NaN;
    let lastAudio = Number.NaN;
    let lastEval = Number.NaN;
    let lastTsEval = Number.NaN;
    const video = new VideoEvents(o.flashJump);
    const audio = new AudioEvents({
      hop: (t, s) => {
        at.push(t);
        as.push(s);
      },
      burst: (t) => bursts.push(t),
    });

    function prune(): void {
      // Either track may be absent (NaN): the other one's time still bounds the buffers.
      const horizon =
        Math.max(Number.isNaN(lastVideo) ? -Infinity : lastVideo, Number.isNaN(lastAudio) ? -Infinity : lastAudio) -
        keep;
      dropBefore(vt, vs, horizon);
      dropBefore(at, as, horizon);
      while (flashes.length && flashes[0]! < horizon) flashes.shift();
      while (bursts.length && bursts[0]! < horizon) bursts.shift();
    }

    function testSignalVerdict(end: number): typeof verdict | undefined {
      // (no pattern without MIN_PAIRS flashes: skip the work below, which runs on every input until a first verdict)
      if (!o.testSignal || flashes.length < MIN_PAIRS) return undefined;
      const offsets: number[] = [];
      const pairedFlashes: number[] = [];
      const inWindow = flashes.filter(
        (f) => f >= end - Math.min(o.window, TEST_SIGNAL_WINDOW) && f + maxLag <= lastAudio,
      );
      // A test pattern flashes at a steady period; dark-to-bright cuts in programmes do not.
      if (inWindow.length < MIN_PAIRS) return undefined;
      const gaps = inWindow.slice(1).map((f, i) => f - inWindow[i]!);
      const period = [...gaps].sort((a, b) => a - b)[gaps.length >> 1]!;
      // (a missed flash makes one gap of two periods)
      if (gaps.some((g) => Math.abs(g - Math.max(1, Math.round(g / period)) * period) > 1.5 * frameDuration))
        return undefined;
      for (const f of inWindow) {
        // Only flashes whose ±maxLag neighbourhood has been heard in full (filtered above).
        let best = Number.NaN;
        for (const b of bursts) if (Math.abs(b - f) <= maxLag && !(Math.abs(b - f) >= Math.abs(best - f))) best = b;
        if (!Number.isNaN(best)) {
          offsets.push(best - f);
          pairedFlashes.push(f);
        }
      }
      if (offsets.length < MIN_PAIRS) return undefined;
      const sorted = [...offsets].sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1]!;
      const consistent = offsets.filter((x) => Math.abs(x - median) <= frameDuration).length;
      const firstAgreeing = pairedFlashes.find((_, i) => Math.abs(offsets[i]! - median) <= frameDuration);
      return {
        offset: median,
        confidence: consistent / offsets.length,
        since: firstAgreeing,
        kind: 'test_signal',
        extra: { pairs: offsets.length, spreadMs: (sorted[sorted.length - 1]! - sorted[0]!) * 1000 },
      };
    }

    function contentVerdict(end: number): typeof verdict | undefined {
      const from = end - o.window;
      if (!vt.length || vt[0]! > from + frameDuration || !at.length || at[0]! > from - maxLag + 0.05) return undefined;
      const visual = peaks(vt, vs, VISUAL_LEVEL, 1, from, end);
      const sounds = peaks(at, as, AUDIO_LEVEL, AUDIO_PEAK_RADIUS, from - maxLag, end + maxLag);
      const m = matchEvents(visual, sounds, maxLag, frameDuration, o.window + 2 * maxLag);
      if (!m)
        return {
          offset: 0,
          confidence: 0,
          kind: 'content',
          extra: { visualEvents: visual.length, audioOnsets: sounds.length },
        };
      return {
        offset: m.offset,
        confidence: m.confidence,
        kind: 'content',
        extra: {
          visualEvents: m.visual,
          audioOnsets: m.audio,
          matched: m.matched,
          runnerUp: m.runnerUp,
          expectedByChance: m.expected,
        },
      };
    }

    function evaluate(wall: number): void {
      // The newest instant for which audio up to +maxLag is in.
      const end = Math.min(lastVideo, lastAudio - maxLag);
      if (!Number.isFinite(end) || (!Number.isNaN(lastEval) && end - lastEval < EVAL_EVERY)) return;
      const v = testSignalVerdict(end) ?? contentVerdict(end);
      if (!v) return;
      const first = Number.isNaN(lastEval);
      const step = first ? EVAL_EVERY : end - lastEval;
      lastEval = end;
      verdict = v;
      ctx.gauge('av_sync_confidence', v.confidence);
      const minConfidence = v.kind === 'test_signal' ? 0.5 : o.minConfidence;
      if (v.confidence < minConfidence) return; // no verdict: hold whatever state we are in
      ctx.gauge('av_offset_ms', v.offset * 1000);
      const out = v.offset * 1000 > o.maxLate || v.offset * 1000 < -o.maxEarly;
      contentReporter.update(end - step, wall, step, out, out ? v.since : undefined);
    }

    function evaluateTimestamps(t: number, wall: number): void {
      if (!o.timestamps) return;
      if (!Number.isNaN(lastTsEval) && t - lastTsEval < 0.5) return;
      const step = Number.isNaN(lastTsEval) ? 0.5 : t - lastTsEval;
      lastTsEval = t;
      tsState = ts.state(t);
      const limit = o.maxTimestampSkew / 1000;
      const skewOut = Math.abs(tsState.skewChange) > limit;
      // The audio clock (timestamps against the samples counted) keeps any offset a drift left behind,
      // also once the tracks agree again: after a re-sync jump (carried over the step) or samples dropped
      // to catch up (no step at all). So once the A-V skew has its baseline, the clock only counts while
      // it is still drifting fast enough to move by the limit within CLOCK_RATE_SPAN (an earlier verdict
      // on a fast ramp than the smoothed skew gives); the skew decides the rest, including the close.
      // Without a skew (no video yet, or audio only) the accumulated clock decides, as it can.
      const clockDrifting = Math.abs(tsState.audioClockRate) * CLOCK_RATE_SPAN > limit;
      const clockOut = Math.abs(tsState.audioClock) > limit && (!tsState.ready || clockDrifting);
      const out = skewOut || clockOut;
      if (out && Number.isNaN(tsOutSince)) tsOutSince = t;
      if (!out) tsOutSince = Number.NaN;
      tsReporter.update(t - step, wall, step, out);
    }

    function reset(): void {
      vt.length = vs.length = at.length = as.length = flashes.length = bursts.length = 0;
      lastVideo = lastAudio = lastEval = lastTsEval = tsOutSince = Number.NaN;
      video.reset();
      ts.restart();
      ts.restartClock();
    }

    return {
      process(input) {
        if (input.kind === 'video') {
          const f: VideoFrameView = input;
          frameDuration = f.frameDuration > 0 ? f.frameDuration : frameDuration;
          const s = video.process(f);
          vt.push(f.mediaTime);
          vs.push(s.strength);
          if (s.flash) flashes.push(f.mediaTime);
          lastVideo = f.mediaTime;
          evaluate(f.wallTime);
          if (vt.length % 64 === 0) prune();
        } else if (input.kind === 'audio') {
          audio.process(input);
          if (o.timestamps) ts.audioChunk(input);
          lastAudio = input.mediaTime + input.nbSamples / input.sampleRate;
          if (at.length > (keep / HOP) * 1.5) prune();
          evaluate(input.wallTime);
          evaluateTimestamps(input.mediaTime, input.wallTime);
        } else if (input.kind === 'packet') {
          if (!o.timestamps) return;
          ts.packet(input);
          evaluateTimestamps(input.mediaTime, input.wallTime);
        }
      },
      flush() {
        contentReporter.flush();
        tsReporter.flush();
        reset();
      },
    };
  },
});

/** Adds the verdict's confidence to open edges. */
function withConfidence(ctx: DetectorContext, confidence: () => number): DetectorContext {
  return {
    streamId: ctx.streamId,
    gauge: (n, v) => ctx.gauge(n, v),
    report: (e: IntervalEdge) => ctx.report(e.phase === 'open' ? { ...e, confidence: round(confidence(), 3) } : e),
  };
}

/** Drops the leading samples of a (times, values) pair of arrays older than `t`. */
function dropBefore(times: number[], values: number[], t: number): void {
  let n = 0;
  while (n < times.length && times[n]! < t) n++;
  if (n) {
    times.splice(0, n);
    values.splice(0, n);
  }
}

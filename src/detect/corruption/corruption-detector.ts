import type { MediaInput } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { BlockFeatures } from './features.ts';
import { bobTopField } from './fields.ts';
import { CorruptionModel } from './model.ts';
import weights from './model.json' with { type: 'json' };

/**
 * Block corruption, macroblocking and smearing from transmission damage, learned.
 *
 * Each analysed frame is cut into 16x16 macroblocks; per block, features of its boundaries
 * against its interior, of its change since the previous analysed frame and of its neighbours,
 * all relative to the picture's own median (compression blockiness, grain and motion are spread
 * over the picture, damage is local), go through a small perceptron trained on damaged and intact
 * encodes (`npm run train`, scripts/train; docs/adr/0003-corruption-model.md). The fraction of
 * blocks judged damaged is the frame's corrupted-area ratio (gauge `corruption_score`); an
 * incident opens when it stays at or above `threshold` for `minDuration`.
 *
 * Pixel evidence is the ratio above the stream's own baseline (over `baselineWindow`, at the same
 * point of the GOP: see baselineAt), with at least `minBlocks` damaged blocks: an intact
 * low-bitrate encode repeats its model response GOP after GOP, damage is an excursion until the
 * next keyframe.
 *
 * Decoder evidence opens an incident on its own (measurements.source 'decoder'): frames the decoder
 * flagged (VideoFrameView.decodeError), packets the demuxer flagged corrupt, and pictures the decoder
 * never output (video packets in, no picture out: packets the decoder refused), in `decoderPeriods`
 * analysis periods within minDuration. Damage in a predicted picture spreads until the next
 * keyframe even when the decoder flags only the first pictures, so an incident opened on decoder
 * evidence stays active until a clean keyframe follows the last flagged picture (at most
 * `decoderHold` seconds). The flags also feed the model (lower block threshold).
 * Damage persists until the next keyframe, so only one frame every `analysisInterval` seconds is
 * analysed: the per-block features and the first perceptron on every macroblock are the cost
 * (the second runs only near blocks the first found suspicious).
 */
/**
 * Fewest macroblocks a picture needs for a pixel verdict. The model was trained on pictures of
 * 320x180 (220 blocks) and larger, and its features are relative to the picture's own medians; a
 * 160x90 picture (50 blocks) is outside what it knows, and an intact testsrc2 render at that size
 * read as 30-60 % corrupted (four false incidents in 16 s), where 192x108 (72 blocks) and up read
 * clean. Smaller pictures get decoder evidence only.
 */
const MIN_PIXEL_BLOCKS = 64;
/** Fewest analysed frames at the same GOP phase that the pixel-evidence baseline is taken from (see baselineAt). */
const PHASE_MIN = 5;
/** The baseline at a GOP phase is this quantile of the stream's ratios there: the top of its own range (the upper quartile). */
const PHASE_QUANTILE = 0.75;

export const corruptionDetector = defineDetector({
  name: 'corruption',
  types: ['corruption'],
  description:
    'Block corruption and smearing from transmission damage, seen by the decoder or baked in upstream. Compression blockiness is not corruption.',
  inputs: [{ kind: 'video', plane: 'luma' }, { kind: 'packet' }, { kind: 'info' }],
  options: {
    threshold: {
      type: 'number',
      description: 'Fraction of the picture (macroblocks) judged damaged from which a frame counts as corrupted',
      default: Math.max(0.05, Math.round(weights.areaThreshold * 100) / 100),
      min: 0.005,
      max: 1,
      unit: 'ratio',
      guidance:
        'From training: just above the ratio that the 99th-percentile intact training sequence held for two analysed frames. Lower it to catch smaller damaged areas at the risk of false alarms on grid-like or very noisy content; raise it if such content alarms.',
    },
    minDuration: {
      type: 'number',
      description: 'Seconds the corrupted-area ratio must stay at or above the threshold before an incident opens',
      default: 0.4,
      min: 0,
      max: 600,
      unit: 's',
      guidance:
        'Damage lasts until the next keyframe (usually 0.5-2 s). Keep it at least twice analysisInterval so one odd frame cannot open an incident.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds under the threshold before an open incident closes',
      default: 1,
      min: 0,
      max: 600,
      unit: 's',
    },
    analysisInterval: {
      type: 'number',
      description: 'Analyse one frame every this many seconds (the others are skipped)',
      default: 0.2,
      min: 0,
      max: 5,
      unit: 's',
      guidance:
        "Each analysed 720p frame costs about 2.2 ms of CPU on an idle core of the project's 2-core machine (WebAssembly kernels; 1080p has 2.25x the blocks and takes about 2.5x), so 0.2 s (every 5th or 6th frame at 25-30 fps) averages about 0.4 ms per frame; 0 analyses every frame. The model was trained at 0.2 s spacing: its temporal features expect it, other values are not validated.",
    },
    blockProbability: {
      type: 'number',
      description: 'Model probability from which one macroblock counts as damaged',
      default: weights.blockThreshold,
      min: 0.05,
      max: 0.999,
      unit: 'ratio',
      guidance:
        'Chosen by training with the threshold. Raising it trades recall for fewer false alarms on content with grid-like structure (fences, tiles).',
    },
    minBlocks: {
      type: 'number',
      description: 'Damaged macroblocks a frame needs, besides the ratio, to count as corrupted from pixels alone',
      default: 8,
      min: 1,
      max: 10000,
      unit: 'blocks',
      guidance:
        'On small pictures (320x180: 220 blocks) a handful of blocks is already a large ratio; this keeps a few odd blocks from counting.',
    },
    baselineWindow: {
      type: 'number',
      description:
        "Seconds of recent analysed frames the stream's own baseline is learnt from (the upper quartile of the corrupted-area ratios at the same point of the GOP, or the median of all while the GOP is not known); pixel evidence is the ratio above it",
      default: 10,
      min: 0,
      max: 600,
      unit: 's',
      guidance:
        'Damage is a transient excursion (until the next keyframe); an intact low-bitrate encode repeats its response GOP after GOP, low after each keyframe and building up to the next (320x180 testsrc2 MPEG-2 at 300 kbit/s: 0 to 0.35). Keep several GOPs in it. 0 turns the baseline off. The baseline does not learn while an incident is open, and pixel evidence waits for about a second of it after a start.',
    },
    resumeSettle: {
      type: 'number',
      description:
        'Seconds after the picture starts moving again from a still stretch of at least stillBefore (black, a freeze, a pause) during which pixel evidence alone opens nothing',
      default: 1.5,
      min: 0,
      max: 10,
      unit: 's',
      guidance:
        'When a picture returns from black or a freeze the encoder first sends it coarse, then refines it block by block, which the model reads as local damage (measured on x264 at 720p 4 Mbit/s: area ratio 0.18 for 0.6 s after black; 1080p 8 Mbit/s: 0.27-0.58 up to 1.5 s after black or a freeze). Decoder evidence is not held. 0 turns this off.',
    },
    stillBefore: {
      type: 'number',
      description: 'Seconds a picture must have stood still for its return to start the resumeSettle hold',
      default: 1,
      min: 0.2,
      max: 60,
      unit: 's',
      guidance:
        'Longer than the few repeated pictures a decoder shows when it loses frames to damage, which must not hide that damage.',
    },
    decoderPeriods: {
      type: 'number',
      description:
        'Analysis periods with decoder evidence (flagged frames, corrupt packets, or pictures the decoder discarded), within minDuration plus one period, that open an incident on that evidence alone',
      default: 1,
      min: 1,
      max: 1000,
      unit: 'periods',
      guidance:
        "The decoder's own error report (concealment, AV_FRAME_FLAG_CORRUPT, corrupt packets) is reliable: intact streams do not carry it. With 1, one flagged picture opens an incident when its damage lasts minDuration (decoderHold keeps it until the next clean keyframe), so a glitch in the last pictures before a keyframe stays quiet. On HLS inputs the demuxer's corrupt-packet flag is ignored (segments restart their continuity counters; see transport.hlsContinuity); the decoder's own flags still count.",
    },
    decoderHold: {
      type: 'number',
      description:
        'Once decoder evidence has opened an incident, it stays active until a clean keyframe arrives after the last flagged picture, or at most this many seconds after that picture',
      default: 6,
      min: 0,
      max: 600,
      unit: 's',
      guidance:
        'Damage in a predicted picture spreads to the pictures that reference it until the next keyframe, even when the decoder flags only the first few. Set it to the longest keyframe interval you expect; streams without keyframes (intra refresh) heal within their refresh period. 0 ends decoder evidence with the last flagged analysis period.',
    },
    errorBlockProbability: {
      type: 'number',
      description:
        'The same, on frames the decoder (concealment) or the demuxer (corrupt packet) flagged since the previous analysed frame',
      default: weights.errorBlockThreshold,
      min: 0.05,
      max: 0.999,
      unit: 'ratio',
      guidance:
        "Lower than blockProbability: the decoder's own error report raises the odds of damage. Intact streams never carry the flag, so this cannot add false alarms on them.",
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'corruption', { minDuration: o.minDuration, recovery: o.recovery });
    const model = new CorruptionModel();
    const features = new BlockFeatures();
    let lastAnalysed = -Infinity;
    let errorSinceLast = false;
    let keySinceLast = false;
    let flaggedFrames = 0;
    let packetsIn = 0;
    let picturesOut = 0;
    let deficitHigh = -Infinity;
    let firstPicture = Number.NaN;
    let ratio = 0;
    let blocks = 0;
    /** Analyse the top field only (interlaced pictures of this size seen; see analyse), bobbed into fieldPlane. */
    let fieldMode = false;
    let fieldPlane = new Uint8Array(0);
    let fieldWidth = 0;
    let fieldHeight = 0;
    let baseline = 0;
    let active = false;
    let peak = 0;
    let decoderFlagged = false;
    let source: 'decoder' | 'pixels' = 'pixels';
    let activeSince = Number.NaN;
    /** Media time until which pixel evidence is held after the picture resumed from standing still. */
    let settleUntil = -Infinity;
    /** Start of the current still stretch (NaN while the picture moves). */
    let stillSince = Number.NaN;
    /** Media time of the frame being analysed. */
    let lastT = 0;
    let flaggedTotal = 0;
    /** Decoder evidence holds the incident until a clean keyframe after the last flagged picture (or decoderHold). */
    let decoderHeld = false;
    let lastFlagAt = -Infinity;
    let cleanKeyAt = -Infinity;
    /** A corrupt video packet since the last picture. */
    let corruptPacket = false;
    let packetFlagsMeaningful = true;
    /** Recent analysed frames' ratios and seconds since the keyframe before them (for the baseline), and the media times of flagged periods. */
    const history: Array<{ t: number; r: number; k: number }> = [];
    /** Media time of the last keyframe picture (NaN before the first). */
    let lastKeyAt = Number.NaN;
    /** Analysed frames since the start or the last discontinuity. */
    let analysedSinceStart = 0;
    const flaggedAt: number[] = [];
    const sorted: number[] = [];
    /** Scratch for baselineAt: the history entries with a keyframe before them. */
    const phased: Array<{ t: number; r: number; k: number }> = [];
    reporter.measurements = () => ({
      areaRatio: round(ratio, 3),
      peakRatio: round(peak, 3),
      baselineRatio: round(baseline, 3),
      decoderErrors: decoderFlagged,
      decoderFlaggedFrames: flaggedTotal,
      source,
    });

    function analyse(luma: Uint8Array, stride: number, width: number, height: number): void {
      blocks = 0;
      // More than 2 bytes per pixel per row: high-bit-depth samples (10-bit HEVC), which the 8-bit
      // features would read as garbage. Not judged (the view carries no pixel format to convert by).
      if (stride >= 2 * width && width >= 64) {
        ratio = 0;
        return;
      }
      // Interlaced: the top field alone, line-interpolated to full height (bobTopField), a picture
      // of one instant on the frame's macroblock grid. The woven frame's two fields differ wherever
      // anything moves or the light changes, and the model, trained on progressive pictures, read
      // that row-to-row alternation as damage (an intact 720i MPEG-2 clip: area ratio 0.41 and a
      // false incident). Damage hits both fields of a macroblock, so one field shows it.
      if (fieldMode) {
        if (fieldPlane.length < stride * height) fieldPlane = new Uint8Array(stride * height);
        luma = bobTopField(luma, stride, width, height, fieldPlane);
      }
      const n = features.compute(luma, stride, width, height, errorSinceLast);
      if (n > 0 && features.referenced) {
        if (features.medianTemporal < STILL_TEMPORAL) {
          if (Number.isNaN(stillSince)) stillSince = lastT;
        } else {
          if (!Number.isNaN(stillSince) && lastT - stillSince >= o.stillBefore) settleUntil = lastT + o.resumeSettle;
          stillSince = Number.NaN;
        }
      }
      // The first frame after a start or a discontinuity has no temporal reference, and a frame that
      // changed as a whole (cut, flash) none that means anything: not judged. Nor pictures too small
      // for the model (MIN_PIXEL_BLOCKS).
      if (n < MIN_PIXEL_BLOCKS || !features.referenced || features.globalChange) {
        if (n > 0) model.score(features.out, features.cols, features.rows, keySinceLast, o.blockProbability);
        ratio = 0;
        return;
      }
      const thr = errorSinceLast ? Math.min(o.blockProbability, o.errorBlockProbability) : o.blockProbability;
      ratio = model.score(features.out, features.cols, features.rows, keySinceLast, thr);
      blocks = Math.round(ratio * n);
    }

    function resetDeficit(): void {
      packetsIn = 0;
      picturesOut = 0;
      deficitHigh = -Infinity;
      firstPicture = Number.NaN;
    }

    /**
     * The stream's own response at this point of its GOP: the upper quartile of the ratios of the
     * analysed frames of the last baselineWindow seconds that were as long after their keyframe as
     * this one (within half an analysis period; the PHASE_MIN nearest in that time if fewer are);
     * the median of all of them while fewer than PHASE_MIN have a keyframe before them; 0 when off
     * or empty. A starved encode's response is a sawtooth over each GOP that also varies from GOP to
     * GOP with the content (320x180 MPEG-2 testsrc2 at 300 kbit/s: 0 at each keyframe, 0.06-0.31
     * 0.6 s after it): against the median of the whole window its every peak was an excursion.
     */
    function baselineAt(t: number, k: number, period: number): number {
      while (history.length > 0 && history[0]!.t < t - o.baselineWindow) history.shift();
      if (o.baselineWindow <= 0 || history.length === 0) return 0;
      sorted.length = 0;
      phased.length = 0;
      if (Number.isFinite(k)) for (const h of history) if (Number.isFinite(h.k)) phased.push(h);
      if (phased.length >= PHASE_MIN) {
        const tol = period / 2 + 1e-6;
        for (const h of phased) if (Math.abs(h.k - k) <= tol) sorted.push(h.r);
        if (sorted.length < PHASE_MIN) {
          sorted.length = 0;
          phased.sort((a, b) => Math.abs(a.k - k) - Math.abs(b.k - k));
          for (let i = 0; i < PHASE_MIN; i++) sorted.push(phased[i]!.r);
        }
        sorted.sort((a, b) => a - b);
        return sorted[Math.floor((sorted.length - 1) * PHASE_QUANTILE)]!;
      }
      for (const h of history) sorted.push(h.r);
      sorted.sort((a, b) => a - b);
      return sorted[sorted.length >> 1]!;
    }

    return {
      process(input: MediaInput) {
        // A (re)connection: the decoder restarts, and drops what comes before the first keyframe.
        if (input.kind === 'info') {
          resetDeficit();
          // HLS segments restart their continuity counters: FFmpeg flags the first packet of each
          // segment corrupt, which says nothing about the pictures.
          packetFlagsMeaningful = !/(^|,)hls(,|$)/.test(input.format);
          return;
        }
        if (input.kind === 'packet') {
          if (input.track !== 'video') return;
          if (input.corrupt && packetFlagsMeaningful) {
            errorSinceLast = true;
            corruptPacket = true;
          }
          packetsIn++;
          return;
        }
        if (input.kind !== 'video') return;
        const t = input.mediaTime;
        picturesOut++;
        // Packets in, no picture out: packets the decoder refused, or pictures it never output.
        // The decoder's delay keeps packets ahead of pictures by a bounded amount; a new high of that
        // deficit, after the first second, is pictures lost inside the decoder.
        if (Number.isNaN(firstPicture)) firstPicture = t;
        const deficit = packetsIn - picturesOut;
        let flaggedHere = corruptPacket || input.decodeError;
        corruptPacket = false;
        if (t - firstPicture < DEFICIT_SETTLE) deficitHigh = Math.max(deficitHigh, deficit);
        else if (deficit > deficitHigh) {
          if (deficit - deficitHigh >= 1) {
            errorSinceLast = true;
            flaggedHere = true;
            flaggedFrames += deficit - deficitHigh;
          }
          deficitHigh = deficit;
        }
        if (input.decodeError) {
          errorSinceLast = true;
          flaggedFrames++;
        }
        if (flaggedHere) lastFlagAt = t;
        if (input.keyFrame) {
          keySinceLast = true;
          lastKeyAt = t;
          if (!flaggedHere) cleanKeyAt = t;
        }
        // Once a picture of this size came interlaced, every picture is judged on its top field:
        // encoders that code some pictures progressive (PAFF, film segments) would otherwise switch
        // between woven and bobbed pictures, and the change between the two would read as damage
        // in the temporal features.
        if (input.width !== fieldWidth || input.height !== fieldHeight) {
          fieldWidth = input.width;
          fieldHeight = input.height;
          fieldMode = false;
        }
        if (input.interlaced) fieldMode = true;
        if (t - lastAnalysed >= o.analysisInterval - 1e-6 || t < lastAnalysed) {
          if (t < lastAnalysed) {
            features.reset();
            model.reset();
            history.length = 0;
            flaggedAt.length = 0;
            resetDeficit();
            settleUntil = -Infinity;
            stillSince = Number.NaN;
            decoderHeld = false;
            lastFlagAt = cleanKeyAt = -Infinity;
            if (!input.keyFrame) lastKeyAt = Number.NaN;
            analysedSinceStart = 0;
          }
          const hadError = errorSinceLast;
          lastT = t;
          // The luma plane is touched only here, on analysed frames.
          analyse(input.luma, input.lumaStride, input.width, input.height);
          // Time since the keyframe: none seen for longer than the window says nothing about a GOP.
          const sinceKey = t - lastKeyAt <= o.baselineWindow ? t - lastKeyAt : Number.NaN;
          baseline = baselineAt(t, sinceKey, Math.max(o.analysisInterval, input.frameDuration));
          ctx.gauge('corruption_score', ratio);
          lastAnalysed = t;
          errorSinceLast = false;
          keySinceLast = false;
          // Decoder evidence: flagged periods within the last minDuration (plus one period).
          if (hadError) flaggedAt.push(t);
          const horizon = t - o.minDuration - Math.max(o.analysisInterval, input.frameDuration) - 1e-6;
          while (flaggedAt.length > 0 && flaggedAt[0]! < horizon) flaggedAt.shift();
          const byDecoder = hadError && flaggedAt.length >= o.decoderPeriods;
          if (byDecoder) decoderHeld = o.decoderHold > 0;
          else if (decoderHeld && (cleanKeyAt > lastFlagAt || t - lastFlagAt >= o.decoderHold)) decoderHeld = false;
          // Pixel evidence is judged against the stream's own response: not before there is one
          // (PHASE_MIN analysed frames since a start or discontinuity, about a second).
          analysedSinceStart++;
          const baselineReady = o.baselineWindow <= 0 || analysedSinceStart > PHASE_MIN;
          const byPixels =
            baselineReady && t >= settleUntil && ratio - baseline >= o.threshold && blocks >= o.minBlocks;
          const now = byDecoder || decoderHeld || byPixels;
          // The baseline learns every analysed frame while no incident is open, brief excursions
          // included (leaving them out biased it low, so that the stream's own peaks kept passing);
          // the run that opens an incident is taken back below.
          if (!reporter.isOpen) history.push({ t, r: ratio, k: sinceKey });
          if (now && !active) {
            activeSince = byDecoder ? flaggedAt[0]! : t;
            peak = 0;
            decoderFlagged = false;
            flaggedTotal = 0;
            source = byDecoder ? 'decoder' : 'pixels';
          }
          active = now;
          if (active) {
            peak = Math.max(peak, ratio);
            decoderFlagged ||= hadError;
            flaggedTotal += flaggedFrames;
          }
          flaggedFrames = 0;
        }
        const wasOpen = reporter.isOpen;
        reporter.update(t, input.wallTime, input.frameDuration, active, active ? activeSince : undefined);
        if (reporter.isOpen && !wasOpen) {
          while (history.length > 0 && history[history.length - 1]!.t >= activeSince - 1e-6) history.pop();
        }
      },
      flush() {
        reporter.flush();
        features.reset();
        model.reset();
        lastAnalysed = -Infinity;
        active = false;
        errorSinceLast = false;
        flaggedFrames = 0;
        history.length = 0;
        analysedSinceStart = 0;
        lastKeyAt = Number.NaN;
        flaggedAt.length = 0;
        resetDeficit();
        settleUntil = -Infinity;
        stillSince = Number.NaN;
        decoderHeld = false;
        lastFlagAt = cleanKeyAt = -Infinity;
      },
    };
  },
});

/** Median block change (log1p of the mean-luma step) under which a picture counts as standing still. */
const STILL_TEMPORAL = Math.log1p(0.25);

/** Seconds after the first picture during which the decoder's packet-to-picture delay settles. */
const DEFICIT_SETTLE = 1;

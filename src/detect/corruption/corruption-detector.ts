import type { MediaInput } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { BlockFeatures } from './features.ts';
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
 * The decoder's own error flag (VideoFrameView.decodeError) and the demuxer's corrupt-packet flag
 * are model inputs and measurements, not verdicts: concealment often hides the loss.
 * Damage persists until the next keyframe, so only one frame every `analysisInterval` seconds is
 * analysed: reading the full-resolution luma plane is the main cost.
 */
export const corruptionDetector = defineDetector({
  name: 'corruption',
  types: ['corruption'],
  description: 'Block corruption and smearing from transmission damage, seen by the decoder or baked in upstream. Compression blockiness is not corruption.',
  inputs: [{ kind: 'video', plane: 'luma' }, { kind: 'packet' }],
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
      guidance: 'Damage lasts until the next keyframe (usually 0.5-2 s). Keep it at least twice analysisInterval so one odd frame cannot open an incident.',
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
        'Each analysed 720p frame costs about 10 ms of CPU (measured on a loaded 2-core machine), so 0.2 s (every 5th or 6th frame at 25-30 fps) averages about 2 ms per frame; 0 analyses every frame. The model was trained at 0.2 s spacing: its temporal features expect it, other values are not validated.',
    },
    blockProbability: {
      type: 'number',
      description: 'Model probability from which one macroblock counts as damaged',
      default: weights.blockThreshold,
      min: 0.05,
      max: 0.999,
      unit: 'ratio',
      guidance: 'Chosen by training with the threshold. Raising it trades recall for fewer false alarms on content with grid-like structure (fences, tiles).',
    },
    errorBlockProbability: {
      type: 'number',
      description: 'The same, on frames the decoder (concealment) or the demuxer (corrupt packet) flagged since the previous analysed frame',
      default: weights.errorBlockThreshold,
      min: 0.05,
      max: 0.999,
      unit: 'ratio',
      guidance: 'Lower than blockProbability: the decoder\'s own error report raises the odds of damage. Intact streams never carry the flag, so this cannot add false alarms on them.',
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'corruption', { minDuration: o.minDuration, recovery: o.recovery });
    const model = new CorruptionModel();
    const features = new BlockFeatures();
    let lastAnalysed = -Infinity;
    let errorSinceLast = false;
    let keySinceLast = false;
    let ratio = 0;
    let active = false;
    let peak = 0;
    let decoderFlagged = false;
    let activeSince = Number.NaN;
    reporter.measurements = () => ({
      areaRatio: round(ratio, 3),
      peakRatio: round(peak, 3),
      decoderErrors: decoderFlagged,
    });

    function analyse(luma: Uint8Array, stride: number, width: number, height: number): void {
      // More than 2 bytes per pixel per row: high-bit-depth samples (10-bit HEVC), which the 8-bit
      // features would read as garbage. Not judged (the view carries no pixel format to convert by).
      if (stride >= 2 * width && width >= 64) {
        ratio = 0;
        return;
      }
      const n = features.compute(luma, stride, width, height, errorSinceLast);
      // The first frame after a start or a discontinuity has no temporal reference, and a frame that
      // changed as a whole (cut, flash) none that means anything: not judged.
      if (n === 0 || !features.referenced || features.globalChange) {
        if (n > 0) model.score(features.out, features.cols, features.rows, keySinceLast, o.blockProbability);
        ratio = 0;
        return;
      }
      const thr = errorSinceLast ? Math.min(o.blockProbability, o.errorBlockProbability) : o.blockProbability;
      ratio = model.score(features.out, features.cols, features.rows, keySinceLast, thr);
    }

    return {
      process(input: MediaInput) {
        if (input.kind === 'packet') {
          if (input.track === 'video' && input.corrupt) errorSinceLast = true;
          return;
        }
        if (input.kind !== 'video') return;
        const t = input.mediaTime;
        if (input.decodeError) errorSinceLast = true;
        if (input.keyFrame) keySinceLast = true;
        if (t - lastAnalysed >= o.analysisInterval - 1e-6 || t < lastAnalysed) {
          if (t < lastAnalysed) {
            features.reset();
            model.reset();
          }
          const hadError = errorSinceLast;
          analyse(input.luma, input.lumaStride, input.width, input.height);
          ctx.gauge('corruption_score', ratio);
          lastAnalysed = t;
          errorSinceLast = false;
          keySinceLast = false;
          const now = ratio >= o.threshold;
          if (now && !active) {
            activeSince = t;
            peak = 0;
            decoderFlagged = false;
          }
          active = now;
          if (active) {
            peak = Math.max(peak, ratio);
            decoderFlagged ||= hadError;
          }
        }
        reporter.update(t, input.wallTime, input.frameDuration, active, active ? activeSince : undefined);
      },
      flush() {
        reporter.flush();
        features.reset();
        model.reset();
        lastAnalysed = -Infinity;
        active = false;
        errorSinceLast = false;
      },
    };
  },
});

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
        'The default comes from training: the highest ratio seen on intact training encodes, with a margin. Lower it to catch small damaged areas at the risk of false alarms on very blocky or synthetic content.',
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
        '0.2 s (every 5th or 6th frame at 25-30 fps) costs about 0.3 ms per 720p frame on average. 0 analyses every frame (about 5x the CPU). The model was trained at 0.2 s spacing: its temporal features expect it.',
    },
    blockProbability: {
      type: 'number',
      description: 'Model probability from which one macroblock counts as damaged',
      default: weights.blockThreshold,
      min: 0.05,
      max: 0.999,
      unit: 'ratio',
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'corruption', { minDuration: o.minDuration, recovery: o.recovery });
    const model = new CorruptionModel();
    const features = new BlockFeatures();
    let lastAnalysed = -Infinity;
    let errorSinceLast = false;
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
      const n = features.compute(luma, stride, width, height, errorSinceLast);
      // The first frame after a start or a discontinuity has no temporal reference: not judged.
      if (n === 0 || !features.referenced) {
        ratio = 0;
        return;
      }
      let hits = 0;
      const thr = o.blockProbability;
      for (let b = 0; b < n; b++) if (model.predict(features.out, b) >= thr) hits++;
      ratio = hits / n;
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
        if (t - lastAnalysed >= o.analysisInterval - 1e-6 || t < lastAnalysed) {
          if (t < lastAnalysed) features.reset();
          const hadError = errorSinceLast;
          analyse(input.luma, input.lumaStride, input.width, input.height);
          ctx.gauge('corruption_score', ratio);
          lastAnalysed = t;
          errorSinceLast = false;
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
        lastAnalysed = -Infinity;
        active = false;
        errorSinceLast = false;
      },
    };
  },
});

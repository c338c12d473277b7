import type { VideoFrameView } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { defineDetector } from '../spec.ts';
import { round } from '../round.ts';

/**
 * Black picture detection that does not mistake dark scenes for black.
 *
 * FFmpeg's blackdetect counts a frame as black when 98% of pixels are below a threshold,
 * so a night scene or a dim title card with text trips it. Here a frame is black only when
 * (a) nearly every preview pixel is below the threshold AND (b) the picture has no visible
 * structure: its luma standard deviation is tiny. Text on black, a dim room or a pillarbox
 * all have structure; an encoded black frame has a deviation well under one level.
 * A border of the picture (`overlayMargin` on each side) is left out, because channel
 * logos, clocks and tickers sit there and stay on screen when the programme goes black.
 */
export const blackDetector = defineDetector({
  name: 'black',
  types: ['black'],
  description: 'Black picture: the viewer sees nothing. Dark but visible scenes are not black.',
  inputs: [{ kind: 'video', plane: 'luma' }],
  options: {
    minDuration: {
      type: 'number',
      description: 'Seconds of black before an incident opens',
      default: 2,
      min: 0.04,
      max: 3600,
      unit: 's',
      guidance: '2 s matches FFmpeg. Raise it (5-10 s) for channels with long fades to black between programmes.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds of non-black picture before an open incident closes',
      default: 0.5,
      min: 0,
      max: 600,
      unit: 's',
    },
    pixelThreshold: {
      type: 'number',
      description: 'A pixel is dark when its luma is below this fraction of the nominal range above black',
      default: 0.1,
      min: 0,
      max: 1,
      unit: 'ratio',
      guidance:
        '0.10 (FFmpeg default) is about luma 38 in limited range. Normal content rarely has 99.5% of pixels that dark.',
    },
    pictureRatio: {
      type: 'number',
      description: 'Fraction of the picture that must be dark',
      default: 0.995,
      min: 0.5,
      max: 1,
      unit: 'ratio',
      guidance: 'FFmpeg uses 0.98, which flags title cards with small text. Keep at 0.99 or above.',
    },
    overlayMargin: {
      type: 'number',
      description:
        'Border of the picture, on each side, left out of the decision (where logos, clocks and tickers sit)',
      default: 0.1,
      min: 0,
      max: 0.3,
      unit: 'ratio',
      guidance: 'Broadcast graphics stay inside the outer 10% (title-safe area). Use 0 for sources without graphics.',
    },
    maxDeviation: {
      type: 'number',
      description: 'Largest luma standard deviation a black picture may have',
      default: 3,
      min: 0,
      max: 64,
      unit: 'luma levels',
      guidance: 'Encoded black is below 1. Dim scenes and text on black are above 5.',
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'black', { minDuration: o.minDuration, recovery: o.recovery });
    let meanLuma = 0;
    let darkRatio = 0;
    let deviation = 0;
    reporter.measurements = () => ({
      meanLuma: round(meanLuma),
      darkRatio: round(darkRatio, 4),
      deviation: round(deviation),
    });
    const moments = new Float64Array(2);
    return {
      process(input) {
        if (input.kind !== 'video') return;
        const f: VideoFrameView = input;
        const { data, width, height } = f.preview;
        const mx = Math.floor(width * o.overlayMargin);
        const my = Math.floor(height * o.overlayMargin);
        const x0 = mx;
        const x1 = width - mx;
        const y0 = my;
        const y1 = height - my;
        const n = (x1 - x0) * (y1 - y0);
        if (n <= 0) return;
        const black = f.fullRange ? 0 : 16;
        const range = f.fullRange ? 255 : 219;
        const thr = black + o.pixelThreshold * range;
        // Most frames are not black: stop counting as soon as too many pixels are bright.
        const allowed = Math.floor((1 - o.pictureRatio) * n);
        const bright = countBright(data, width, x0, x1, y0, y1, thr, allowed);
        if (bright > allowed) {
          ctx.gauge('luma_mean', sparseMean(data, width * height));
          reporter.update(f.mediaTime, f.wallTime, f.frameDuration, false);
          return;
        }
        lumaMoments(data, width, x0, x1, y0, y1, moments);
        const sum = moments[0]!;
        const sumSq = moments[1]!;
        meanLuma = sum / n;
        darkRatio = (n - bright) / n;
        deviation = Math.sqrt(Math.max(0, sumSq / n - meanLuma * meanLuma));
        const isBlack = deviation <= o.maxDeviation;
        ctx.gauge('luma_mean', meanLuma);
        reporter.update(f.mediaTime, f.wallTime, f.frameDuration, isBlack);
      },
      flush() {
        reporter.flush();
      },
    };
  },
});

/*
 * The pixel loops live in small top-level functions: the JIT compiles each once, and the first
 * black frame (a path the per-frame code had not run) recompiles only the small caller.
 */

/** Pixels above `thr` inside the box, counting stops once more than `allowed`. */
function countBright(
  data: Uint8Array,
  width: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  thr: number,
  allowed: number,
): number {
  let bright = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    for (let i = row + x0; i < row + x1; i++) {
      if (data[i]! > thr && ++bright > allowed) return bright;
    }
  }
  return bright;
}

/** Mean of every 7th sample of the plane (the gauge on frames that are plainly not black). */
function sparseMean(data: Uint8Array, size: number): number {
  let sparse = 0;
  let count = 0;
  for (let i = 0; i < size; i += 7) {
    sparse += data[i]!;
    count++;
  }
  return sparse / count;
}

/** Sum and sum of squares of the box's samples into out[0], out[1]. */
function lumaMoments(
  data: Uint8Array,
  width: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  out: Float64Array,
): void {
  let sum = 0;
  let sumSq = 0;
  for (let y = y0; y < y1; y++) {
    const row = y * width;
    for (let i = row + x0; i < row + x1; i++) {
      const v = data[i]!;
      sum += v;
      sumSq += v * v;
    }
  }
  out[0] = sum;
  out[1] = sumSq;
}

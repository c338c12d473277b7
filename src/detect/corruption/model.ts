/**
 * The corruption model, two small perceptrons (one hidden ReLU layer, sigmoid output) over
 * standardized per-block features (features.ts):
 * - stage 1 scores each 16x16 macroblock from its own features;
 * - stage 2 adds context: the block's stage-1 score, the highest among its 4 neighbours, the
 *   block's and its neighbours' stage-1 scores in the previous analysed frame (damage persists
 *   until the next keyframe), and whether a keyframe came since.
 * Weights come from model.json, written by `npm run train` (scripts/train); inference is plain TS.
 */
import { FEATURE_NAMES, NUM_FEATURES } from './features.ts';
import weights from './model.json' with { type: 'json' };

/** Standardized features are clipped to +-CLIP (the same in training). */
export const CLIP = 4;
export const CONTEXT_FEATURES = ['stage1', 'stage1NeighbourMax', 'prevStage1', 'prevStage1NeighbourMax', 'keyframeSince'] as const;
export const NUM_STAGE2 = NUM_FEATURES + CONTEXT_FEATURES.length;

export interface MlpWeights {
  /** Per-feature standardization. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Hidden layer: hidden x inputs, row-major. */
  readonly w1: readonly number[];
  readonly b1: readonly number[];
  readonly w2: readonly number[];
  readonly b2: number;
}

export interface ModelWeights {
  readonly features: readonly string[];
  readonly stage1: MlpWeights;
  readonly stage2: MlpWeights;
  /** Block probability from which a block counts as damaged. */
  readonly blockThreshold: number;
  /** Block threshold on frames the decoder or demuxer flagged as damaged. */
  readonly errorBlockThreshold: number;
  readonly areaThreshold: number;
  readonly trainedOn?: unknown;
}

/** One perceptron, evaluated on rows of a row-major feature matrix. */
export class Mlp {
  private readonly mean: Float32Array;
  private readonly inv: Float32Array;
  private readonly w1: Float32Array;
  private readonly b1: Float32Array;
  private readonly w2: Float32Array;
  private readonly b2: number;
  private readonly hidden: number;
  private readonly x: Float32Array;

  constructor(
    m: MlpWeights,
    private readonly inputs: number,
  ) {
    this.hidden = m.b1.length;
    if (m.mean.length !== inputs || m.w1.length !== this.hidden * inputs || m.w2.length !== this.hidden) {
      throw new Error('corruption model: weight shapes do not match the feature count; run npm run train');
    }
    this.mean = Float32Array.from(m.mean);
    this.inv = Float32Array.from(m.std, (s) => 1 / (s || 1));
    this.w1 = Float32Array.from(m.w1);
    this.b1 = Float32Array.from(m.b1);
    this.w2 = Float32Array.from(m.w2);
    this.b2 = m.b2;
    this.x = new Float32Array(inputs);
  }

  predict(features: ArrayLike<number>, row: number): number {
    const d = this.inputs;
    const x = this.x;
    const o = row * d;
    for (let i = 0; i < d; i++) {
      // Clipped as in training: content far outside what the model saw must not extrapolate.
      const v = (features[o + i]! - this.mean[i]!) * this.inv[i]!;
      x[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
    let z = this.b2;
    for (let h = 0; h < this.hidden; h++) {
      let a = this.b1[h]!;
      const r = h * d;
      for (let i = 0; i < d; i++) a += this.w1[r + i]! * x[i]!;
      if (a > 0) z += this.w2[h]! * a;
    }
    return 1 / (1 + Math.exp(-z));
  }
}

/** Max of the 4-neighbours of block b in a cols x rows map. */
function neighbourMax(p: Float32Array, b: number, cols: number, rows: number): number {
  const bx = b % cols;
  const by = (b - bx) / cols;
  let m = 0;
  if (bx > 0) m = Math.max(m, p[b - 1]!);
  if (bx + 1 < cols) m = Math.max(m, p[b + 1]!);
  if (by > 0) m = Math.max(m, p[b - cols]!);
  if (by + 1 < rows) m = Math.max(m, p[b + cols]!);
  return m;
}

/**
 * Stage-2 input rows from stage-1 features and scores (shared by the detector and training).
 * `prev` is the previous analysed frame's stage-1 map (same size) or null.
 */
export function contextRows(features: Float32Array, p1: Float32Array, prev: Float32Array | null, cols: number, rows: number, keyframeSince: boolean, out: Float32Array): void {
  const n = cols * rows;
  for (let b = 0; b < n; b++) {
    const o = b * NUM_STAGE2;
    for (let i = 0; i < NUM_FEATURES; i++) out[o + i] = features[b * NUM_FEATURES + i]!;
    out[o + NUM_FEATURES] = p1[b]!;
    out[o + NUM_FEATURES + 1] = neighbourMax(p1, b, cols, rows);
    out[o + NUM_FEATURES + 2] = prev ? prev[b]! : 0;
    out[o + NUM_FEATURES + 3] = prev ? neighbourMax(prev, b, cols, rows) : 0;
    out[o + NUM_FEATURES + 4] = keyframeSince ? 1 : 0;
  }
}

/** Per-stream model state: the previous analysed frame's stage-1 map. */
export class CorruptionModel {
  private readonly stage1: Mlp;
  private readonly stage2: Mlp;
  private p1 = new Float32Array(0);
  private prev = new Float32Array(0);
  private havePrev = false;
  private cols = 0;
  private rows2 = new Float32Array(0);
  /** Final per-block probabilities of the last frame scored. */
  map = new Float32Array(0);
  readonly blockThreshold: number;
  readonly areaThreshold: number;

  constructor(m: ModelWeights = weights) {
    if (m.features.length !== NUM_FEATURES || m.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new Error(`corruption model: feature list [${m.features.join(', ')}] does not match this build's features; run npm run train`);
    }
    this.stage1 = new Mlp(m.stage1, NUM_FEATURES);
    this.stage2 = new Mlp(m.stage2, NUM_STAGE2);
    this.blockThreshold = m.blockThreshold;
    this.areaThreshold = m.areaThreshold;
  }

  reset(): void {
    this.havePrev = false;
  }

  /** Score one frame's blocks into `map`; returns the fraction of blocks at or above `threshold`. */
  score(features: Float32Array, cols: number, rows: number, keyframeSince: boolean, threshold = this.blockThreshold): number {
    const n = cols * rows;
    if (this.p1.length !== n || this.cols !== cols) {
      this.cols = cols;
      this.p1 = new Float32Array(n);
      this.prev = new Float32Array(n);
      this.map = new Float32Array(n);
      this.rows2 = new Float32Array(n * NUM_STAGE2);
      this.havePrev = false;
    }
    for (let b = 0; b < n; b++) this.p1[b] = this.stage1.predict(features, b);
    contextRows(features, this.p1, this.havePrev ? this.prev : null, cols, rows, keyframeSince, this.rows2);
    let hits = 0;
    for (let b = 0; b < n; b++) {
      const p = this.stage2.predict(this.rows2, b);
      this.map[b] = p;
      if (p >= threshold) hits++;
    }
    this.prev.set(this.p1);
    this.havePrev = true;
    return hits / n;
  }
}

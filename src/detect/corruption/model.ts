/**
 * The corruption model: a one-hidden-layer perceptron over standardized per-block features
 * (features.ts), giving each 16x16 macroblock a probability of being damaged. Weights come from
 * model.json, written by `npm run train` (scripts/train); inference is plain TypeScript.
 */
import { FEATURE_NAMES, NUM_FEATURES } from './features.ts';
import weights from './model.json' with { type: 'json' };

/** Standardized features are clipped to +-CLIP (the same in training). */
export const CLIP = 4;

export interface ModelWeights {
  readonly features: readonly string[];
  /** Per-feature standardization. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Hidden layer: hidden x features, row-major. */
  readonly w1: readonly number[];
  readonly b1: readonly number[];
  readonly w2: readonly number[];
  readonly b2: number;
  /** Block probability from which a block counts as damaged. */
  readonly blockThreshold: number;
  readonly trainedOn?: unknown;
}

export class CorruptionModel {
  private readonly mean: Float32Array;
  private readonly inv: Float32Array;
  private readonly w1: Float32Array;
  private readonly b1: Float32Array;
  private readonly w2: Float32Array;
  private readonly hidden: number;
  private readonly x = new Float32Array(NUM_FEATURES);
  readonly blockThreshold: number;

  constructor(private readonly m: ModelWeights = weights as ModelWeights) {
    if (m.features.length !== NUM_FEATURES || m.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new Error(`corruption model: feature list [${m.features.join(', ')}] does not match this build's features; run npm run train`);
    }
    this.hidden = m.b1.length;
    if (m.w1.length !== this.hidden * NUM_FEATURES || m.w2.length !== this.hidden) throw new Error('corruption model: weight shapes do not match');
    this.mean = Float32Array.from(m.mean);
    this.inv = Float32Array.from(m.std, (s) => 1 / (s || 1));
    this.w1 = Float32Array.from(m.w1);
    this.b1 = Float32Array.from(m.b1);
    this.w2 = Float32Array.from(m.w2);
    this.blockThreshold = m.blockThreshold;
  }

  /** Probability that block `b` of `features` (NUM_FEATURES per block) is damaged. */
  predict(features: Float32Array, b: number): number {
    const x = this.x;
    const o = b * NUM_FEATURES;
    for (let i = 0; i < NUM_FEATURES; i++) {
      // Clipped as in training: content far outside what the model saw must not extrapolate.
      const v = (features[o + i]! - this.mean[i]!) * this.inv[i]!;
      x[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
    let z = this.m.b2;
    for (let h = 0; h < this.hidden; h++) {
      let a = this.b1[h]!;
      const r = h * NUM_FEATURES;
      for (let i = 0; i < NUM_FEATURES; i++) a += this.w1[r + i]! * x[i]!;
      if (a > 0) z += this.w2[h]! * a;
    }
    return 1 / (1 + Math.exp(-z));
  }
}
